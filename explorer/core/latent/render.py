"""The renderer: owns its own generator copy and turns latent batches into pixels.

``ModelInfo`` (the one description of a model) lives in ``trainer/checkpoint.py``; it is
re-exported here for the views.

Never shares a live ``nn.Module`` with the trainer: it is built from a checkpoint file or from a
frozen CPU copy of G_ema's weights that the training loop hands over (``Preview`` events).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from trainer.checkpoint import LoadedModel, ModelInfo, load_generator
from trainer.images import to_uint8
from trainer.models import build_generator

__all__ = ["ModelInfo", "Renderer"]


class Renderer:
    """Render (N, z_dim) z (+ class vectors) to (N, H, W, 3) uint8 under inference mode."""

    def __init__(self, model: LoadedModel, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.generator = model.generator.to(self.device).eval().requires_grad_(False)
        self.info = model.info

    @classmethod
    def from_checkpoint(cls, path: Path | str, device: str | torch.device = "cpu") -> Renderer:
        return cls(load_generator(Path(path)), device)

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], info: ModelInfo,
                   device: str | torch.device = "cpu") -> Renderer:
        """From a frozen copy of G_ema's weights (e.g. a training Preview event) and the
        model's description (its ``live_run`` names the run they come from)."""
        G = build_generator(info.config.model, info.size, info.channels,
                            len(info.data_class_names))
        G.load_state_dict(state)
        return cls(LoadedModel(G, info), device)

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
