"""Image tensors to pixels: grids and uint8 conversion, shared by the trainer and the explorer."""

from __future__ import annotations

import math

import numpy as np
import torch


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) float in [-1, 1] -> (N, H, W, 3) uint8 on the same device (grey -> RGB)."""
    x = images.detach()
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    x = ((x.float() + 1) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous()


def grid_shape(n: int, cols: int | None = None) -> tuple[int, int]:
    """(rows, cols) for n tiles: ``cols`` if given, else as square as possible."""
    if cols is None:
        cols = max(1, math.ceil(math.sqrt(n)))
    cols = max(1, min(cols, n))
    return math.ceil(n / cols), cols


def make_grid(tiles: np.ndarray, cols: int | None = None, pad: int = 2,
              pad_value: int = 24) -> np.ndarray:
    """(N, H, W, 3) uint8 -> one (rows*(H+pad)+pad, cols*(W+pad)+pad, 3) uint8 image."""
    n, h, w, c = tiles.shape
    rows, cols = grid_shape(n, cols)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), pad_value, np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + k * (w + pad)
        out[y:y + h, x:x + w] = tiles[i]
    return out


def upscale_nearest(img: np.ndarray, factor: int) -> np.ndarray:
    """Integer nearest-neighbour upscaling of an (H, W, 3) image, crisp for small GAN outputs."""
    if factor <= 1:
        return img
    return img.repeat(factor, axis=0).repeat(factor, axis=1)
