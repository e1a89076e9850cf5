"""Colour: how far a set of images' hue mix is from another's.

The eval classifier's features are trained to tell classes apart, so they barely see colour: a
generator that draws every shape yellow-green can score a good FD and recall. This measures
colour directly, in pixels. Every pixel votes for its hue (12 bins around the colour wheel,
the first centred on red) with its chroma (max - min of R, G, B in [0, 1]), so greys, whatever
their brightness, vote for nothing; the votes are summed over a set, batch by batch. Two sets
compare by the total variation between their normalised histograms: 0 = the same hue mix,
1 = no hue in common. Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

HUE_BINS = 12
# The 12-hue colour wheel, bin i centred on i * 30 degrees.
HUE_NAMES = ("red", "orange", "yellow", "chartreuse", "green", "spring green", "cyan", "azure",
             "blue", "violet", "magenta", "rose")
# Below this mean chroma per pixel a set has (almost) no colour: its hue mix would rest on
# noise (a JPEG's tint of a grey photograph), so no hue figure is given. Shapes at 32 px
# averages about 0.1 (one coloured shape on a grey background).
MIN_MEAN_CHROMA = 0.01
_CHUNK = 256  # images per pass: bounds the per-pixel temporaries


def pixel_hue_chroma(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(hue bin (N, H, W) int64 in [0, 12), chroma (N, H, W) float in [0, 1]) of RGB images
    (N, 3, H, W) in [-1, 1]. A grey pixel (chroma 0) gets bin 0 and weight 0."""
    rgb = images.float().clamp(-1, 1).add(1).mul(0.5)  # (N, 3, H, W) in [0, 1]
    r, g, b = rgb.unbind(1)
    hi, arg = rgb.max(1)
    chroma = hi - rgb.min(1).values
    c = chroma.clamp_min(1e-12)  # grey pixels: any hue, weight 0
    # HSV hue in sextants [0, 6): which channel is largest decides the sextant pair.
    h = torch.where(arg == 0, ((g - b) / c) % 6,
                    torch.where(arg == 1, (b - r) / c + 2, (r - g) / c + 4))
    # Bins of 30 degrees centred on 0, 30, ... (red spans 345..15 degrees).
    bins = torch.floor(h * (HUE_BINS / 6) + 0.5).long() % HUE_BINS
    return bins, chroma


@dataclass
class HueHistogram:
    """Chroma-weighted hue votes of a set of RGB images, summed; ``add`` one batch at a time."""

    weights: torch.Tensor = field(
        default_factory=lambda: torch.zeros(HUE_BINS, dtype=torch.float64))  # (12,)
    pixels: int = 0  # pixels seen, grey ones included

    @classmethod
    def of(cls, images: torch.Tensor) -> HueHistogram:
        return cls().add(images)

    def add(self, images: torch.Tensor) -> HueHistogram:
        """Add a batch (N, 3, H, W) in [-1, 1], on any device; returns self."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"hue needs RGB images (N, 3, H, W), got {tuple(images.shape)}")
        for i in range(0, len(images), _CHUNK):
            bins, chroma = pixel_hue_chroma(images[i:i + _CHUNK])
            w = chroma.flatten()
            # Summed in float64 so batch sizes do not change the sums (MPS has no float64).
            w = w if w.device.type == "mps" else w.double()
            votes = torch.bincount(bins.flatten(), w, minlength=HUE_BINS)
            self.weights += votes.double().cpu()
            self.pixels += bins.numel()
        return self

    def __add__(self, other: HueHistogram) -> HueHistogram:
        return HueHistogram(self.weights + other.weights, self.pixels + other.pixels)

    def __sub__(self, other: HueHistogram) -> HueHistogram:
        """The votes of a set less those of a subset of it (rounding never goes below 0)."""
        return HueHistogram((self.weights - other.weights).clamp_min(0),
                            self.pixels - other.pixels)

    @property
    def mean_chroma(self) -> float:
        return float(self.weights.sum()) / self.pixels if self.pixels else 0.0

    def colourless(self) -> bool:
        return self.mean_chroma < MIN_MEAN_CHROMA

    def shares(self) -> torch.Tensor | None:
        """The hue mix (12,) summing to 1, or None for a set with (almost) no colour."""
        return None if self.colourless() else self.weights / self.weights.sum()


def hue_distance(a: HueHistogram, b: HueHistogram) -> float | None:
    """Total variation between two sets' hue mixes: 0 = the same, 1 = no hue in common.
    None when either set has (almost) no colour (``why_no_hue`` says which)."""
    pa, pb = a.shares(), b.shares()
    if pa is None or pb is None:
        return None
    return float(0.5 * (pa - pb).abs().sum())


def why_no_hue(**sets: HueHistogram) -> str | None:
    """Why ``hue_distance`` of these sets is None, for the user, or None if it is not.
    The keywords name the sets (``real=..., generated=...``)."""
    grey = [f"the {name.replace('_', ' ')} images" for name, h in sets.items() if h.colourless()]
    if not grey:
        return None
    return (f"no hue distance: {' and '.join(grey)} have (almost) no colour (mean chroma under "
            f"{MIN_MEAN_CHROMA:g})")


def hue_shares_report(real: HueHistogram, generated: HueHistogram) -> dict[str, object]:
    """The per-bin view: each hue's share of the real and of the generated colour, rounded
    (None for a set without colour), so a user sees which colours are missing."""

    def rounded(h: HueHistogram) -> list[float] | None:
        s = h.shares()
        return None if s is None else [round(float(v), 3) for v in s]

    return {"bins": list(HUE_NAMES), "real": rounded(real), "generated": rounded(generated),
            "mean_chroma": {"real": round(real.mean_chroma, 4),
                            "generated": round(generated.mean_chroma, 4)}}


def missing_hues(shares: dict[str, object], below: float = 0.5) -> list[tuple[str, float, float]]:
    """(hue, real share, generated share) of each hue the samples draw under ``below`` x its
    real share, largest real share first; [] when either side has no colour."""
    real, gen = shares.get("real"), shares.get("generated")
    if not isinstance(real, list) or not isinstance(gen, list):
        return []
    out = [(name, r, g) for name, r, g in zip(HUE_NAMES, real, gen, strict=True)
           if r > 0 and g < below * r]
    return sorted(out, key=lambda t: -t[1])


def missing_hues_text(shares: dict[str, object]) -> str | None:
    """One line for a report: the colours the samples lack, or None if none is lacking."""
    gone = missing_hues(shares)
    if not gone:
        return None
    return ", ".join(f"{name} {100 * r:.0f}% → {100 * g:.0f}%" for name, r, g in gone)
