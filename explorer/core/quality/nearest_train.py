"""A sample's nearest training images: the memorisation check of one focused sample.

The same distance as eval's near-copy share (fidelity.pixel_vectors: area-downsampled pixels),
so what the window shows beside a sample is what ``eval`` counts. The training images and their
vectors are built once per dataset config and kept (one at a time: they can be large). Qt-free;
the window calls this from a worker thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch

from explorer.core.quality.eval_classifier import as_float, data_key
from explorer.core.quality.fidelity import nearest, pixel_vectors
from trainer.config import DataConfig
from trainer.data import ImageData, in_memory, load_dataset
from trainer.images import to_uint8

MAX_IMAGES = 50_000  # at most this many training images are searched (a fixed random subset)


@dataclass
class Neighbours:
    images: np.ndarray  # (k, H, W, 3) uint8, nearest first
    distances: list[float]
    n_searched: int
    note: str  # e.g. that a streaming dataset was sampled ("" if all were searched)


class TrainingImages:
    """A dataset's images and their pixel vectors, for nearest-neighbour look-ups."""

    def __init__(self, data: ImageData, note: str = "", seed: int = 0) -> None:
        images = data.images.cpu()
        if len(images) > MAX_IMAGES:
            idx = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
            images = images[idx[:MAX_IMAGES].sort().values]
            note = note or f"{MAX_IMAGES} of its {len(data)} images searched"
        self.images = images  # (N, C, H, W) uint8
        self.note = note
        self.vectors = torch.cat([pixel_vectors(as_float(images[i:i + 4096]))
                                  for i in range(0, len(images), 4096)])

    def nearest(self, image: np.ndarray, k: int = 4) -> Neighbours:
        """image: (H, W, 3) uint8 as the renderer draws it -> its k nearest training images."""
        x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
        if self.images.shape[1] == 1:
            x = x[:, :1]  # the renderer draws grey as three equal channels
        d, idx = nearest(pixel_vectors(as_float(x)), self.vectors, k=k)
        found = to_uint8(as_float(self.images[idx[0]])).numpy()
        return Neighbours(found, d[0].tolist(), len(self.images), self.note)


_lock = threading.Lock()
_cache: dict[str, TrainingImages] = {}


def is_cached(cfg: DataConfig) -> bool:
    with _lock:
        return data_key(cfg) in _cache


def training_images(cfg: DataConfig) -> TrainingImages:
    """The (cached) training images of a dataset config; DataError if they cannot be loaded."""
    key = data_key(cfg)
    with _lock:
        if key in _cache:
            return _cache[key]
    data, note = in_memory(load_dataset(cfg, "cpu"))
    built = TrainingImages(data, note)
    with _lock:
        _cache.clear()  # one dataset at a time: a large one holds much memory
        _cache[key] = built
    return built
