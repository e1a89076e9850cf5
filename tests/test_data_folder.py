"""Image folders: layout, mode conversion, skipped files, attributes CSV, streaming."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from trainer.config import DataConfig
from trainer.data import DataError, ImageData, StreamingData, in_memory, load_dataset
from trainer.data.folder import load_image_folder


def _save(path: Path, img: Image.Image, fmt: str = "PNG", **kw: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, fmt, **kw)
    return path


def _rgb(path: Path, color: tuple[int, int, int] = (200, 30, 10), size: int = 12) -> Path:
    return _save(path, Image.new("RGB", (size, size), color))


def _gray(path: Path, value: int = 100, size: int = 12) -> Path:
    return _save(path, Image.new("L", (size, size), value))


def _truncated(path: Path, fmt: str) -> Path:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, fmt)
    data = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def test_class_subfolders_give_labels(tmp_path: Path) -> None:
    for i in range(3):
        _rgb(tmp_path / "dogs" / f"d{i}.png")
    for i in range(2):
        _rgb(tmp_path / "cats" / "nested" / f"c{i}.png", (0, 0, 255))
    _rgb(tmp_path / "stray.png")
    _rgb(tmp_path / ".hidden" / "h.png")
    _rgb(tmp_path / "cats" / ".thumb.png")
    d = load_image_folder(tmp_path, 8)
    assert isinstance(d, ImageData)
    assert d.class_names == ["cats", "dogs"]
    assert d.images.shape == (5, 3, 8, 8) and d.images.dtype == torch.uint8
    assert sorted(d.labels.tolist()) == [0, 0, 1, 1, 1]
    blue = d.images[:, 2, 4, 4] > 200
    assert torch.equal(blue, d.labels == 0)  # the cats are the blue ones
    assert d.report.loaded == 5
    assert d.report.skipped == [("stray.png", "outside class folders")]
    assert d.name == tmp_path.name


def test_flat_folder_is_unconditional(tmp_path: Path) -> None:
    for i in range(4):
        _rgb(tmp_path / f"{i}.jpg", size=20)
    d = load_image_folder(tmp_path, 16)
    assert d.labels is None and d.class_names == [] and d.n_classes == 0
    assert d.images.shape == (4, 3, 16, 16)


def test_single_class_folder_is_unconditional(tmp_path: Path) -> None:
    _rgb(tmp_path / "only" / "a.png")
    _rgb(tmp_path / "only" / "b.png")
    d = load_image_folder(tmp_path, 8)
    assert d.labels is None and d.class_names == [] and len(d) == 2


def test_grayscale_only_is_one_channel(tmp_path: Path) -> None:
    _gray(tmp_path / "a.png", 100)
    _save(tmp_path / "b.png", Image.new("1", (12, 12), 1))
    d = load_image_folder(tmp_path, 8)
    assert d.channels == 1
    assert d.images[0].float().mean() == pytest.approx(100, abs=1)
    assert d.images[1].min() == 255


def test_mixed_modes_are_rgb(tmp_path: Path) -> None:
    _gray(tmp_path / "a.png", 100)
    _rgb(tmp_path / "b.png", (200, 30, 10))
    d = load_image_folder(tmp_path, 8)
    assert d.channels == 3
    assert d.images[0, :, 4, 4].tolist() == [100, 100, 100]
    assert d.images[1, :, 4, 4].tolist() == [200, 30, 10]


def test_alpha_palette_and_16_bit_conversions(tmp_path: Path) -> None:
    # Fully transparent red: composited on white it must come out white, not red or black.
    _save(tmp_path / "rgba.png", Image.new("RGBA", (12, 12), (255, 0, 0, 0)))
    # Half-transparent black on white -> mid grey.
    _save(tmp_path / "la.png", Image.new("LA", (12, 12), (0, 128)))
    pal = Image.new("P", (12, 12), 1)
    pal.putpalette([0, 255, 0] + [0, 0, 0] * 255)  # index 0 green, index 1 black
    _save(tmp_path / "pal.png", pal, transparency=1)  # black is transparent -> white
    _save(tmp_path / "white16.png", Image.fromarray(np.full((12, 12), 65535, np.uint16)))
    _save(tmp_path / "mid16.png", Image.fromarray(np.full((12, 12), 32896, np.uint16)))
    assert Image.open(tmp_path / "white16.png").mode == "I;16"
    d = load_image_folder(tmp_path, 8)
    px = {
        name: d.images[i, :, 4, 4].tolist()
        for i, name in enumerate(["la", "mid16", "pal", "rgba", "white16"])
    }  # files load in sorted order
    assert px["rgba"] == [255, 255, 255]
    assert all(abs(v - 127) <= 2 for v in px["la"])
    assert px["pal"] == [255, 255, 255]
    assert px["white16"] == [255, 255, 255]  # scaled, not clipped to 255 from 65535 by luck
    assert all(abs(v - 128) <= 1 for v in px["mid16"])  # scaled: clipping would give 255


def test_non_rectangular_images_are_centre_cropped(tmp_path: Path) -> None:
    img = Image.new("RGB", (30, 10), (255, 0, 0))
    img.paste((0, 0, 255), (10, 0, 20, 10))  # blue middle third
    _save(tmp_path / "wide.png", img)
    d = load_image_folder(tmp_path, 8)
    assert (d.images[0, 2] > 200).all() and (d.images[0, 0] < 50).all()


def test_corrupt_and_non_image_files_are_skipped(tmp_path: Path) -> None:
    _rgb(tmp_path / "good.png")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "fake.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    _truncated(tmp_path / "cut.jpg", "JPEG")
    _truncated(tmp_path / "cut.png", "PNG")
    d = load_image_folder(tmp_path, 8)
    assert len(d) == 1 and d.report.loaded == 1
    skipped = dict(d.report.skipped)
    assert set(skipped) == {"notes.txt", "fake.png", "cut.jpg", "cut.png"}
    assert skipped["notes.txt"] == "not an image"
    assert skipped["cut.png"] == "corrupt/truncated"
    assert "4 files skipped" in d.report.summary()


def test_empty_and_missing_folders_are_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="empty"):
        load_image_folder(tmp_path, 8)
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match="looked at 1 files"):
        load_image_folder(tmp_path, 8)
    with pytest.raises(DataError, match="does not exist"):
        load_image_folder(tmp_path / "nope", 8)
    with pytest.raises(DataError, match="not a folder"):
        load_image_folder(tmp_path / "readme.txt", 8)


def _celeb_folder(tmp_path: Path) -> Path:
    root = tmp_path / "imgs"
    for name in ("a.png", "b.png", "c.png"):
        _rgb(root / name)
    return root


def test_attributes_csv_matches_and_maps_minus_one(tmp_path: Path) -> None:
    root = _celeb_folder(tmp_path)
    csv_path = tmp_path / "attrs.csv"
    csv_path.write_text("image,Smiling,age\nb.png,-1,30\na.png,1,20.5\nzz.png,1,1\n")
    d = load_image_folder(root, 8, csv_path)
    assert d.attribute_names == ["Smiling", "age"]
    assert d.attributes.dtype == torch.float32
    assert d.attributes.tolist() == [[1.0, 20.5], [0.0, 30.0]]  # a, b in file order
    assert d.report.skipped == [("c.png", "no row in attributes CSV")]


def test_attributes_celeba_txt_format(tmp_path: Path) -> None:
    root = _celeb_folder(tmp_path)
    txt = tmp_path / "list_attr_celeba.txt"
    txt.write_text("3\nBald Smiling \na.png  1 -1\nb.png -1  1\nc.png -1 -1\n")
    d = load_image_folder(root, 8, txt)
    assert d.attribute_names == ["Bald", "Smiling"]
    assert d.attributes.tolist() == [[1, 0], [0, 1], [0, 0]]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("file,x\na.png,big\n", r"data row 1, column 'x': 'big' is not a number"),
        ("file,x\na.png,1,2\n", "has 3 columns"),
        ("file\na.png\n", "no attribute columns"),
        ("file,x\n", "at least one data row"),
        ("file,x\nq.png,1\n", "names none of the 3 files"),
    ],
)
def test_malformed_attributes_csv(tmp_path: Path, text: str, match: str) -> None:
    root = _celeb_folder(tmp_path)
    csv_path = tmp_path / "attrs.csv"
    csv_path.write_text(text)
    with pytest.raises(DataError, match=match):
        load_image_folder(root, 8, csv_path)
    with pytest.raises(DataError, match="not found"):
        load_image_folder(root, 8, tmp_path / "missing.csv")


def test_streaming_when_over_memory_budget(tmp_path: Path) -> None:
    for i in range(5):
        _rgb(tmp_path / "x" / f"{i}.png", (10 * i, 0, 0))
        _gray(tmp_path / "y" / f"{i}.png", 20 * i)
    (tmp_path / "x" / "junk.png").write_bytes(b"not a png")
    d = load_image_folder(tmp_path, 8, max_in_memory_bytes=100)
    assert isinstance(d, StreamingData)
    assert len(d) == 10 and d.channels == 3 and d.class_names == ["x", "y"]
    assert d.report.skipped == [("x/junk.png", "not an image")]
    img, label = d.dataset[7]
    assert img.shape == (3, 8, 8) and img.dtype == torch.uint8 and label == 1
    x, y = d.batch(4, torch.Generator().manual_seed(0))
    assert x.shape == (4, 3, 8, 8) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    assert y.shape == (4,)
    # Stop the loader's persistent workers now: left to the garbage collector, the cycle
    # StreamingData -> generator -> StreamingData takes ~10 s to shut them down.
    d.close()


def test_a_streamed_folder_gives_a_fixed_in_memory_sample(tmp_path: Path) -> None:
    """eval and the attribute model need random access: they take a seeded sample in memory."""
    for i in range(6):
        _rgb(tmp_path / "x" / f"{i}.png", (40 * i + 20, 0, 0))
        _rgb(tmp_path / "y" / f"{i}.png", (0, 40 * i + 20, 0))
    csv_path = tmp_path / "attrs.csv"
    rows = [f"{c}/{i}.png,{i},{int(c == 'y')}" for c in "xy" for i in range(6)]
    csv_path.write_text("file,level,is_y\n" + "\n".join(rows) + "\n")
    whole = load_image_folder(tmp_path, 8, csv_path)
    streamed = load_image_folder(tmp_path, 8, csv_path, max_in_memory_bytes=100)
    assert isinstance(whole, ImageData) and isinstance(streamed, StreamingData)
    assert torch.equal(streamed.attributes, whole.attributes)

    a = streamed.in_memory_sample(5, seed=3)
    b = streamed.in_memory_sample(5, seed=3)
    assert len(a) == 5 and torch.equal(a.images, b.images)  # the same seed, the same images
    # each sampled image keeps its own label and attribute row
    for img, label, attr in zip(a.images, a.labels, a.attributes, strict=True):
        j = next(j for j in range(len(whole)) if torch.equal(whole.images[j], img))
        assert label == whole.labels[j] and torch.equal(attr, whole.attributes[j])

    sample, note = in_memory(streamed, max_bytes=7 * 3 * 8 * 8)
    assert len(sample) == 7 and "a fixed random 7 of its 12 images" in note
    assert in_memory(whole) == (whole, "")


def test_load_dataset_dispatch(tmp_path: Path) -> None:
    d = load_dataset(DataConfig(dataset="shapes", size=8, n_images=16), "cpu")
    assert isinstance(d, ImageData) and d.images.shape == (16, 3, 8, 8) and d.n_classes == 5
    _gray(tmp_path / "a.png")
    d = load_dataset(DataConfig(dataset="folder", size=8, path=str(tmp_path)), "cpu")
    assert d.images.shape == (1, 1, 8, 8)


def test_loading_reports_decoding_progress(tmp_path: Path) -> None:
    for i in range(9):
        _rgb(tmp_path / f"{i}.png", (20 * i, 0, 0))
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    calls: list[tuple[int, int]] = []
    d = load_dataset(DataConfig(dataset="folder", path=str(tmp_path), size=8),
                     progress=lambda done, total: calls.append((done, total)))
    assert len(d) == 9 and calls[-1] == (9, 9)  # the bad header is skipped before decoding
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
