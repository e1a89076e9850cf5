"""Precision, recall and memorisation: what class accuracy and FD alone do not show.

- k-NN precision and recall (Kynkäänniemi et al. 2019, "Improved precision and recall metric
  for assessing generative models"): each real feature gets a ball reaching its k-th nearest
  real neighbour; precision is the share of generated features inside some real ball (are the
  samples on the real data's manifold?), recall the share of real features inside some
  generated ball (how much of that manifold do the samples cover?). A model can reach high
  class accuracy with low recall: it draws a few typical images of each class.
- Memorisation: how close each generated sample comes to its nearest training image, against
  how close real images come to the *other* training images (leave-one-out). A generator that
  copies its training images sits much closer than real data does.

Pure functions on (N, D) tensors, chunked so no full N x M distance matrix is held. Qt-free.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

K = 3  # the paper's default neighbourhood size
CHUNK = 1024  # query rows per distance block
PIXEL_SIZE = 16  # memorisation compares images area-downsampled to at most this size
NEAR_COPY_PERCENTILE = 1.0  # a near-copy is closer than 99% of real images come to the training set


def _as_float(x: Any) -> torch.Tensor:
    return torch.as_tensor(x).float().reshape(len(x), -1)


def knn_radii(x: Any, k: int = K, chunk: int = CHUNK) -> torch.Tensor:
    """(N,) distance of each point to its k-th nearest *other* point of x (N > k)."""
    x = _as_float(x)
    if len(x) <= k:
        raise ValueError(f"k-NN radii need more than k = {k} points (got {len(x)})")
    out = []
    for i in range(0, len(x), chunk):
        d = torch.cdist(x[i:i + chunk], x)
        rows = torch.arange(len(d))
        d[rows, rows + i] = float("inf")  # exclude the point itself (duplicates still count)
        out.append(d.topk(k, dim=1, largest=False).values[:, -1])
    return torch.cat(out)


def inside_any_ball(queries: Any, centres: Any, radii: torch.Tensor,
                    chunk: int = CHUNK) -> torch.Tensor:
    """(Nq,) bool: is each query within radius of at least one centre?"""
    q, c = _as_float(queries), _as_float(centres)
    out = []
    for i in range(0, len(q), chunk):
        out.append((torch.cdist(q[i:i + chunk], c) <= radii[None]).any(1))
    return torch.cat(out)


def precision_recall(real: Any, fake: Any, k: int = K) -> dict[str, float]:
    """k-NN precision (fake inside the real manifold) and recall (real inside the fake one)."""
    real, fake = _as_float(real), _as_float(fake)
    precision = inside_any_ball(fake, real, knn_radii(real, k)).double().mean()
    recall = inside_any_ball(real, fake, knn_radii(fake, k)).double().mean()
    return {"precision": float(precision), "recall": float(recall)}


def nearest(queries: Any, ref: Any, k: int = 1, exclude: torch.Tensor | None = None,
            chunk: int = CHUNK) -> tuple[torch.Tensor, torch.Tensor]:
    """(distances (Nq, k), indices (Nq, k)) of each query's k nearest rows of ref.

    ``exclude`` (Nq,) gives, per query, one ref index to skip (the query itself when the queries
    are drawn from ref: leave-one-out), or -1 for none.
    """
    q, r = _as_float(queries), _as_float(ref)
    dists, idxs = [], []
    for i in range(0, len(q), chunk):
        d = torch.cdist(q[i:i + chunk], r)
        if exclude is not None:
            ex = exclude[i:i + chunk]
            rows = torch.nonzero(ex >= 0).flatten()
            d[rows, ex[rows]] = float("inf")
        v, j = d.topk(min(k, r.shape[0]), dim=1, largest=False)
        dists.append(v)
        idxs.append(j)
    return torch.cat(dists), torch.cat(idxs)


def pixel_vectors(images: torch.Tensor, size: int = PIXEL_SIZE) -> torch.Tensor:
    """Images (N, C, H, W), any scale, -> (N, C*s*s) float vectors, area-downsampled to s <= size.

    Memorisation is measured in pixels, not in the classifier's features: a classifier is trained
    to map different images of one class close together, so in its space a typical new sample
    looks like a "copy" of many training images, while a copy in pixels is a copy. Downsampling
    keeps the distance cheap (16 x 16 x 3 = 768 numbers at any image size) and forgiving of
    one-pixel noise; a shifted or mirrored copy is not caught.
    """
    x = images.float()
    if x.shape[-1] > size:
        x = F.adaptive_avg_pool2d(x, size)
    return x.reshape(len(x), -1)


def memorisation(generated_nn: torch.Tensor, real_nn: torch.Tensor,
                 percentile: float = NEAR_COPY_PERCENTILE) -> dict[str, Any]:
    """Figures from nearest-training-image distances of generated samples and of real images.

    ``real_nn``: each real image's distance to its nearest *other* training image, what a fresh
    draw from the data reads. The near-copy threshold is its ``percentile``-th percentile, so
    about that share of real images would count as near-copies themselves; a generator well
    above it is copying. The ratio of medians reads ~1 for a generator that draws like the data,
    well below 1 for one that copies, above 1 for samples off the data.
    """
    g, r = generated_nn.double().flatten(), real_nn.double().flatten()
    threshold = float(torch.quantile(r, percentile / 100))
    med_g, med_r = float(g.median()), float(r.median())
    return {"median_nn_generated": med_g, "median_nn_real": med_r,
            "median_ratio": med_g / med_r if med_r > 0 else None,
            "near_copy_threshold": threshold,
            "near_copy_share": float((g <= threshold).double().mean()),
            "near_copy_rule": (f"nearer its nearest training image than the nearest "
                               f"{percentile:g}% of real images are to the other training "
                               f"images (pixels, at most {PIXEL_SIZE} x {PIXEL_SIZE})")}
