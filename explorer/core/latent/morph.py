"""Two-point morphs as pure functions: endpoints -> (frames, z) and (frames, y).

The Morph view and ``python main.py morph`` both build their frames here, so the GUI and the
command line produce identical pixels for the same settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from explorer.core.latent.latent_math import (
    class_mix,
    interpolate_frames,
    one_hot,
    seed_z,
    truncate,
)

MIN_FRAMES, MAX_FRAMES = 2, 1000


@dataclass(frozen=True)
class Endpoint:
    """One end of a morph: z (z_dim,) and, for a conditional model, a class vector (n_classes,)."""

    z: torch.Tensor
    y: torch.Tensor | None = None


def endpoint_from_seed(seed: int, z_dim: int, truncation: float = 1.0,
                       class_index: int | None = None, n_classes: int = 0) -> Endpoint:
    """The endpoint the user means by "seed S (class C)": truncate(seed_z(S)), one-hot C."""
    z = truncate(seed_z(seed, z_dim), truncation)
    y = None
    if n_classes:
        y = one_hot([class_index or 0], n_classes)[0]
    return Endpoint(z, y)


def check_frames(frames: int) -> None:
    if not MIN_FRAMES <= frames <= MAX_FRAMES:
        raise ValueError(f"frames must be between {MIN_FRAMES} and {MAX_FRAMES} (got {frames})")


def morph_length(frames: int, ping_pong: bool) -> int:
    """Frames in the animation: ping-pong adds the way back without repeating the ends."""
    return 2 * frames - 2 if ping_pong and frames > 2 else frames


def morph_latents(a: Endpoint, b: Endpoint, frames: int, spherical: bool = True,
                  ping_pong: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """z (F, z_dim) and y (F, n_classes) or None, F = morph_length(frames, ping_pong).

    z follows a slerp (or lerp) from a.z to b.z; the class vectors are always mixed linearly, so
    "same z, class A -> class B" is a continuous class blend. Frame 0 is A, frame frames-1 is B.
    """
    check_frames(frames)
    z = interpolate_frames(a.z.float(), b.z.float(), frames, spherical, ping_pong)
    # Exact ends (slerp's trigonometry is off by an ulp at t = 1): the first and last frames
    # are then pixel for pixel the samples picked in the Generate view.
    z[0], z[frames - 1] = a.z, b.z
    if (a.y is None) != (b.y is None):
        raise ValueError("both endpoints need a class vector, or neither")
    y = None
    if a.y is not None and b.y is not None:
        t = torch.linspace(0, 1, frames)
        y = class_mix(a.y.float(), b.y.float(), t)
        if len(z) != frames:  # ping-pong: the same way back, ends not repeated
            y = torch.cat([y, y.flip(0)[1:-1]])
    return z, y
