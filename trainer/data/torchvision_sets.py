"""torchvision datasets (training splits), downloaded on demand into a cache folder.

MNIST, Fashion-MNIST and CIFAR-10 are read from torchvision's raw arrays (much faster than
iterating PIL images) and resized on the tensor. CelebA is a folder of JPEGs: centre-cropped to
178 x 178, resized, with its 40 binary attributes as 0/1 attribute labels and no classes.
Without network the user gets a DataError naming the files to fetch and the folder to put them in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from trainer.data.base import DataError, ImageData, LoadReport, StreamingData
from trainer.data.decode import ImageFileDataset, LoadProgress, decode_all

NAMES = ("mnist", "fashion-mnist", "cifar10", "celeba")
DEFAULT_ROOT = Path.home() / ".cache" / "latent-lab" / "datasets"

# The files torchvision looks for (torchvision/datasets/{mnist,cifar,celeba}.py), relative to root.
_MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
_CELEBA_FILES = (
    "img_align_celeba.zip",
    "list_attr_celeba.txt",
    "identity_CelebA.txt",
    "list_bbox_celeba.txt",
    "list_landmarks_align_celeba.txt",
    "list_eval_partition.txt",
)
_CHUNK = 4096  # images resized per interpolate call: bounds the float32 working memory


def load_torchvision(
    name: str,
    size: int,
    root: str | Path = "",
    device: torch.device | str = "cpu",
    max_in_memory_bytes: int = 2 * 1024**3,
    progress: LoadProgress | None = None,
) -> ImageData | StreamingData:
    """Load the training split of ``name`` (one of NAMES) at ``size`` x ``size``.

    ``root`` is the download cache ("" = ~/.cache/latent-lab/datasets). The result is an
    ImageData on ``device`` when N * C * size * size bytes fit in ``max_in_memory_bytes``,
    else StreamingData.
    """
    if name not in NAMES:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(NAMES)}")
    root_dir = Path(root).expanduser() if root else DEFAULT_ROOT
    ds = _open(name, root_dir)
    if name == "celeba":
        return _celeba(ds, size, device, max_in_memory_bytes, progress)
    return _arrays(ds, name, size, device, max_in_memory_bytes)


def _open(name: str, root: Path) -> Any:
    """The torchvision dataset object, downloading it first if needed."""
    from torchvision import datasets  # imported here: torchvision takes a while to import

    try:
        root.mkdir(parents=True, exist_ok=True)
        if name == "mnist":
            return datasets.MNIST(str(root), train=True, download=True)
        if name == "fashion-mnist":
            return datasets.FashionMNIST(str(root), train=True, download=True)
        if name == "cifar10":
            return datasets.CIFAR10(str(root), train=True, download=True)
        return datasets.CelebA(str(root), split="train", target_type="attr", download=True)
    except Exception as e:  # whatever the downloader raises (URLError,
        # RuntimeError, OSError, missing gdown, a damaged archive) the user needs the same advice.
        raise DataError(missing_files_message(name, root, e)) from None


def missing_files_message(name: str, root: Path, err: BaseException) -> str:
    """One line: why the dataset could not be got, and which files to put where instead."""
    # torchvision's MNIST error starts "Error downloading ...:" and ends with the real cause.
    reason = (str(err).strip().splitlines() or [type(err).__name__])[-1].strip()[:160]
    if name in ("mnist", "fashion-mnist"):
        title = "MNIST" if name == "mnist" else "Fashion-MNIST"
        folder = root / ("MNIST" if name == "mnist" else "FashionMNIST") / "raw"
        files = ", ".join(_MNIST_FILES)
        where = f"put {files} in {folder}"
    elif name == "cifar10":
        title = "CIFAR-10"
        where = f"put cifar-10-python.tar.gz in {root}"
    else:
        title = "CelebA"
        where = (
            f"put {', '.join(_CELEBA_FILES)} in {root / 'celeba'} (the zip may be replaced "
            "by its extracted img_align_celeba folder)"
        )
    return (
        f"could not download {title} ({reason}); to use it offline, download the files "
        f"elsewhere and {where}, then load again"
    )


def _arrays(
    ds: Any, name: str, size: int, device: torch.device | str, max_bytes: int
) -> ImageData | StreamingData:
    """MNIST / Fashion-MNIST (N, 28, 28) tensors or CIFAR-10 (N, 32, 32, 3) numpy, as NCHW."""
    data = torch.as_tensor(ds.data)
    data = data.unsqueeze(1) if data.dim() == 3 else data.permute(0, 3, 1, 2)  # (N, C, H, W)
    labels = torch.as_tensor(ds.targets, dtype=torch.long)
    class_names = [c.split(" - ")[0] for c in ds.classes]  # MNIST's "0 - zero" -> "0"
    n, c = data.shape[:2]
    report = LoadReport(loaded=n)
    if n * c * size * size > max_bytes:
        dataset = _ResizedArrayDataset(data, labels, size)
        return StreamingData(dataset, class_names, c, size, device, name=name, report=report)
    return ImageData(resize_uint8(data, size), labels, class_names, name=name, report=report).to(
        device
    )


def resize_uint8(images: torch.Tensor, size: int) -> torch.Tensor:
    """(N, C, H, W) uint8 -> (N, C, size, size) uint8, antialiased bilinear, in chunks."""
    if images.shape[-2:] == (size, size):
        return images.contiguous()
    out = torch.empty((len(images), images.shape[1], size, size), dtype=torch.uint8)
    for i in range(0, len(images), _CHUNK):
        x = F.interpolate(
            images[i : i + _CHUNK].float(),
            size=(size, size),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )
        out[i : i + _CHUNK] = x.round_().clamp_(0, 255).to(torch.uint8)
    return out


class _ResizedArrayDataset(torch.utils.data.Dataset):
    """Items (uint8 (C, size, size), label) resized one at a time from a raw (N, C, H, W) array."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, size: int):
        self.images, self.labels, self.size = images, labels, size

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return resize_uint8(self.images[index : index + 1], self.size)[0], int(self.labels[index])


def _celeba(
    ds: Any, size: int, device: torch.device | str, max_bytes: int,
    progress: LoadProgress | None = None,
) -> ImageData | StreamingData:
    folder = Path(ds.root) / ds.base_folder / "img_align_celeba"
    paths = [str(folder / f) for f in ds.filename]
    attributes = ds.attr.float()  # (N, 40) 0/1; torchvision already maps -1/1 to 0/1
    names = [a for a in ds.attr_names if a]  # the header line ends in a space: one empty name
    report = LoadReport()
    if len(paths) * 3 * size * size > max_bytes:
        report.loaded = len(paths)
        dataset = ImageFileDataset(paths, [-1] * len(paths), size, 3)
        return StreamingData(
            dataset, [], 3, size, device, name="celeba", attribute_names=names, report=report,
            attributes=attributes,
        )
    # The aligned faces are 178 x 218; decode_image centre-crops them to 178 x 178.
    images, kept, failed = decode_all(paths, size, 3, progress)
    report.loaded = len(kept)
    report.skipped = [(Path(paths[i]).name, reason) for i, reason in failed]
    return ImageData(images, None, [], attributes[kept], names, name="celeba", report=report).to(
        device
    )
