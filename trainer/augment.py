"""Differentiable augmentation of what the critic sees, with an adaptive strength.

With a few hundred images the critic memorises the training set, its scores for real images run
away from those for generated ones, and the generator's gradient turns into noise: blurry,
artefact-ridden samples. Augmenting *both* real and generated images, differentiably so that the
generator's gradient flows through the augmentation, keeps the critic from memorising without the
generator learning the augmentations (DiffAugment, Zhao et al. 2020: FID cut by 40-65% on
100-image sets). The ops are DiffAugment's policy "color,translation,cutout".

Each op is applied to each image with probability ``p``. ``p`` is steered as in ADA (Karras et al.
2020) by the overfitting signal r = E[sign(C(real) - b)] (``losses.overfit_signal``): r near 1
means the critic is sure of every real image. ``p`` rises while r is above the target (0.6) and
falls below it.

Randomness is drawn up front (``draw``) from the training loop's generator, so a resumed run
continues exactly, and ``apply`` is a pure function of the images and the drawn parameters (which
``torch.compile`` and DDP take like any other input).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# How far p moves per image seen: from 0 to 1 in ADJUST_IMAGES images. ADA uses 500k images for
# runs of tens of millions; small-data runs here last ~100k-1M images, so p must move faster.
ADJUST_IMAGES = 100_000
TRANSLATE = 1 / 8  # largest shift, as a fraction of the image size
CUTOUT = 1 / 2  # side of the cut-out square, as a fraction of the image size

Params = dict[str, torch.Tensor]


def draw(n: int, size: int, p: torch.Tensor, rng: torch.Generator) -> Params:
    """Random parameters for ``n`` images of ``size`` px; each op on with probability ``p``.

    ``p`` is a 0-d tensor on the generator's device (no host sync). Off ops get identity values.
    """
    dev = p.device

    def on(k: int = 1) -> torch.Tensor:  # (n, k) float mask, 1 where the op applies
        return (torch.rand(n, k, device=dev, generator=rng) < p).float()

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(n, device=dev, generator=rng) * (hi - lo) + lo

    colour = on(3)
    shift = int(size * TRANSLATE + 0.5)
    move = on()[:, 0]
    # Integer shifts in [-shift, shift] for y and x, zero where translation is off.
    offsets = torch.randint(-shift, shift + 1, (n, 2), device=dev, generator=rng)
    offsets = offsets * move.long().unsqueeze(1)
    # Centres anywhere in the image; squares near an edge are clipped (as in DiffAugment).
    centres = torch.randint(0, size, (n, 2), device=dev, generator=rng)
    return {
        "brightness": (uniform(-0.5, 0.5) * colour[:, 0]),  # added, in [-1, 1] pixel units / 2
        "saturation": 1 + (uniform(0.0, 2.0) - 1) * colour[:, 1],  # 1 = unchanged
        "contrast": 1 + (uniform(0.5, 1.5) - 1) * colour[:, 2],
        "offsets": offsets,
        "cutout": on()[:, 0],
        "centres": centres,
    }


def apply(x: torch.Tensor, q: Params) -> torch.Tensor:
    """Augment images ``x`` (N, C, H, W) in [-1, 1] with parameters from ``draw``."""
    n, c, h, w = x.shape
    x = x + q["brightness"].view(n, 1, 1, 1).to(x.dtype)
    if c > 1:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * q["saturation"].view(n, 1, 1, 1).to(x.dtype) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * q["contrast"].view(n, 1, 1, 1).to(x.dtype) + mean
    x = _translate(x, q["offsets"])
    return _cutout(x, q["cutout"], q["centres"])


def _translate(x: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Shift each image by whole pixels, filling with zeros (DiffAugment's translation)."""
    n, c, h, w = x.shape
    dev = x.device
    iy = torch.arange(h, device=dev).view(1, h, 1) - offsets[:, 0].view(n, 1, 1)  # (n, h, 1)
    ix = torch.arange(w, device=dev).view(1, 1, w) - offsets[:, 1].view(n, 1, 1)  # (n, 1, w)
    # Pad by one pixel of zeros and point out-of-range indices at it.
    xp = F.pad(x, (1, 1, 1, 1))
    iy = iy.clamp(-1, h) + 1
    ix = ix.clamp(-1, w) + 1
    flat = (iy * (w + 2) + ix).view(n, 1, h * w).expand(n, c, h * w)  # (n, c, h*w)
    return xp.flatten(2).gather(2, flat).view(n, c, h, w)


def _cutout(x: torch.Tensor, on: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Zero a square of side ~size/2 around each centre, where ``on`` is 1."""
    n, _, h, w = x.shape
    half = max(1, int(h * CUTOUT + 0.5) // 2)
    dev = x.device
    ys = torch.arange(h, device=dev).view(1, h, 1)
    xs = torch.arange(w, device=dev).view(1, 1, w)
    cy, cx = centres[:, 0].view(n, 1, 1), centres[:, 1].view(n, 1, 1)
    inside = (ys >= cy - half) & (ys < cy + half) & (xs >= cx - half) & (xs < cx + half)
    mask = 1 - inside.float() * on.view(n, 1, 1)
    return x * mask.unsqueeze(1).to(x.dtype)


def adjust(p: torch.Tensor, r: torch.Tensor, target: float, images: int) -> torch.Tensor:
    """ADA's update: p moves by images/ADJUST_IMAGES toward more augmentation while r > target."""
    return (p + torch.sign(r - target) * (images / ADJUST_IMAGES)).clamp(0.0, 1.0)
