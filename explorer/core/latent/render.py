"""The renderer: owns its own generator copy and turns latent batches into pixels.

Never shares a live ``nn.Module`` with the trainer: it is built from a checkpoint file or from a
frozen CPU copy of G_ema's weights that the training loop hands over (``Preview`` events).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from trainer.checkpoint import LoadedModel, load_generator
from trainer.config import RunConfig
from trainer.images import to_uint8
from trainer.models import build_generator


@dataclass(frozen=True)
class ModelInfo:
    """What the views need to know about the open model (plain data, safe to share)."""

    z_dim: int
    size: int
    channels: int
    class_names: tuple[str, ...]  # empty for an unconditional model
    attribute_names: tuple[str, ...]
    step: int
    path: Path | None
    config: RunConfig
    # For the weights of a run being trained (no file): which run, the same for each of its
    # hand-offs and different for any other run. None for a model opened from a file.
    live_run: str | None = None

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def conditional(self) -> bool:
        return bool(self.class_names)

    def same_live_run(self, other: ModelInfo | None) -> bool:
        """Whether ``other`` is newer (or older) weights of the same training run as this, in
        the same latent space: what the user made on one (directions, marks) holds for the
        other."""
        return (other is not None and self.live_run is not None
                and (self.live_run, self.z_dim, self.class_names)
                == (other.live_run, other.z_dim, other.class_names))


class Renderer:
    """Render (N, z_dim) z (+ class vectors) to (N, H, W, 3) uint8 under inference mode."""

    def __init__(self, model: LoadedModel, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.generator = model.generator.to(self.device).eval().requires_grad_(False)
        self.info = ModelInfo(model.z_dim, model.size, model.channels,
                              tuple(model.class_names) if model.n_classes else (),
                              tuple(model.attribute_names), model.step, model.path, model.config)

    @classmethod
    def from_checkpoint(cls, path: Path | str, device: str | torch.device = "cpu") -> Renderer:
        return cls(load_generator(Path(path)), device)

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], config: RunConfig, size: int,
                   channels: int, class_names: list[str], attribute_names: list[str], step: int,
                   device: str | torch.device = "cpu", live_run: str | None = None) -> Renderer:
        """From a frozen copy of G_ema's weights (e.g. a training Preview event); ``live_run``
        names the run they come from (see ``ModelInfo.live_run``)."""
        G = build_generator(config.model, size, channels, len(class_names))
        G.load_state_dict(state)
        model = LoadedModel(config, G, step, list(class_names), list(attribute_names), channels,
                            size, None)
        renderer = cls(model, device)
        renderer.info = replace(renderer.info, live_run=live_run)
        return renderer

    @torch.inference_mode()
    def render(self, z: torch.Tensor, y: torch.Tensor | None = None,
               batch: int = 256) -> np.ndarray:
        """z: (N, z_dim); y: (N, n_classes) or None. Returns (N, H, W, 3) uint8."""
        info = self.info
        if z.dim() != 2 or z.shape[1] != info.z_dim:
            raise ValueError(f"z must have shape (N, {info.z_dim}), got {tuple(z.shape)}")
        if info.conditional:
            if y is None:
                raise ValueError("this model is conditional: a class vector is needed")
            if y.shape != (len(z), info.n_classes):
                raise ValueError(f"y must have shape ({len(z)}, {info.n_classes})")
        out = []
        for i in range(0, len(z), batch):
            zb = z[i:i + batch].to(self.device, torch.float32)
            yb = y[i:i + batch].to(self.device, torch.float32) if info.conditional else None
            out.append(to_uint8(self.generator(zb, yb)).cpu())
        if not out:
            return np.zeros((0, info.size, info.size, 3), np.uint8)
        return torch.cat(out).numpy()
