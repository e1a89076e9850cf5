"""Run configuration: frozen dataclasses, validated on construction, JSON round-trip.

A wrong value raises ``ConfigError`` naming the field and what it accepts, so the CLI and the GUI
can show it next to the field instead of failing later inside training.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from trainer.errors import UserError

DATASETS = ("shapes", "folder", "mnist", "fashion-mnist", "cifar10", "celeba")
SIZES = (8, 16, 32, 64, 128)
# The largest seed anything accepts: torch's generators take 64-bit seeds, and a run or a grid
# adds offsets to its seed.
MAX_SEED = 2**63 - 1
ARCHS = ("dcgan", "mlp", "sngan")
LOSSES = ("wgan-gp", "wgan-clip", "bce", "hinge")
AUGMENT = ("auto", "ada", "off")
DEVICES = ("auto", "cpu", "cuda", "mps")
COMPILE = ("auto", "on", "off")
PRECISIONS = ("fp32", "bf16")


# "augment: auto" turns augmentation on below this many training images: ADA and DiffAugment
# gain most on hundreds to a few thousand images and little on tens of thousands.
AUGMENT_AUTO_IMAGES = 5000


def augment_on(setting: str, n_images: int) -> bool:
    """Whether a run with ``augment`` = ``setting`` on ``n_images`` images augments."""
    return setting == "ada" or (setting == "auto" and n_images < AUGMENT_AUTO_IMAGES)


class ConfigError(UserError, ValueError):
    """A configuration value is out of range; the message names the field."""


def _check(cond: bool, name: str, allowed: str, value: Any) -> None:
    if not cond:
        raise ConfigError(f"{name} must be {allowed} (got {value!r})")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "shapes"
    size: int = 32
    # Image folder path, or the download cache for torchvision sets ("" = ~/.cache/latent-lab).
    path: str = ""
    # Optional CSV of per-image attributes for an image folder (filename column + numeric columns).
    attributes_csv: str = ""
    # Number of procedurally generated images (Shapes only).
    n_images: int = 20000
    seed: int = 0

    def __post_init__(self) -> None:
        _check(self.dataset in DATASETS, "dataset", "one of " + ", ".join(DATASETS), self.dataset)
        _check(self.size in SIZES, "size", "one of " + ", ".join(map(str, SIZES)), self.size)
        _check(
            _is_int(self.n_images) and 16 <= self.n_images <= 1_000_000,
            "n_images", "an integer in [16, 1000000]", self.n_images,
        )
        _check(_is_int(self.seed) and 0 <= self.seed <= MAX_SEED, "seed",
               f"an integer in [0, {MAX_SEED}]", self.seed)
        if self.dataset == "folder":
            _check(bool(self.path), "path", "an image folder for dataset 'folder'", self.path)


@dataclass(frozen=True)
class ModelConfig:
    arch: str = "dcgan"
    z_dim: int = 64
    # Base channel count: the widest layer has width * 2**(levels-1) channels.
    width: int = 32
    conditional: bool = True

    def __post_init__(self) -> None:
        _check(self.arch in ARCHS, "arch", "one of " + ", ".join(ARCHS), self.arch)
        _check(_is_int(self.z_dim) and 1 <= self.z_dim <= 1024, "z_dim", "an integer in [1, 1024]",
               self.z_dim)
        _check(_is_int(self.width) and 4 <= self.width <= 512, "width", "an integer in [4, 512]",
               self.width)
        _check(isinstance(self.conditional, bool), "conditional", "true or false", self.conditional)


@dataclass(frozen=True)
class TrainConfig:
    loss: str = "wgan-gp"
    steps: int = 3000  # generator steps
    batch_size: int = 64
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.9)
    n_critic: int = 2
    # The critic's learning rate; None = lr. Two time-scales (a faster critic) suit the SN-GAN
    # recipe, whose critic takes one step per generator step.
    lr_critic: float | None = None
    gp_lambda: float = 10.0
    # Weight of an auxiliary classification loss (AC-GAN) on the SN-GAN critic's features, for
    # conditional models: the critic learns the classes on real images, the generator is pulled
    # toward samples of the asked class. 0 = projection only.
    class_loss: float = 0.0
    # "explicit": the critic's input gradient written out as forward ops (no double backward);
    # "autograd": the reference double-backward penalty. Same values to ~1e-10 in float64.
    gp_impl: str = "explicit"
    # "auto": torch.compile (with CUDA graphs) on a single CUDA GPU, eager elsewhere; "on": try
    # it on any device; "off": eager. A step that fails to compile runs eager (trainer/speed.py).
    compile: str = "auto"
    # "bf16": autocast the critic's scores and the generator to bfloat16, the gradient penalty
    # stays float32 (for GPUs; critic-gradient error 0.28% at 32 px against float64, 1e-6 for
    # fp32, as README says; opt-in until a run shows it harmless).
    precision: str = "fp32"
    clip: float = 0.01  # weight clipping bound for wgan-clip
    # Differentiable augmentation of what the critic sees, its strength adapted to the overfitting
    # signal r (trainer/augment.py). "auto": on for datasets under AUGMENT_AUTO_IMAGES images.
    augment: str = "auto"
    augment_target: float = 0.6
    ema_decay: float = 0.999
    log_every: int = 10  # read losses back from the device every N steps (one host sync)
    preview_every: int = 100
    checkpoint_every: int = 500
    seed: int = 0
    device: str = "auto"
    preset: str = "custom"

    def __post_init__(self) -> None:
        _check(self.loss in LOSSES, "loss", "one of " + ", ".join(LOSSES), self.loss)
        _check(_is_int(self.steps) and 1 <= self.steps <= 10_000_000, "steps",
               "an integer in [1, 10000000]", self.steps)
        _check(_is_int(self.batch_size) and 2 <= self.batch_size <= 4096, "batch_size",
               "an integer in [2, 4096]", self.batch_size)
        _check(_is_num(self.lr) and 0 < self.lr <= 1, "lr", "a number in (0, 1]", self.lr)
        betas = tuple(self.betas) if isinstance(self.betas, (list, tuple)) else self.betas
        _check(isinstance(betas, tuple) and len(betas) == 2 and all(_is_num(b) and 0 <= b < 1
               for b in betas), "betas", "two numbers in [0, 1)", self.betas)
        object.__setattr__(self, "betas", (float(betas[0]), float(betas[1])))
        _check(_is_int(self.n_critic) and 1 <= self.n_critic <= 100, "n_critic",
               "an integer in [1, 100]", self.n_critic)
        _check(_is_num(self.gp_lambda) and 0 <= self.gp_lambda <= 1000, "gp_lambda",
               "a number in [0, 1000]", self.gp_lambda)
        _check(self.gp_impl in ("explicit", "autograd"), "gp_impl", "'explicit' or 'autograd'",
               self.gp_impl)
        _check(self.compile in COMPILE, "compile", "one of " + ", ".join(COMPILE), self.compile)
        _check(self.precision in PRECISIONS, "precision", "one of " + ", ".join(PRECISIONS),
               self.precision)
        _check(_is_num(self.clip) and 0 < self.clip <= 10, "clip", "a number in (0, 10]", self.clip)
        _check(self.lr_critic is None or (_is_num(self.lr_critic) and 0 < self.lr_critic <= 1),
               "lr_critic", "a number in (0, 1], or null for the generator's lr", self.lr_critic)
        _check(_is_num(self.class_loss) and 0 <= self.class_loss <= 100, "class_loss",
               "a number in [0, 100]", self.class_loss)
        _check(self.augment in AUGMENT, "augment", "one of " + ", ".join(AUGMENT), self.augment)
        _check(_is_num(self.augment_target) and 0 < self.augment_target < 1, "augment_target",
               "a number in (0, 1)", self.augment_target)
        _check(_is_num(self.ema_decay) and 0 <= self.ema_decay < 1, "ema_decay",
               "a number in [0, 1)", self.ema_decay)
        for name in ("log_every", "preview_every", "checkpoint_every"):
            v = getattr(self, name)
            _check(_is_int(v) and v >= 1, name, "an integer >= 1", v)
        _check(_is_int(self.seed) and 0 <= self.seed <= MAX_SEED, "seed",
               f"an integer in [0, {MAX_SEED}]", self.seed)
        _check(self.device in DEVICES, "device", "one of " + ", ".join(DEVICES), self.device)


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
                raise ConfigError(f"{key}.{e}") from None
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
    "sngan": {
        "model": {"arch": "sngan", "z_dim": 128, "width": 32},
        "train": {"loss": "hinge", "batch_size": 32, "lr": 2e-4, "lr_critic": 2e-4,
                  "betas": (0.5, 0.999), "n_critic": 1, "class_loss": 1.0},
    },
}
# The course presets are WGAN-GP with the DCGAN pair; naming that keeps a switch of preset from
# leaving another recipe's model or loss behind.
for _name in ("cpu-fast", "reference"):
    PRESETS[_name]["model"]["arch"] = "dcgan"
    PRESETS[_name]["train"].update(loss="wgan-gp", lr_critic=None, class_loss=0.0)


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
