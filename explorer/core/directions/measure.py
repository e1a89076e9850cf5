"""Measure directions on Shapes from the pixels (not from the attribute model that found them).

Per image, the factors are estimated directly:
    background  grey level of the median border pixel (the shape never touches the border)
    mask        pixels whose colour differs from the background by more than half the
                foreground's contrast (the 99th-percentile difference; = anti-aliased coverage
                > 0.5 for a clean render)
    x, y        mask centroid, as a fraction of the image side
    size        sqrt(mask area / class area factor): the shape's circumradius (factor calibrated
                per class from clean renders, so it is comparable across classes)
    hue         hue of the mean colour of the mask's core (difference > 0.75 of the largest)
Rotation is not measured: second moments of regular polygons and stars are isotropic, so they
carry no angle, and the angle is meaningless for circles and rings.

For a direction d and α over its range, G(z + α·d) is rendered for a few hundred fixed z (and
fixed classes), and:
    control  = mean over z of Spearman ρ(α, own factor)  (1 = always monotone increasing)
    leakage  = max over other factors of |mean_z slope_other| / |mean_z slope_own|: how many
               stds another factor moves on average per std of the intended change. Slopes are
               per-sample least-squares fits over α, in units of each factor's std on real
               Shapes images.
    leakage_per_sample = the same with the per-sample RMS slope of the other factor, noise
               removed: sqrt(mean ŝ² − mean se²). Stricter: an effect that goes opposite ways
               for different z (which averages out above) still counts, while the pixel
               estimators' jitter does not. Linear projection can only remove the average part.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from explorer.core.directions.direction import Direction
from explorer.core.directions.finders import generate, sample_latents
from explorer.core.jobs import Cancelled
from trainer.data.shapes import CLASS_NAMES, make_shapes, render
from trainer.images import to_uint8

MEASURED = ("size", "x", "y", "hue", "background")


def _border(img: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) -> (N, 4(S-1), 3) the outermost ring of pixels."""
    return np.concatenate([img[:, 0, :], img[:, -1, :], img[:, 1:-1, 0], img[:, 1:-1, -1]], 1)


def _hue(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) in [0, 1] -> (N,) HSV hue in [0, 1)."""
    r, g, b = rgb.T
    mx, mn = rgb.max(1), rgb.min(1)
    c = np.maximum(mx - mn, 1e-6)
    h = np.where(mx == r, ((g - b) / c) % 6, np.where(mx == g, (b - r) / c + 2, (r - g) / c + 4))
    return (h / 6.0) % 1.0


def _raw(images: np.ndarray) -> tuple[np.ndarray, ...]:
    """(N, H, W, 3) uint8 -> area fraction, x, y, core hue, background (each (N,))."""
    img = np.asarray(images, np.float32) / 255.0
    n, s = img.shape[0], img.shape[1]
    bg = np.median(_border(img), axis=1)  # (N, 3)
    diff = np.abs(img - bg[:, None, None, :]).max(-1)  # (N, H, W)
    # The foreground's contrast: the 99th percentile rather than the max, so one stray bright
    # pixel of a generated image cannot shrink the mask (every shape covers > 3% of the image).
    peak = np.maximum(np.percentile(diff.reshape(n, -1), 99, axis=1), 0.05)[:, None, None]
    mask = diff > 0.5 * peak
    area = mask.reshape(n, -1).sum(1).clip(1)
    coords = (np.arange(s, dtype=np.float32) + 0.5) / s
    x = (mask * coords[None, None, :]).reshape(n, -1).sum(1) / area
    y = (mask * coords[None, :, None]).reshape(n, -1).sum(1) / area
    core = (diff > 0.75 * peak)[..., None]
    fg = (img * core).reshape(n, -1, 3).sum(1) / core.reshape(n, -1).sum(1, keepdims=True).clip(1)
    hue = _hue(fg)
    hue = np.where(hue > 0.9, hue - 1.0, hue)  # Shapes hues stop at 0.8: near-1 means near-0 red
    return area / (s * s), x, y, hue, bg.mean(1)


@functools.cache
def _area_factors() -> np.ndarray:
    """(n_classes,) mask area / circumradius² per class, from clean 128 px renders."""
    k = len(CLASS_NAMES)
    labels = torch.arange(k)
    factors = torch.tensor([[0.3, 0.5, 0.5, 0.1, 0.3, 0.2]]).repeat(k, 1)
    area = _raw(render(labels, factors, 128).permute(0, 2, 3, 1).numpy())[0]
    return area / 0.3**2


def estimate_factors(images: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """(N, H, W, 3) uint8 Shapes-like images -> (N, 5) factors in the order of MEASURED.

    ``labels`` (N,) class indices make ``size`` comparable across classes; without them every
    shape is assumed to be a circle."""
    area, x, y, hue, bg = _raw(images)
    f = _area_factors()[np.asarray(labels)] if labels is not None else math.pi
    return np.stack([np.sqrt(area / f), x, y, hue, bg], 1).astype(np.float32)


@functools.cache
def real_factor_std(size: int, n: int = 2000) -> np.ndarray:
    """(5,) std of the estimated factors on real Shapes images at ``size`` px."""
    data = make_shapes(n, size, seed=12345)
    est = estimate_factors(data.images.permute(0, 2, 3, 1).numpy(), data.labels.numpy())
    return est.std(0).clip(1e-6)


def _fit_slopes(alpha: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """alpha (T,), f (T, N, F) -> per-sample least-squares slopes (N, F) and their squared
    standard errors (N, F), from the residuals around each line (T − 2 degrees of freedom)."""
    ac = (alpha - alpha.mean()).astype(np.float64)
    sxx = (ac**2).sum()
    fc = f - f.mean(0)
    slope = np.einsum("t,tnf->nf", ac, fc) / sxx
    resid = fc - ac[:, None, None] * slope[None]
    se2 = (resid**2).sum(0) / max(len(alpha) - 2, 1) / sxx
    return slope, se2


def _spearman(alpha: np.ndarray, f: np.ndarray) -> np.ndarray:
    """alpha (T,), f (T, N, F) -> (N, F) Spearman ρ over T; 0 where a factor does not vary."""
    ra = np.argsort(np.argsort(alpha)).astype(np.float64)
    rf = f.argsort(0).argsort(0).astype(np.float64)
    ra, rf = ra - ra.mean(), rf - rf.mean(0)
    den = np.sqrt((ra**2).sum() * (rf**2).sum(0))
    return np.where(den > 0, np.einsum("t,tnf->nf", ra, rf) / np.maximum(den, 1e-12), 0.0)


def measure_directions(G: nn.Module, directions: Sequence[Direction], n: int = 200,
                       steps: int = 9, seed: int = 0,
                       progress: Callable[[float], None] | None = None,
                       cancel: Callable[[], bool] | None = None) -> list[dict]:
    """Control and leakage of each direction on a Shapes generator, from pixels (see module doc).

    Returns one dict per direction: name, source, attribute, own (the factor judged; taken from
    the pixels, marked own_from="pixels", when the direction names no measured factor), control,
    leakage, leaks_into, leakage_per_sample, leaks_into_per_sample and slope_<factor> (mean
    change in real-data stds per unit α)."""
    z, y = sample_latents(G, n, seed)
    labels = y.argmax(1).numpy() if y is not None else None
    std = real_factor_std(int(G.size))
    rows = []
    for i, d in enumerate(directions):
        if cancel is not None and cancel():
            raise Cancelled
        if progress is not None:
            progress(i / len(directions))
        alpha = np.linspace(d.range[0], d.range[1], steps, dtype=np.float32)
        zz = (z[None] + torch.from_numpy(alpha)[:, None, None] * d.vector).reshape(-1, z.shape[1])
        yy = y.repeat(steps, 1) if y is not None else None
        imgs = to_uint8(generate(G, zz, yy)).numpy()
        lab = np.tile(labels, steps) if labels is not None else None
        f = estimate_factors(imgs, lab).reshape(steps, n, -1) / std  # (T, N, 5) in std units
        slope, se2 = _fit_slopes(alpha, f)  # (N, 5) each
        rho = _spearman(alpha, f)
        mean_slope = slope.mean(0)
        rms = np.sqrt(np.maximum((slope**2).mean(0) - se2.mean(0), 0.0))  # (5,)
        own_from = "direction"
        if d.attribute in MEASURED:
            own = MEASURED.index(d.attribute)
        else:
            own, own_from = int(np.abs(mean_slope).argmax()), "pixels"
        others = [j for j in range(len(MEASURED)) if j != own]
        scale = max(abs(mean_slope[own]), 1e-9)
        mean_ratio = np.abs(mean_slope[others]) / scale
        rms_ratio = rms[others] / scale
        row = {"name": d.name, "source": d.source, "attribute": d.attribute,
               "own": MEASURED[own], "own_from": own_from, "range": d.range,
               "control": float(rho[:, own].mean()),
               "leakage": float(mean_ratio.max()),
               "leaks_into": MEASURED[others[int(mean_ratio.argmax())]],
               "leakage_per_sample": float(rms_ratio.max()),
               "leaks_into_per_sample": MEASURED[others[int(rms_ratio.argmax())]]}
        row.update({f"slope_{m}": float(mean_slope[j]) for j, m in enumerate(MEASURED)})
        rows.append(row)
    if progress is not None:
        progress(1.0)
    return rows


def format_table(rows: Sequence[dict], markdown: bool = True) -> str:
    """The measurement as a markdown (or aligned plain-text) table."""
    head = ["direction", "source", "range", "own factor", "control ρ", "leakage", "into",
            "per-sample leakage", "into"]
    body = []
    for r in rows:
        own = r["own"] + ("*" if r["own_from"] == "pixels" else "")
        body.append([r["name"], r["source"], f"±{max(abs(r['range'][0]), r['range'][1]):.1f}",
                     own, f"{r['control']:+.2f}", f"{r['leakage']:.2f}", r["leaks_into"],
                     f"{r['leakage_per_sample']:.2f}", r["leaks_into_per_sample"]])
    note = ("* no measured factor named: judged against the factor that moved most. control = "
            "mean Spearman ρ(α, own factor); leakage = largest average change of another factor "
            "per unit average change of the own factor (real-data stds); per-sample leakage = "
            "the same with per-sample RMS changes (estimator noise removed), which also counts "
            "effects that differ in sign between samples.")
    return _table(head, body, markdown) + "\n" + note


def _table(head: list[str], body: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h)
              for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*head)] + [fmt.format(*r) for r in body])
