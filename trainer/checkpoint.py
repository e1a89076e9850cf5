"""Checkpoints: everything needed to resume a run exactly, written atomically, loaded safely.

A checkpoint is a plain dict of tensors, numbers and strings saved with ``torch.save`` and loaded
with ``torch.load(weights_only=True)``, which refuses to execute code from the file. Its keys:

    format, version         "latent-lab-checkpoint", 1
    config                  RunConfig as a JSON string
    step                    generator steps done
    channels, size          image shape of the data the model was trained on
    class_names             list[str] ("" list for an unconditional model)
    attribute_names         list[str]
    G, G_ema, D             state dicts (G_ema is what sampling uses)
    opt_G, opt_D            optimiser state dicts
  a VAE (model.arch "vae") instead of D, opt_G and opt_D:
    E, E_ema                the encoder's state dicts (E_ema is what projection uses)
    opt                     the optimiser of both networks
    rng                     {"torch": cpu state, "loop": loop generator state, "cuda": [...]}
    kind                    "full" (resumable) or "snapshot" (G_ema, and a VAE's E_ema, only:
                            for exploring)

``checkpoint_state`` assembles that dict from a training GAN; ``load_raw`` reads it back. Where a
run keeps its checkpoints is RunFolder's (trainer/runfolder.py). ``RUN/best`` (or ``best`` inside
a run folder) names the snapshot that ``eval --over-steps`` marked best in ``RUN/best.json``;
``resolve_checkpoint`` turns it into the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from trainer.config import SIZES, ConfigError, RunConfig
from trainer.errors import UserError
from trainer.models import build_encoder, build_generator
from trainer.plainfile import PlainFileError, load_plain, save_plain
from trainer.runfolder import RunFolder

if TYPE_CHECKING:
    from trainer.data import ImageData, StreamingData
    from trainer.gan import GAN
    from trainer.vae import VAE

FORMAT = "latent-lab-checkpoint"
VERSION = 1


class CheckpointError(UserError):
    """A checkpoint cannot be used; the message is meant for the user."""


def checkpoint_state(gan: GAN | VAE, cfg: RunConfig, data: ImageData | StreamingData,
                     full: bool) -> dict[str, Any]:
    """The checkpoint of a training GAN or VAE in the schema above: ``full`` = resumable (both
    networks, optimisers, RNG), else a snapshot (the averaged networks sampling and projection
    use)."""
    state = {"config": cfg.to_json(), "step": gan.step, "channels": data.channels,
             "size": data.size, "class_names": list(data.class_names),
             "attribute_names": list(data.attribute_names)}
    if full:
        return {**state, "kind": "full", **gan.state_dict()}
    return {**state, "kind": "snapshot", **gan.snapshot_state()}


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (with format/version added) to ``path`` via a temp file + rename."""
    save_plain(path, FORMAT, VERSION, state)


def load_raw(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and validate a checkpoint dict. Never executes code from the file."""
    path = resolve_checkpoint(path)
    try:
        d = load_plain(path, FORMAT, VERSION, "checkpoint", map_location)
    except PlainFileError as e:
        raise CheckpointError(str(e)) from None
    for key in ("config", "step", "G_ema", "channels", "size", "class_names"):
        if key not in d:
            raise CheckpointError(f"{path.name} is incomplete: missing '{key}'")
    _check_fields(d, path.name)
    return d


def _check_fields(d: dict[str, Any], name: str) -> None:
    """The plain values every reader uses, checked once here so no command trips on them."""

    def bad(key: str, want: str) -> CheckpointError:
        return CheckpointError(f"{name} is damaged: '{key}' should be {want} "
                               f"(got {repr(d[key])[:40]})")

    def is_int(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if not is_int(d["step"]) or d["step"] < 0:
        raise bad("step", "a whole number >= 0")
    if not is_int(d["size"]) or d["size"] not in SIZES:
        raise bad("size", "an image size of " + ", ".join(map(str, SIZES)) + " px")
    if not is_int(d["channels"]) or d["channels"] not in (1, 3):
        raise bad("channels", "1 or 3")
    for key in ("class_names", "attribute_names"):
        if key in d and not (isinstance(d[key], (list, tuple))
                             and all(isinstance(c, str) for c in d[key])):
            raise bad(key, "a list of names")
    if not isinstance(d["G_ema"], dict):
        raise bad("G_ema", "a dict of tensors")


def mismatch_message(err: Exception) -> str:
    """A whole, short account of a ``load_state_dict`` failure: the first problem in full, and
    how many more there are (torch's own text runs to pages for a badly mismatched file)."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    problems = [ln for ln in lines if not ln.startswith("Error(s) in loading")]
    if not problems:
        return type(err).__name__
    first = problems[0].rstrip(".")
    found = re.match(r"size mismatch for ([\w.]+): copying a param with shape "
                     r"torch\.Size\((\[.*?\])\) from checkpoint, the shape in current model is "
                     r"torch\.Size\((\[.*?\])\)", first)
    if found:
        first = (f"{found.group(1)} has shape {found.group(2)} in the file but "
                 f"{found.group(3)} in the model")
    else:
        keys = re.match(r"(Missing|Unexpected) key\(s\) in state_dict: (.*)", first)
        if keys:
            names = re.findall(r'"([^"]+)"', keys.group(2))
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            first = f"{keys.group(1).lower()} weights: {shown}"
        elif len(first) > 200:
            first = first[:200].rsplit(" ", 1)[0] + " ..."
    more = len(problems) - 1
    return first + (f" (and {more} more mismatch{'es' if more > 1 else ''})" if more else "")


def is_resumable(path: Path) -> bool:
    """True if ``path`` is a readable full checkpoint (optimiser state: training can continue);
    False for a snapshot (generator weights only) or an unreadable file."""
    try:
        return load_raw(path).get("kind") == "full"
    except CheckpointError:
        return False


def find_checkpoint(run_dir: Path) -> Path | None:
    """The newest checkpoint of a run folder: checkpoint.pt, else the last snapshot."""
    return RunFolder(run_dir).newest_checkpoint()


def resolve_checkpoint(path: Path | str) -> Path:
    """The checkpoint file a user's path names: a file as is, a run folder's newest checkpoint,
    or ``RUN/best``: the snapshot marked best by ``eval --over-steps`` (see best_checkpoint)."""
    path = Path(path)
    if path.is_dir():
        found = find_checkpoint(path)
        if found is None:
            raise CheckpointError(f"{path} holds no checkpoint (expected {RunFolder.CHECKPOINT} "
                                  f"or {RunFolder.SNAPSHOTS}/step_*.pt in it)")
        return found
    if path.name == "best" and not path.exists():
        return best_checkpoint(path.parent)
    return path


def best_checkpoint(run_dir: Path) -> Path:
    """The checkpoint recorded in run_dir/best.json; CheckpointError with a user message."""
    marker = RunFolder(run_dir).best
    hint = f"run `python main.py eval --checkpoint {run_dir} --over-steps` to mark one"
    try:
        rel = json.loads(marker.read_text(encoding="utf-8"))["path"]
    except FileNotFoundError:
        raise CheckpointError(f"{run_dir} has no best checkpoint marked yet: {hint}") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{marker} is unreadable ({e}): {hint}") from None
    path = Path(run_dir) / str(rel)
    if not path.is_file():
        raise CheckpointError(f"{marker} names {rel}, which is gone: {hint}")
    return path


@dataclass(frozen=True)
class ModelInfo:
    """The one description of a generator: what the explorer, its views and its commands need to
    know about a model (plain data, safe to share between threads). Made from a checkpoint by
    ``load_generator``, or from the weights a training run hands over (``live_run`` set)."""

    config: RunConfig
    step: int
    data_class_names: tuple[str, ...]  # the data's classes, even for an unconditional model
    attribute_names: tuple[str, ...]
    channels: int
    size: int
    path: Path | None = None  # None for weights that have no file (a run being trained)
    # For the weights of a run being trained: which run, the same for each of its hand-offs and
    # different for any other run. None for a model opened from a file.
    live_run: str | None = None
    # The run folder of a run being trained (its snapshots can be measured while it trains).
    run_dir: Path | None = None

    @property
    def z_dim(self) -> int:
        return self.config.model.z_dim

    @property
    def arch(self) -> str:
        return self.config.model.arch

    @property
    def is_vae(self) -> bool:
        """A VAE: its generator is the decoder, it has an encoder and no critic."""
        return self.arch == "vae"

    @property
    def conditional(self) -> bool:
        return self.config.model.conditional and bool(self.data_class_names)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The classes the generator takes: the data's, or none for an unconditional model."""
        return self.data_class_names if self.conditional else ()

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def same_live_run(self, other: ModelInfo | None) -> bool:
        """Whether ``other`` is newer (or older) weights of the same training run as this, in
        the same latent space: what the user made on one (directions, marks) holds for the
        other."""
        return (other is not None and self.live_run is not None
                and (self.live_run, self.z_dim, self.class_names)
                == (other.live_run, other.z_dim, other.class_names))


@dataclass
class LoadedModel:
    """A generator ready for sampling (G_ema, eval mode) and its description; for a VAE also its
    encoder (E_ema, eval mode), which maps an image to its latent mean at once."""

    generator: nn.Module
    info: ModelInfo
    encoder: nn.Module | None = None

    @property
    def config(self) -> RunConfig:
        return self.info.config

    @property
    def step(self) -> int:
        return self.info.step

    @property
    def path(self) -> Path | None:
        return self.info.path

    @property
    def class_names(self) -> list[str]:
        """The data's classes (also for an unconditional model, for per-class figures)."""
        return list(self.info.data_class_names)

    @property
    def attribute_names(self) -> list[str]:
        return list(self.info.attribute_names)

    @property
    def channels(self) -> int:
        return self.info.channels

    @property
    def size(self) -> int:
        return self.info.size

    @property
    def z_dim(self) -> int:
        return self.info.z_dim

    @property
    def n_classes(self) -> int:
        return self.info.n_classes


def config_of(d: dict[str, Any], name: str = "checkpoint") -> RunConfig:
    try:
        return RunConfig.from_json(d["config"])
    except (ConfigError, TypeError) as e:
        raise CheckpointError(f"{name} holds an invalid config: {e}") from None


def load_generator(path: Path, device: str | torch.device = "cpu",
                   use_ema: bool = True) -> LoadedModel:
    """Load G_ema (or G) from a checkpoint or snapshot for sampling."""
    path = resolve_checkpoint(path)
    d = load_raw(path)
    name = path.name
    cfg = config_of(d, name)
    class_names = list(d["class_names"])
    G = build_generator(cfg.model, int(d["size"]), int(d["channels"]), len(class_names))
    key = "G_ema" if use_ema or "G" not in d else "G"
    try:
        G.load_state_dict(d[key])
    except (RuntimeError, TypeError, AttributeError) as e:
        raise CheckpointError(f"{name}: weights do not match its config: "
                              f"{mismatch_message(e)}") from None
    G.to(device).eval().requires_grad_(False)
    E = _load_encoder(d, cfg, len(class_names), name, use_ema) if cfg.model.arch == "vae" \
        else None
    if E is not None:
        E.to(device)
    return LoadedModel(G, ModelInfo(cfg, int(d["step"]), tuple(class_names),
                                    tuple(d.get("attribute_names", [])), int(d["channels"]),
                                    int(d["size"]), Path(path)), E)


def _load_encoder(d: dict[str, Any], cfg: RunConfig, n_classes: int, name: str,
                  use_ema: bool) -> nn.Module:
    """A VAE checkpoint's encoder (E_ema, or E), in eval mode."""
    key = "E_ema" if use_ema or "E" not in d else "E"
    if not isinstance(d.get(key), dict):
        raise CheckpointError(f"{name} is incomplete: missing the VAE's encoder '{key}'")
    E = build_encoder(cfg.model, int(d["size"]), int(d["channels"]), n_classes)
    try:
        E.load_state_dict(d[key])
    except (RuntimeError, TypeError, AttributeError) as e:
        raise CheckpointError(f"{name}: the encoder's weights do not match its config: "
                              f"{mismatch_message(e)}") from None
    return E.eval().requires_grad_(False)
