"""torchvision sets without network: a fake MNIST on disk, stand-ins for CIFAR-10 and CelebA,
and the no-network message."""

from __future__ import annotations

import struct
import time
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torchvision.datasets as tvd
from PIL import Image

from trainer.data import DataError, ImageData, StreamingData
from trainer.data.torchvision_sets import load_torchvision, resize_uint8


def _write_idx(path: Path, array: np.ndarray) -> None:
    """The MNIST idx format: magic (0, 0, 8 = uint8, ndim), big-endian dims, raw bytes."""
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _fake_mnist(root: Path, n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    # torchvision accepts the extracted files as they are, so it never tries to download.
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        images[i, :, : 4 * (i + 1)] = 255  # a white band whose width grows with i
    labels = np.arange(n) % 10
    for split in ("train", "t10k"):
        _write_idx(raw / f"{split}-images-idx3-ubyte", images)
        _write_idx(raw / f"{split}-labels-idx1-ubyte", labels)
    return images, labels


def test_fake_mnist_loads_through_torchvision(tmp_path: Path) -> None:
    images, labels = _fake_mnist(tmp_path)
    d = load_torchvision("mnist", 16, tmp_path)
    assert isinstance(d, ImageData)
    assert d.images.shape == (6, 1, 16, 16) and d.images.dtype == torch.uint8
    assert d.class_names == [str(i) for i in range(10)]
    assert d.labels.tolist() == labels.tolist()
    white = (d.images[:, 0].float() / 255).mean((1, 2))  # band width fraction survives resizing
    assert torch.allclose(
        white, torch.tensor((np.arange(6) + 1) * 4 / 28, dtype=torch.float32), atol=0.03
    )


def test_fake_mnist_streams_over_budget(tmp_path: Path) -> None:
    _fake_mnist(tmp_path)
    d = load_torchvision("mnist", 8, tmp_path, max_in_memory_bytes=10)
    assert isinstance(d, StreamingData) and len(d) == 6 and d.channels == 1
    img, label = d.dataset[2]
    assert img.shape == (1, 8, 8) and img.dtype == torch.uint8 and label == 2


class _FakeCIFAR10:
    def __init__(self, root: str, train: bool, download: bool) -> None:
        self.data = np.zeros((4, 32, 32, 3), np.uint8)  # HWC, like torchvision's
        self.data[:, :, :, 1] = 200
        self.targets = [0, 1, 2, 3]
        self.classes = ["airplane", "automobile", "bird", "cat"]


def test_cifar_arrays(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tvd, "CIFAR10", _FakeCIFAR10)
    d = load_torchvision("cifar10", 16, tmp_path)
    assert d.images.shape == (4, 3, 16, 16) and d.class_names[0] == "airplane"
    assert d.images[:, 1].eq(200).all() and d.images[:, 0].eq(0).all()
    assert torch.equal(
        load_torchvision("cifar10", 32, tmp_path).images[:, 1],
        torch.full((4, 32, 32), 200, dtype=torch.uint8),
    )


def test_celeba_crop_and_attributes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    names = ["000001.jpg", "000002.jpg", "000003.jpg"]
    for name in names[:2]:
        img = Image.new("RGB", (178, 218), (255, 0, 0))  # red bands above and below the crop
        img.paste((0, 0, 255), (0, 20, 178, 198))
        img.save(folder / name, quality=95)
    (folder / names[2]).write_bytes(b"broken")

    class FakeCelebA:
        base_folder = "celeba"

        def __init__(self, root: str, split: str, target_type: str, download: bool) -> None:
            self.root, self.filename = root, names
            self.attr = torch.tensor([[1, 0], [0, 1], [1, 1]])
            self.attr_names = ["Bald", "Smiling", ""]

    monkeypatch.setattr(tvd, "CelebA", FakeCelebA)
    d = load_torchvision("celeba", 16, tmp_path)
    assert isinstance(d, ImageData) and d.labels is None and d.class_names == []
    assert d.attribute_names == ["Bald", "Smiling"]
    assert d.attributes.tolist() == [[1.0, 0.0], [0.0, 1.0]]  # the broken third one dropped
    assert d.report.skipped == [("000003.jpg", "not an image")]
    inner = d.images[:, :, 2:-2, 2:-2]  # JPEG chroma blocks smear the edges a little
    assert (inner[:, 2] > 220).all() and (inner[:, 0] < 35).all()  # only blue is left
    s = load_torchvision("celeba", 16, tmp_path, max_in_memory_bytes=10)
    assert isinstance(s, StreamingData) and s.attribute_names == ["Bald", "Smiling"]
    assert s.dataset[0][0].shape == (3, 16, 16)


def _offline(*args: object, **kwargs: object) -> None:
    raise URLError("[Errno -2] Name or service not known")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mnist", ["MNIST/raw", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]),
        ("fashion-mnist", ["FashionMNIST/raw", "train-labels-idx1-ubyte.gz"]),
        ("cifar10", ["cifar-10-python.tar.gz"]),
        (
            "celeba",
            ["celeba", "img_align_celeba.zip", "list_eval_partition.txt", "identity_CelebA.txt"],
        ),
    ],
)
def test_no_network_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, expected: list[str]
) -> None:
    # Patch torchvision's downloaders so the test never waits on DNS or a firewall.
    monkeypatch.setattr(tvd.mnist, "download_and_extract_archive", _offline)
    monkeypatch.setattr(tvd.cifar, "download_and_extract_archive", _offline)
    monkeypatch.setattr(tvd.celeba, "download_file_from_google_drive", _offline)
    t0 = time.perf_counter()
    with pytest.raises(DataError) as info:
        load_torchvision(name, 16, tmp_path)
    assert time.perf_counter() - t0 < 5
    msg = str(info.value)
    assert "\n" not in msg and "could not download" in msg
    for part in expected:
        assert part in msg
    assert str(tmp_path) in msg


def test_unknown_name() -> None:
    with pytest.raises(DataError, match="unknown dataset"):
        load_torchvision("imagenet", 16, "")


def test_resize_uint8_keeps_constant_images() -> None:
    x = torch.full((3, 2, 28, 28), 77, dtype=torch.uint8)
    y = resize_uint8(x, 8)
    assert y.shape == (3, 2, 8, 8) and y.eq(77).all()
