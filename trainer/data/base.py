"""What every dataset hands the training loop.

``ImageData`` holds a whole dataset as one uint8 tensor (decoded once, moved to the training
device once; batches are drawn by index with no DataLoader). ``StreamingData`` wraps a
DataLoader for sets too large to keep in memory. Both expose ``batch(n, generator)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from trainer.errors import UserError


class DataError(UserError):
    """A dataset cannot be loaded; the message says what to do, for the CLI and the GUI."""


@dataclass
class LoadReport:
    """What happened while reading a dataset from disk (for the user)."""

    loaded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    # Files over PIL's decompression-bomb warning limit (~89 Mpx), decoded anyway (slow).
    very_large: list[str] = field(default_factory=list)

    def summary(self) -> str:
        s = f"{self.loaded} images loaded"
        if self.very_large:
            s += (f" ({len(self.very_large)} very large, over 89 Mpx, slow to decode: "
                  f"{self.very_large[0]}{', ...' if len(self.very_large) > 1 else ''})")
        if self.skipped:
            s += f", {len(self.skipped)} files skipped"
            reasons: dict[str, int] = {}
            for _, r in self.skipped:
                reasons[r] = reasons.get(r, 0) + 1
            s += " (" + ", ".join(f"{n} {r}" for r, n in sorted(reasons.items())) + ")"
        return s


class ImageData:
    """A dataset held as one tensor.

    images: (N, C, H, W) uint8; labels: (N,) int64 class indices or None;
    attributes: (N, A) float32 or None (continuous or 0/1 attribute labels).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None = None,
                 class_names: list[str] | None = None, attributes: torch.Tensor | None = None,
                 attribute_names: list[str] | None = None, name: str = "",
                 report: LoadReport | None = None):
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError("images must be a (N, C, H, W) uint8 tensor")
        if len(images) == 0:
            raise DataError(f"dataset {name or ''} has no images".replace("  ", " "))
        self.images = images
        self.labels = labels
        self.class_names = list(class_names or [])
        self.attributes = attributes
        self.attribute_names = list(attribute_names or [])
        self.name = name
        self.report = report or LoadReport(loaded=len(images))

    def __len__(self) -> int:
        return len(self.images)

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def size(self) -> int:
        return self.images.shape[-1]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def to(self, device: torch.device | str) -> ImageData:
        self.images = self.images.to(device)
        if self.labels is not None:
            self.labels = self.labels.to(device)
        if self.attributes is not None:
            self.attributes = self.attributes.to(device)
        return self

    def batch(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        """n random images as float in [-1, 1] and their labels, drawn on the data's device."""
        idx = torch.randint(len(self.images), (n,), device=self.images.device, generator=generator)
        x = self.images[idx].float().div_(127.5).sub_(1.0)
        y = self.labels[idx] if self.labels is not None else None
        return x, y


class StreamingData:
    """A large dataset read through a DataLoader, batches moved to the device as they come.

    ``dataset`` items are (uint8 CHW tensor, label int or -1); ``attributes`` (N, A) float32 on
    the CPU, if any, are indexed like the dataset (training does not read them; an in-memory
    sample for eval or the attribute model does).
    """

    def __init__(self, dataset: torch.utils.data.Dataset, class_names: list[str], channels: int,
                 size: int, device: torch.device | str, name: str = "",
                 attribute_names: list[str] | None = None, report: LoadReport | None = None,
                 attributes: torch.Tensor | None = None):
        self.dataset = dataset
        self.class_names = list(class_names)
        self.attribute_names = list(attribute_names or [])
        self.attributes = attributes
        self._channels, self._size = channels, size
        self.device = torch.device(device)
        self.name = name
        self.report = report or LoadReport(loaded=len(dataset))  # type: ignore[arg-type]
        self._it: Iterator | None = None
        self._batch_size = 0

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    @property
    def channels(self) -> int:
        return self._channels

    @property
    def size(self) -> int:
        return self._size

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def batch(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self._it is None or self._batch_size != n:
            self._batch_size = n
            self._it = self._forever(n, generator)
        return next(self._it)

    def in_memory_sample(self, max_images: int, seed: int = 0) -> ImageData:
        """A fixed random subset of at most ``max_images``, decoded into an ImageData (CPU),
        for what needs random access to real images: the eval classifier, FD's real set, the
        attribute model. The same seed gives the same images."""
        n = min(len(self), max_images)
        idx = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n]
        idx = idx.sort().values  # files in folder order: kinder to the disk
        loader = torch.utils.data.DataLoader(torch.utils.data.Subset(self.dataset, idx.tolist()),
                                             batch_size=256, num_workers=2)
        xs, ys = [], []
        for x, y in loader:
            xs.append(x)
            ys.append(y)
        labels = torch.cat(ys) if self.class_names else None
        attrs = self.attributes[idx] if self.attributes is not None else None
        return ImageData(torch.cat(xs), labels, self.class_names, attrs, self.attribute_names,
                         name=self.name, report=LoadReport(loaded=n))

    def close(self) -> None:
        """Shut the loader's worker processes down now (else it happens at a random later GC)."""
        if self._it is not None:
            self._it.close()
            self._it = None

    def _forever(self, n: int, generator: torch.Generator) -> Iterator:
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator, device=generator.device))
        g = torch.Generator().manual_seed(seed)
        loader = torch.utils.data.DataLoader(self.dataset, batch_size=n, shuffle=True,
                                             drop_last=True, num_workers=2, generator=g,
                                             persistent_workers=True,
                                             pin_memory=self.device.type == "cuda")
        while True:
            for x, y in loader:
                x = x.to(self.device, non_blocking=True).float().div_(127.5).sub_(1.0)
                y = y.to(self.device, non_blocking=True) if self.class_names else None
                yield x, y


SAMPLE_BYTES = 512 * 1024**2  # how much of a streamed dataset eval or the attribute model hold


def in_memory(data: ImageData | StreamingData, min_images: int = 0,
              max_bytes: int | None = None, seed: int = 0) -> tuple[ImageData, str]:
    """``data`` itself if it is held in memory; else a fixed random sample of it that fits in
    ``max_bytes`` (but has at least ``min_images``), and a note that says so ("" if whole)."""
    if isinstance(data, ImageData):
        return data, ""
    per_image = data.channels * data.size * data.size
    budget = SAMPLE_BYTES if max_bytes is None else max_bytes
    n = min(len(data), max(min_images, budget // per_image))
    sample = data.in_memory_sample(n, seed)
    data.close()
    if len(sample) == len(data):
        return sample, ""
    return sample, (f"the data streams from disk: a fixed random {len(sample)} of its "
                    f"{len(data)} images were used")
