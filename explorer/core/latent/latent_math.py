"""Latent-space math as pure functions on tensors: seeded noise, truncation, lerp, slerp.

z tensors are (N, z_dim) float32; class vectors are (N, n_classes), one-hot or any soft mix.
"""

from __future__ import annotations

import operator

import torch

from trainer.config import MAX_SEED


def seeded_z(seed: int, n: int, z_dim: int) -> torch.Tensor:
    """(n, z_dim) standard normal noise, the same for the same seed on every machine (CPU RNG)."""
    check_seed(seed)
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(n, z_dim, generator=g)


def check_seed(seed: int, name: str = "seed") -> None:
    """ValueError (a message for the user) unless ``seed`` is a whole number in [0, MAX_SEED]."""
    try:
        ok = 0 <= operator.index(seed) <= MAX_SEED
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a whole number from 0 to {MAX_SEED} (got {seed})")


def seed_z(seed: int, z_dim: int) -> torch.Tensor:
    """(z_dim,) noise of one sample: sample i of a grid with seed s has the seed s + i."""
    return seeded_z(seed, 1, z_dim)[0]


def grid_z(seed: int, n: int, z_dim: int) -> torch.Tensor:
    """(n, z_dim): sample i uses seed + i, so any grid sample can be re-made from its own seed."""
    return torch.stack([seed_z(seed + i, z_dim) for i in range(n)])


def truncate(z: torch.Tensor, psi: float, threshold: float = 2.0) -> torch.Tensor:
    """Truncation trick: scale z towards the mean (0) by psi, then resample-free clamp.

    psi = 1 leaves z unchanged; psi < 1 trades variety for typicality. Values beyond
    ``threshold`` standard deviations are clamped so rare outliers do not dominate.
    """
    if psi == 1.0:
        return z
    return (z * psi).clamp(-threshold, threshold)


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Linear interpolation; ``t`` a float or (T,) tensor -> (T, ...) for vectors a, b."""
    t = torch.as_tensor(t, dtype=a.dtype)
    if t.dim() == 0:
        return a + t * (b - a)
    return a.unsqueeze(0) + t.view(-1, *([1] * a.dim())) * (b - a).unsqueeze(0)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor | float,
          eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation between vectors a and b (z_dim,) for t in [0, 1].

    Follows the great circle between the directions and interpolates the norms linearly, so
    intermediate points keep a typical Gaussian norm (a lerp midpoint is too short). Falls back
    to lerp for (nearly) parallel vectors; for opposite vectors the arc is ill-defined, so a
    fixed perpendicular is chosen to pass through.
    """
    t = torch.as_tensor(t, dtype=a.dtype)
    scalar = t.dim() == 0
    t = t.reshape(-1, 1)
    na, nb = a.norm(), b.norm()
    if na < eps or nb < eps:
        out = lerp(a, b, t.flatten())
        return out[0] if scalar else out
    ua, ub = a / na, b / nb
    dot = torch.clamp((ua * ub).sum(), -1.0, 1.0)
    norms = na + t * (nb - na)  # (T, 1)
    if dot > 1 - 1e-6:
        out = lerp(a, b, t.flatten())
    else:
        if dot < -1 + 1e-6:
            # Opposite: pick the basis axis least aligned with ua and orthogonalise it.
            axis = torch.zeros_like(ua)
            axis[torch.argmin(ua.abs())] = 1.0
            perp = axis - (axis @ ua) * ua
            perp = perp / perp.norm()
            omega = torch.tensor(torch.pi, dtype=a.dtype)
            direction = torch.cos(omega * t) * ua + torch.sin(omega * t) * perp
        else:
            omega = torch.arccos(dot)
            so = torch.sin(omega)
            direction = (torch.sin((1 - t) * omega) / so) * ua + (torch.sin(t * omega) / so) * ub
        out = direction * norms
    return out[0] if scalar else out


def one_hot(labels: list[int] | torch.Tensor, n_classes: int) -> torch.Tensor:
    labels = torch.as_tensor(labels, dtype=torch.long)
    return torch.nn.functional.one_hot(labels, n_classes).float()


def interpolate_frames(a: torch.Tensor, b: torch.Tensor, frames: int, spherical: bool,
                       ping_pong: bool = False) -> torch.Tensor:
    """(frames, D) points from a to b inclusive; ping-pong appends the way back (no repeats)."""
    if frames < 2:
        raise ValueError("a morph needs at least 2 frames")
    t = torch.linspace(0, 1, frames, dtype=a.dtype)
    pts = slerp(a, b, t) if spherical else lerp(a, b, t)
    if ping_pong and frames > 2:
        pts = torch.cat([pts, pts.flip(0)[1:-1]])
    return pts


def seed_label(seed: int, n_classes: int) -> int:
    """A class index drawn from ``seed`` alone, so a "random classes" sample is reproducible
    from its own seed. The seed is salted so the draw is independent of ``seed_z(seed)``."""
    g = torch.Generator().manual_seed((int(seed) ^ 0x5EED_C1A5) & 0xFFFF_FFFF_FFFF)
    return int(torch.randint(n_classes, (1,), generator=g).item())


def random_labels(seed: int, n: int, n_classes: int) -> torch.Tensor:
    """(n,) long: the class of grid sample i is ``seed_label(seed + i)``, like its z."""
    return torch.tensor([seed_label(seed + i, n_classes) for i in range(n)], dtype=torch.long)


def per_class_latents(seed: int, cols: int, z_dim: int,
                      n_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One row per class with the same z in each column, so only the class changes down a column.

    Returns z (n_classes * cols, z_dim) and one-hot y (n_classes * cols, n_classes), row-major:
    sample r * cols + c has z = seed_z(seed + c) and class r.
    """
    z = grid_z(seed, cols, z_dim).repeat(n_classes, 1)
    labels = torch.arange(n_classes).repeat_interleave(cols)
    return z, one_hot(labels, n_classes)


def class_mix(ya: torch.Tensor, yb: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Class vectors (n_classes,) mixed linearly, (T, n_classes) for a (T,) ``t``.

    Always linear: the mix of two one-hot vectors then sums to 1 at every t (a slerp of the
    orthogonal one-hots would overshoot to a norm-1 vector summing to sqrt(2) midway).
    """
    return lerp(ya, yb, t)
