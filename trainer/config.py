"""Run configuration: frozen dataclasses, validated on construction, JSON round-trip.

A wrong value raises ``ConfigError`` naming the field and what it accepts (its ``field`` is the
dotted name), so the CLI and the GUI can show it next to the field instead of failing later inside
training. Each field is declared once with ``param`` (trainer/params.py): its rule, help text,
`train` flag and run-form row live on that line, and the CLI and the form are generated from it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from trainer.errors import UserError
from trainer.params import (
    Spec,
    boolean,
    first_bad,
    ints,
    number,
    one_of,
    pair,
    param,
    specs_of,
    text,
)

DATASETS = ("shapes", "folder", "mnist", "fashion-mnist", "cifar10", "celeba")
SIZES = (8, 16, 32, 64, 128)
# The largest seed anything accepts: torch's generators take 64-bit seeds, and a run or a grid
# adds offsets to its seed.
MAX_SEED = 2**63 - 1
ARCHS = ("dcgan", "mlp", "sngan", "vae")
# Architectures that are not GANs: no critic, so no GAN loss, critic steps or augmentation.
NOT_GANS = ("vae",)
LOSSES = ("wgan-gp", "wgan-clip", "bce", "hinge")
AUGMENT = ("auto", "ada", "off")
UPSAMPLES = ("transposed", "nearest")
DEVICES = ("auto", "cpu", "cuda", "mps")
COMPILE = ("auto", "on", "off")
PRECISIONS = ("auto", "fp32", "bf16")


class ConfigError(UserError, ValueError):
    """A configuration value is out of range; the message names the field.

    ``field`` is the dotted name of the field at fault ("train.lr"), or None when the fault is
    not one field's (an unknown key, a file that is not JSON): the form marks that field's row.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def check_params(obj: Any, section: str) -> None:
    """ConfigError for the first field of ``obj`` that breaks its declared rule."""
    bad = first_bad(obj, section)
    if bad is not None:
        spec, v = bad
        raise ConfigError(f"{spec.name} must be {spec.param.accepts.text} (got {v!r})",
                          field=spec.key)


# "augment: auto" turns augmentation on below this many training images: ADA and DiffAugment
# gain most on hundreds to a few thousand images and little on tens of thousands.
AUGMENT_AUTO_IMAGES = 5000


def augment_on(setting: str, n_images: int) -> bool:
    """Whether a run with ``augment`` = ``setting`` on ``n_images`` images augments."""
    return setting == "ada" or (setting == "auto" and n_images < AUGMENT_AUTO_IMAGES)


@dataclass(frozen=True)
class DataConfig:
    dataset: str = param("shapes", one_of(DATASETS), form="data", label="Dataset",
                         help="default: shapes",
                         names={"shapes": "Shapes (built-in)", "folder": "Image folder",
                                "mnist": "MNIST", "fashion-mnist": "Fashion-MNIST",
                                "cifar10": "CIFAR-10", "celeba": "CelebA"})
    size: int = param(32, one_of(SIZES), form="data", label="Image size",
                      help="image size in px (default 32)")
    # Image folder path, or the download cache for torchvision sets ("" = ~/.cache/latent-lab).
    path: str = param("", text(), flag="--data-path", form="data", label="Image folder",
                      help="image folder, or download cache for torchvision sets")
    # Optional CSV of per-image attributes for an image folder (filename column + numeric columns).
    attributes_csv: str = param("", text(), help="per-image attribute CSV for an image folder")
    # Number of procedurally generated images (Shapes only).
    n_images: int = param(20000, ints(16, 1_000_000),
                          help="number of Shapes images (default 20000)")
    seed: int = param(0, ints(0, MAX_SEED), flag=None, help="seed of the Shapes images")

    def __post_init__(self) -> None:
        check_params(self, "data")
        if self.dataset == "folder" and not self.path:
            raise ConfigError(f"path must be an image folder for dataset 'folder' (got "
                              f"{self.path!r})", field="data.path")


@dataclass(frozen=True)
class ModelConfig:
    arch: str = param("dcgan", one_of(ARCHS), form="model", label="Model",
                      help="dcgan (the course's), mlp, sngan (spectral-norm projection critic, "
                      "class-conditional BatchNorm generator; the sngan preset's), or vae "
                      "(a variational autoencoder whose decoder is the DCGAN generator)",
                      names={"dcgan": "DCGAN (convolutional)", "mlp": "MLP (fully connected)",
                             "sngan": "SN-GAN (projection critic)",
                             "vae": "VAE (variational autoencoder)"})
    z_dim: int = param(64, ints(1, 1024), form="model", label="z size",
                       help="length of the latent vector z")
    # Base channel count: the widest layer has width * 2**(levels-1) channels.
    width: int = param(32, ints(4, 512), form="model", label="Width",
                       help="base channel count of both networks")
    # StyleGAN's minibatch standard deviation in the SN-GAN critic: the group size, 0 = off.
    mbstd: int = param(0, ints(0, 64), form="model", label="Minibatch std group",
                       help="SN-GAN critic: the group size of a minibatch standard-deviation "
                            "feature against low variety (0 = off)",
                       tip="the SN-GAN critic sees how much images in groups of this size differ, "
                           "so a generator that draws too little variety is caught; 0 = off")
    # How the SN-GAN generator doubles its maps: "transposed" 4x4 stride-2 convolutions (DCGAN's;
    # the default, so runs made before this field load as they were) or "nearest": nearest
    # upsampling then a 3x3 convolution, which starts from smooth images instead of a
    # checkerboard and learnt Shapes' classes faster per second (docs/recipes.md).
    upsample: str = param(
        "transposed", one_of(UPSAMPLES), form="model", label="Upsampling",
        help="SN-GAN generator: transposed (4x4 stride-2 transposed convolutions) or nearest "
             "(nearest upsampling + 3x3 convolution; the sngan preset's)",
        tip="how the SN-GAN generator doubles its feature maps: nearest upsampling followed by a "
            "3x3 convolution draws no checkerboard and learns faster; transposed convolutions "
            "are the DCGAN generator's",
        names={"transposed": "transposed convolution", "nearest": "nearest + 3x3 convolution"})
    conditional: bool = param(True, boolean(), off_flag="--unconditional", form="model",
                              label="class-conditional",
                              help="class-conditional model (default when the data has classes)")

    def __post_init__(self) -> None:
        check_params(self, "model")


@dataclass(frozen=True)
class TrainConfig:
    # A new field is one param(...) line: its rule (ints, number, pair, one_of, boolean, text),
    # help= (the --flag's help and the form's tooltip), form="model"/"run" and label= for a form
    # row (omit both to keep it out of the form), flag=None to keep it out of `train`'s flags.
    # Form rows of a group follow this order.
    loss: str = param("wgan-gp", one_of(LOSSES), form="model", label="Loss",
                      help="wgan-gp (the course presets') or hinge (sngan)",
                      names={"wgan-gp": "WGAN-GP", "wgan-clip": "WGAN (weight clipping)",
                             "bce": "BCE (non-saturating)", "hinge": "Hinge (SN-GAN)"})
    steps: int = param(3000, ints(1, 10_000_000), form="run", label="Total steps",
                       help="generator steps in total")
    batch_size: int = param(64, ints(2, 4096), form="model", label="Batch size",
                            help="images per step")
    lr: float = param(2e-4, number(0, 1, lo_open=True), form="model", label="Learning rate",
                      help="the generator's learning rate (Adam)")
    # The critic's learning rate; None = lr. Two time-scales (a faster critic) suit the SN-GAN
    # recipe, whose critic takes one step per generator step.
    lr_critic: float | None = param(
        None, number(0, 1, lo_open=True, or_none="the generator's lr"), form="model",
        label="Critic lr", help="the critic's learning rate (default: --lr; two time-scales)",
        tip="the critic's learning rate; empty = the learning rate above (two time-scales: a "
            "faster critic suits one critic step per generator step)")
    # Both learning rates fall linearly to zero over this fraction of the run's final steps
    # (SN-GAN's schedule). A function of the step alone, so resume stays exact. On Shapes it took
    # the SN-GAN demo candidate from FD 110 / 86% class accuracy to FD 49 / 98% in 4,180 steps
    # (docs/recipes.md): a constant rate keeps the generator circling, and its average blurs.
    lr_decay: float = param(
        0.0, number(0, 1), form="model", label="Learning-rate decay",
        help="fraction of the final steps over which both learning rates fall linearly to 0 "
             "(or to --lr-decay-to) (default 0: constant; sngan preset: 0.4)",
        tip="both learning rates fall linearly to zero (or to \"Decay down to\") over this "
            "fraction of the run's final steps; it settles the generator (sharper samples, a "
            "better average); 0 = constant")
    lr_decay_to: float = param(
        0.0, number(0, 1, hi_open=True), form="model", label="Decay down to",
        help="the fraction of the learning rates that the decay ends at (default 0)",
        tip="where the decay ends, as a fraction of the learning rates: 0 falls to zero, 0.3 "
            "stops at 30% of them")
    betas: tuple[float, float] = param((0.5, 0.9), pair(0, 1, hi_open=True), form="model",
                                       label="Adam betas", help="Adam's beta1 and beta2")
    n_critic: int = param(2, ints(1, 100), form="model", label="Critic steps",
                          help="critic updates per generator update")
    # Weight of an auxiliary classification loss (AC-GAN) on the SN-GAN critic's features, for
    # conditional models: the critic learns the classes on real images, the generator is pulled
    # toward samples of the asked class. 0 = projection only.
    class_loss: float = param(
        0.0, number(0, 100), form="model", label="Class head weight",
        help="weight of the SN-GAN critic's auxiliary class head (AC-GAN) for conditional "
             "models; 0 = projection only (sngan preset: 0.5)",
        tip="weight of the SN-GAN critic's auxiliary class head (conditional SN-GAN models "
            "only); 0 = projection only")
    gp_lambda: float = param(10.0, number(0, 1000), form="model", label="λ (penalty)",
                             help="weight of the gradient penalty (WGAN-GP only)")
    # The VAE's weight of the KL term against the reconstruction error (beta-VAE; 1 = the ELBO).
    beta: float = param(1.0, number(0, 1000), form="model", label="β (KL weight)",
                        help="the VAE's weight of the KL term (default 1: the evidence bound; "
                             "VAE only)",
                        tip="weight of the KL term against the reconstruction error (VAE only): "
                            "higher = a smoother latent space, blurrier reconstructions")
    clip: float = param(0.01, number(0, 10, lo_open=True), form="model", label="Weight clip",
                        help="weight clip bound for wgan-clip",
                        tip="weight clipping bound (weight-clipping WGAN only)")
    # "explicit": the critic's input gradient written out as forward ops (no double backward);
    # "autograd": the reference double-backward penalty. Same values to ~1e-10 in float64.
    gp_impl: str = param("explicit", one_of(("explicit", "autograd"), "'explicit' or 'autograd'"),
                         help="gradient penalty: explicit input gradient (default, first-order "
                         "only) or autograd's double backward (the reference)")
    # "auto": torch.compile (with CUDA graphs) on a single CUDA GPU, eager elsewhere; "on": try
    # it on any device; "off": eager. A step that fails to compile runs eager (trainer/speed.py).
    compile: str = param(
        "auto", one_of(COMPILE), form="run", label="Compile",
        help="torch.compile the step: auto (default) = on a single CUDA GPU, with CUDA graphs; "
             "falls back to eager if compiling fails",
        tip="torch.compile the training step (with CUDA graphs on a GPU); a step that cannot "
            "be compiled runs eager",
        names={"auto": "auto (on a CUDA GPU)", "on": "on (any device)", "off": "off (eager)"})
    # "bf16": autocast the critic's scores and the generator to bfloat16, the gradient penalty
    # stays float32 (critic-gradient error 0.28% at 32 px against float64, 1e-6 for fp32, as
    # README says). "auto": bf16 on a CPU with bf16 matrix units (AMX), where it cut the SN-GAN
    # step by a quarter and learnt as fast per step (docs/recipes.md), fp32 elsewhere; the
    # sngan preset takes it, the course presets keep fp32 (trainer/speed.py: resolve_precision).
    precision: str = param(
        "fp32", one_of(PRECISIONS), form="run", label="Precision",
        help="auto = bf16 on a CPU with bf16 matrix units (Intel AMX), fp32 elsewhere; fp32 "
             "(the default outside the sngan preset); or bf16 autocast of the critic's scores "
             "and the generator (the gradient penalty stays fp32: critic-gradient error 0.28% "
             "at 32 px against float64, 1e-6 for fp32)",
        tip="bf16 runs the convolutions in bfloat16: about a quarter less time per step on a "
            "CPU with bf16 matrix units, much slower on one without; auto picks it only where "
            "it is fast",
        names={"auto": "auto (bf16 where it is fast)",
               "fp32": "fp32 (exact)",
               "bf16": "bf16 (fp32 penalty)"})
    # Differentiable augmentation of what the critic sees, its strength adapted to the overfitting
    # signal r (trainer/augment.py). "auto": on for datasets under AUGMENT_AUTO_IMAGES images.
    augment: str = param(
        "auto", one_of(AUGMENT), form="model", label="Augmentation",
        help="adaptive differentiable augmentation of what the critic sees: auto (default) = on "
             f"for datasets under {AUGMENT_AUTO_IMAGES} images",
        tip="differentiable colour, translation and cutout of what the critic sees, real and "
            "generated alike, its strength steered by the critic's overfitting signal r; it "
            "keeps a critic from memorising a small dataset",
        names={"auto": f"auto (on under {AUGMENT_AUTO_IMAGES} images)",
               "ada": "adaptive, always on", "off": "off"})
    augment_target: float = param(
        0.6, number(0, 1, lo_open=True, hi_open=True),
        help="the overfitting signal r that augmentation steers to (default 0.6)")
    ema_decay: float = param(0.999, number(0, 1, hi_open=True),
                             help="decay of the generator's moving average used for sampling")
    # Read losses back from the device every N steps (one host sync).
    log_every: int = param(10, ints(1), flag=None, help="steps between loss read-backs")
    preview_every: int = param(100, ints(1), form="run", label="Preview every",
                               help="steps between sample grids")
    checkpoint_every: int = param(500, ints(1), form="run", label="Checkpoint every",
                                  help="steps between checkpoints")
    seed: int = param(0, ints(0, MAX_SEED), help="seed of the weights, noise and batches")
    device: str = param("auto", one_of(DEVICES), form="run", label="Device",
                        help="auto = cuda, else mps, else cpu")
    # The preset the values came from (--preset applies one; the trainer's own flag).
    preset: str = param("custom", text(), flag=None, form="model", label="Preset",
                        help="the named hyper-parameter preset the values came from")

    def __post_init__(self) -> None:
        check_params(self, "train")


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["train"]["betas"] = list(self.train.betas)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: Any) -> RunConfig:
        if not isinstance(d, dict):
            raise ConfigError("config must be a JSON object with 'data', 'model' and 'train'")
        _reject_unknown(d, {"data", "model", "train"}, "config")
        parts = {}
        for key, sub in (("data", DataConfig), ("model", ModelConfig), ("train", TrainConfig)):
            part = d.get(key, {})
            if not isinstance(part, dict):
                raise ConfigError(f"config.{key} must be an object")
            _reject_unknown(part, {f.name for f in fields(sub)}, f"config.{key}")
            if key == "train":
                # Runs saved before augmentation existed trained without it; keep them so.
                part = {"augment": "off", **part}
            try:
                parts[key] = sub(**part)
            except ConfigError as e:
                raise ConfigError(f"{key}.{e}", field=e.field) from None
        return cls(**parts)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"config is not valid JSON: {e}") from None
        return cls.from_dict(d)

    def save(self, path: Path) -> None:
        from trainer.fileio import atomic_write_text

        atomic_write_text(Path(path), self.to_json() + "\n")

    @classmethod
    def load(cls, path: Path) -> RunConfig:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read config {path}: {e.strerror or e}") from None
        return cls.from_json(text)

    def with_changes(self, **sections: dict[str, Any]) -> RunConfig:
        """Return a copy with fields of the named sections replaced, re-validated."""
        kw = {}
        for name, changes in sections.items():
            kw[name] = replace(getattr(self, name), **changes)
        return replace(self, **kw)


SECTIONS: dict[str, type] = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def params() -> list[Spec]:
    """Every config field with its metadata, section by section in declaration order: what the
    `train` flags and the run form's rows are generated from."""
    return [s for name, cls in SECTIONS.items() for s in specs_of(cls, name)]


def spec(key: str) -> Spec:
    """The field named ``key`` ("train.lr")."""
    section, name = key.split(".", 1)
    return next(s for s in specs_of(SECTIONS[section], section) if s.name == name)


def _reject_unknown(d: dict, known: set[str], where: str) -> None:
    unknown = sorted(set(d) - known)
    if unknown:
        raise ConfigError(f"{where} has unknown key(s): {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(known))}")


# Named presets. "cpu-fast" is the course's WGAN-GP tuned for a laptop (width 32, n_critic 2,
# lr 2e-4); "reference" is the WGAN-GP paper / course recipe for a GPU; "sngan" is the SN-GAN
# recipe (spectral norm, hinge, projection critic with an auxiliary class head, one critic step),
# sized for a CPU. docs/recipes.md compares them.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "cpu-fast": {
        "model": {"z_dim": 64, "width": 32},
        "train": {"batch_size": 64, "lr": 2e-4, "betas": (0.5, 0.9), "n_critic": 2},
    },
    "reference": {
        "model": {"z_dim": 200, "width": 64},
        "train": {"batch_size": 128, "lr": 1e-4, "betas": (0.5, 0.9), "n_critic": 5},
    },
    # mbstd 4: the critic sees each group of 4 images' spread, which kept the hues of Shapes; a
    # class head at 0.5 pulls them together less than at 1. Nearest upsampling in the generator
    # learns faster and stays stable at lr 1e-3, where transposed convolutions blew up (FD in
    # the thousands): 87% class accuracy after 4000 steps against 62% (docs/recipes.md).
    "sngan": {
        "model": {"arch": "sngan", "z_dim": 128, "width": 32, "mbstd": 4, "upsample": "nearest"},
        "train": {"loss": "hinge", "batch_size": 32, "lr": 1e-3, "lr_critic": 1e-3, "lr_decay": 0.4,
                  "betas": (0.5, 0.999), "n_critic": 1, "class_loss": 0.5, "precision": "auto"},
    },
}
# The VAE: Adam at 1e-3 (the usual VAE rate; no adversary to keep in balance), a z of 32 (the
# KL term leaves unused dimensions at the prior), the learning rate settled over the last 20%.
# The GAN-only fields go back to their defaults, so a switch from a GAN recipe leaves none of
# its values behind in the run's config.
PRESETS["vae"] = {
    "model": {"arch": "vae", "z_dim": 32, "width": 32, "mbstd": 0, "upsample": "transposed"},
    "train": {"batch_size": 64, "lr": 1e-3, "betas": (0.9, 0.999), "lr_decay": 0.2, "beta": 1.0,
              "loss": "wgan-gp", "lr_critic": None, "class_loss": 0.0, "n_critic": 2,
              "precision": "fp32"},
}
# The course presets are WGAN-GP with the DCGAN pair; naming that keeps a switch of preset from
# leaving another recipe's model or loss behind.
for _name in ("cpu-fast", "reference"):
    PRESETS[_name]["model"].update(arch="dcgan", mbstd=0, upsample="transposed")
    PRESETS[_name]["train"].update(loss="wgan-gp", lr_critic=None, class_loss=0.0, lr_decay=0.0,
                                   precision="fp32")


# Why each device gets its default, for the form and --help (docs/recipes.md has the figures).
DEFAULT_PRESET_WHY = {
    "cpu": "measured fastest to quality on a CPU (docs/recipes.md)",
    "cuda": "not yet measured against SN-GAN on a GPU",
}


def default_preset(device: str) -> str:
    """The preset a new run starts from on ``device`` ("cpu", "cuda", "mps" or "auto" resolved
    by the caller): the SN-GAN recipe where it was measured fastest, the course's reference
    recipe on CUDA until it is measured there."""
    return "reference" if device == "cuda" else "sngan"


def apply_preset(cfg: RunConfig, name: str) -> RunConfig:
    if name not in PRESETS:
        raise ConfigError(f"preset must be one of {', '.join(PRESETS)} (got {name!r})")
    p = PRESETS[name]
    return cfg.with_changes(model=p["model"], train={**p["train"], "preset": name})
