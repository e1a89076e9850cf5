"""Shapes: the built-in procedural dataset (no download, deterministic from a seed, vectorised).

Each RGB image shows one shape of a class (circle, square, triangle, star, ring) on a plain grey
background. Six known continuous factors are returned as attribute labels, so the project can
measure whether a latent direction controls one factor and leaves the others alone:

    size        shape radius as a fraction of the image side, [0.18, 0.34]
    x, y        centre position as a fraction of the image side, kept so the shape stays inside
    rotation    fraction of the shape's symmetry period, [0, 1) (no visible effect on circle, ring)
    hue         foreground hue, [0, 0.8] (stops short of wrapping back to red)
    background  background grey level, [0.05, 0.45]
"""

from __future__ import annotations

import math

import torch

from trainer.data.base import ImageData

CLASS_NAMES = ["circle", "square", "triangle", "star", "ring"]
FACTOR_NAMES = ["size", "x", "y", "rotation", "hue", "background"]
FACTOR_RANGES = {
    "size": (0.18, 0.34),
    "rotation": (0.0, 1.0),
    "hue": (0.0, 0.8),
    "background": (0.05, 0.45),
}
# Rotational symmetry period of each class, in radians.
_PERIOD = [2 * math.pi, math.pi / 2, 2 * math.pi / 3, 2 * math.pi / 5, 2 * math.pi]


def sample_factors(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random classes (N,) int64 and factors (N, 6) float32 in the columns of FACTOR_NAMES."""
    g = generator
    labels = torch.randint(len(CLASS_NAMES), (n,), generator=g)
    u = torch.rand(n, 6, generator=g)
    lo = torch.tensor([FACTOR_RANGES["size"][0], 0, 0, 0, 0, FACTOR_RANGES["background"][0]])
    hi = torch.tensor([FACTOR_RANGES["size"][1], 1, 1, 1, FACTOR_RANGES["hue"][1],
                       FACTOR_RANGES["background"][1]])
    f = lo + u * (hi - lo)
    # Centre within [margin, 1 - margin] where margin = radius + a small border.
    margin = f[:, 0] + 0.03
    f[:, 1] = margin + u[:, 1] * (1 - 2 * margin)
    f[:, 2] = margin + u[:, 2] * (1 - 2 * margin)
    return labels, f


def render(labels: torch.Tensor, factors: torch.Tensor, size: int) -> torch.Tensor:
    """Render shapes to (N, 3, size, size) uint8. Anti-aliased edges (about one pixel wide)."""
    n = len(labels)
    size_f, cx, cy, rot, hue, bg = factors.T
    coords = (torch.arange(size, dtype=torch.float32) + 0.5) / size  # pixel centres in (0, 1)
    px = coords.view(1, 1, size) - cx.view(n, 1, 1)  # (N, 1, S)
    py = coords.view(1, size, 1) - cy.view(n, 1, 1)  # (N, S, 1)
    period = torch.tensor(_PERIOD)[labels]
    theta = rot * period
    rho = torch.sqrt(px**2 + py**2)  # (N, S, S)
    phi = torch.atan2(py, px) - theta.view(n, 1, 1)

    R = size_f.view(n, 1, 1)
    boundary = torch.empty_like(rho)
    inner = torch.zeros_like(rho)
    # circle
    boundary[:] = R
    # square: regular polygon with 4 sides, circumradius R
    poly_r = {1: 4, 2: 3}
    for k, sides in poly_r.items():
        a = math.pi / sides
        local = torch.remainder(phi + math.pi / 2, 2 * a) - a  # angle from the nearest edge normal
        b = R * math.cos(a) / torch.cos(local)
        boundary = torch.where((labels == k).view(n, 1, 1), b, boundary)
    # star: 5 points, inner radius about 0.45 R, straight-ish edges from a sharpened cosine
    star = R * (0.45 + 0.55 * ((torch.cos(5 * (phi - math.pi / 2)) + 1) / 2) ** 1.6)
    boundary = torch.where((labels == 3).view(n, 1, 1), star, boundary)
    # ring: annulus between 0.55 R and R
    inner = torch.where((labels == 4).view(n, 1, 1), 0.55 * R, inner)

    px_w = 1.0 / size
    cover = ((boundary - rho) / px_w + 0.5).clamp(0, 1)
    cover = cover * ((rho - inner) / px_w + 0.5).clamp(0, 1).where(inner > 0, torch.ones(()))

    fg = hsv_to_rgb(hue, torch.full_like(hue, 0.85), torch.full_like(hue, 0.95))  # (N, 3)
    bgc = bg.view(n, 1).expand(n, 3)
    img = bgc.view(n, 3, 1, 1) + cover.unsqueeze(1) * (fg - bgc).view(n, 3, 1, 1)
    return (img * 255).round_().clamp_(0, 255).to(torch.uint8)


def hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Vectorised HSV -> RGB; inputs (N,) in [0, 1], output (N, 3) in [0, 1]."""
    k = torch.tensor([5.0, 3.0, 1.0])
    kk = torch.remainder(k + h.unsqueeze(1) * 6, 6)
    return v.unsqueeze(1) - v.unsqueeze(1) * s.unsqueeze(1) * torch.clamp(
        torch.minimum(kk, 4 - kk), 0, 1)


def make_shapes(n: int, size: int, seed: int = 0, chunk: int = 4096) -> ImageData:
    """Generate ``n`` Shapes images at ``size`` px, deterministically from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    labels, factors = sample_factors(n, g)
    images = torch.cat([render(labels[i:i + chunk], factors[i:i + chunk], size)
                        for i in range(0, n, chunk)])
    return ImageData(images, labels, CLASS_NAMES, factors, FACTOR_NAMES, name="shapes")
