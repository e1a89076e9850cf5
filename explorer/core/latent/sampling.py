"""Sample grids as plain data: which z, which class, which seed for every tile.

The Generate view and ``python main.py sample`` both build their grids here (and render them in
the same chunks), so the GUI's exported PNG and the command line's are pixel-identical.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from explorer.core.latent.latent_math import (
    grid_z,
    one_hot,
    per_class_latents,
    random_labels,
    truncate,
)

# Class modes of a conditional model's grid.
RANDOM, ONE_CLASS, PER_CLASS = "random", "class", "per-class"
CLASS_MODES = (RANDOM, ONE_CLASS, PER_CLASS)
MAX_SAMPLES = 4096
# Exports render in chunks of this many samples (progress, cancel); the CLI uses the same chunks
# because a conv's float result can depend on the batch size, and pixels must match the GUI's.
EXPORT_CHUNK = 32


@dataclass(frozen=True)
class GridSpec:
    """What the user asked for. ``n`` is the sample count, or the samples per class (columns)
    in "per-class" mode. Class fields are ignored for an unconditional model."""

    seed: int
    n: int
    truncation: float = 1.0
    mode: str = RANDOM
    class_index: int = 0
    cols: int | None = None


@dataclass
class GridLatents:
    z: torch.Tensor  # (N, z_dim) float32, truncated
    y: torch.Tensor | None  # (N, n_classes) one-hot, or None
    seeds: list[int]  # the tile's own seed: seed_z(seeds[i]) is its z before truncation
    labels: list[int] | None  # the tile's class index
    cols: int | None  # columns of the layout (None: as square as possible)

    def __len__(self) -> int:
        return len(self.z)


def grid_latents(spec: GridSpec, z_dim: int, class_names: Sequence[str] = ()) -> GridLatents:
    """Build a grid's latents. Raises ValueError (user message) for out-of-range values."""
    n_classes = len(class_names)
    if not 1 <= spec.n <= MAX_SAMPLES:
        raise ValueError(f"the number of samples must be between 1 and {MAX_SAMPLES}")
    if spec.mode not in CLASS_MODES:
        raise ValueError(f"class mode must be one of {', '.join(CLASS_MODES)}")
    if n_classes and spec.mode == ONE_CLASS and not 0 <= spec.class_index < n_classes:
        raise ValueError(f"class {spec.class_index} is out of range; "
                         f"{describe_classes(class_names)}")
    if spec.cols is not None and spec.cols < 1:
        raise ValueError("columns must be at least 1")
    cols = spec.cols
    if not n_classes:
        z, y, labels = grid_z(spec.seed, spec.n, z_dim), None, None
        seeds = [spec.seed + i for i in range(spec.n)]
    elif spec.mode == PER_CLASS:
        z, y = per_class_latents(spec.seed, spec.n, z_dim, n_classes)
        labels = [r for r in range(n_classes) for _ in range(spec.n)]
        seeds = [spec.seed + c for _ in range(n_classes) for c in range(spec.n)]
        cols = spec.n  # one row per class, whatever was asked
    else:
        z = grid_z(spec.seed, spec.n, z_dim)
        lab = (torch.full((spec.n,), spec.class_index, dtype=torch.long) if spec.mode == ONE_CLASS
               else random_labels(spec.seed, spec.n, n_classes))
        y, labels = one_hot(lab, n_classes), lab.tolist()
        seeds = [spec.seed + i for i in range(spec.n)]
    return GridLatents(truncate(z, spec.truncation), y, seeds, labels, cols)


def describe_classes(class_names: Sequence[str]) -> str:
    listed = ", ".join(f"{i} {name}" for i, name in enumerate(class_names))
    return f"this model's classes are: {listed}"


def resolve_class(text: str | int, class_names: Sequence[str]) -> int:
    """A class given by index ("2") or name ("circle", any case) -> its index, or ValueError."""
    if not class_names:
        raise ValueError("this model is unconditional: it has no classes to choose from")
    s = str(text).strip()
    lowered = [c.lower() for c in class_names]
    if s.lower() in lowered:
        return lowered.index(s.lower())
    if s.lstrip("-").isdigit():
        i = int(s)
        if 0 <= i < len(class_names):
            return i
        raise ValueError(f"class {i} is out of range; {describe_classes(class_names)}")
    raise ValueError(f"unknown class '{s}'; {describe_classes(class_names)}")


def render_chunked(render: Callable[[torch.Tensor, torch.Tensor | None], np.ndarray],
                   z: torch.Tensor, y: torch.Tensor | None, chunk: int = EXPORT_CHUNK,
                   progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Render (N, z_dim) in chunks -> (N, H, W, 3) uint8. ``progress(done, total)`` is called
    after each chunk and may raise to cancel."""
    out = []
    for i in range(0, len(z), chunk):
        out.append(render(z[i:i + chunk], None if y is None else y[i:i + chunk]))
        if progress is not None:
            progress(min(i + chunk, len(z)), len(z))
    return np.concatenate(out)


def chunk_slices(n: int, chunk: int = EXPORT_CHUNK) -> list[slice]:
    """The chunks ``render_chunked`` uses, for renderers driven one chunk at a time (the GUI)."""
    return [slice(i, min(i + chunk, n)) for i in range(0, n, chunk)]
