"""Image folders: one rule for class folders everywhere; oversized, dangling and duplicate
inputs are named for what they are."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest
from PIL import Image

from main import main
from trainer.data import DataError, has_classes
from trainer.data.attributes_csv import read_attributes_csv
from trainer.data.folder import folder_is_labelled, load_image_folder

TINY = ["--size", "8", "--width", "4", "--z-dim", "8", "--batch-size", "8", "--device", "cpu",
        "--n-critic", "1", "--steps", "2"]


def _png(path: Path, size: int = 12, color: tuple[int, int, int] = (200, 30, 10)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), color).save(path)


def _layout(root: Path, name: str) -> None:
    """Folders that the CLI, the window and the loader used to read differently."""
    root.mkdir()
    if name in ("flat", "one_class_and_root", "root_and_empty_dirs", "root_and_text_dir"):
        for i in range(4):
            _png(root / f"r{i}.png")
    if name in ("one_class", "one_class_and_root", "two_classes_and_extras", "two_and_stray"):
        for i in range(3):
            _png(root / "cats" / f"c{i}.png")
    if name in ("two_classes_and_extras", "two_and_stray"):
        for i in range(3):
            _png(root / "dogs" / "deep" / f"d{i}.png", color=(0, 0, 250))
    if name == "two_classes_and_extras":
        (root / "empty").mkdir()
        (root / "notes").mkdir()
        (root / "notes" / "readme.txt").write_text("not an image")
    if name == "two_and_stray":
        _png(root / "stray.png")
    if name == "root_and_empty_dirs":
        (root / "a").mkdir()
        (root / "b").mkdir()
    if name == "root_and_text_dir":
        (root / "extra").mkdir()
        (root / "extra" / "list.csv").write_text("x,y\n")


LAYOUTS = {  # layout -> the classes every reader must agree on
    "flat": [],
    "one_class": [],
    "one_class_and_root": [],
    "root_and_empty_dirs": [],
    "root_and_text_dir": [],
    "two_classes_and_extras": ["cats", "dogs"],
    "two_and_stray": ["cats", "dogs"],
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_cli_window_and_loader_agree_on_classes(tmp_path, name):
    root = tmp_path / "data"
    _layout(root, name)
    loaded = load_image_folder(root, 8)
    assert loaded.class_names == LAYOUTS[name]
    assert folder_is_labelled(root) == bool(LAYOUTS[name])  # the CLI's default
    assert has_classes("folder", str(root)) == bool(LAYOUTS[name])  # the window's
    if not LAYOUTS[name]:  # one class folder, or folders without images: every image is used
        assert len(loaded) == sum(1 for p in root.rglob("*.png"))


@pytest.mark.parametrize("name", ["one_class", "root_and_text_dir", "one_class_and_root"])
def test_cli_trains_a_folder_with_one_or_imageless_sub_folders(tmp_path, capsys, name):
    root = tmp_path / "data"
    _layout(root, name)
    run = tmp_path / "run"
    assert main(["train", "--dataset", "folder", "--data-path", str(root), "--out", str(run),
                 *TINY]) == 0, capsys.readouterr().err
    assert json.loads((run / "config.json").read_text())["model"]["conditional"] is False


def test_cli_trains_two_classes_conditionally(tmp_path, capsys):
    root = tmp_path / "data"
    _layout(root, "two_classes_and_extras")
    run = tmp_path / "run"
    assert main(["train", "--dataset", "folder", "--data-path", str(root), "--out", str(run),
                 *TINY]) == 0, capsys.readouterr().err
    assert json.loads((run / "config.json").read_text())["model"]["conditional"] is True


def test_decompression_bomb_warning_is_a_report_line_not_a_raw_warning(tmp_path, monkeypatch):
    for i in range(2):
        _png(tmp_path / f"small{i}.png", size=8)  # 64 px: under the (lowered) limit
    _png(tmp_path / "big.png", size=12)  # 144 px: over the limit, under twice it: PIL warns
    _png(tmp_path / "bomb.png", size=16)  # 256 px: over twice the limit: PIL refuses
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        d = load_image_folder(tmp_path, 8)
    assert not [w for w in seen if issubclass(w.category, Image.DecompressionBombWarning)]
    assert len(d) == 3
    assert d.report.very_large == ["big.png"]
    assert d.report.skipped == [("bomb.png", "too large (decompression bomb)")]
    assert "1 very large" in d.report.summary() and "big.png" in d.report.summary()


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_dangling_symlink_is_a_broken_link_not_corrupt(tmp_path):
    for i in range(2):
        _png(tmp_path / f"{i}.png")
    (tmp_path / "gone.png").symlink_to(tmp_path / "nowhere.png")
    d = load_image_folder(tmp_path, 8)
    assert len(d) == 2
    assert d.report.skipped == [("gone.png", "broken link (its target is missing)")]
    assert "1 broken link" in d.report.summary()


@pytest.mark.parametrize("header,column", [
    ("filename,Smiling,Male,Smiling", "Smiling"),
    ("filename,hue,Hue", "Hue"),
])
def test_duplicate_attribute_columns_are_an_error_naming_the_column(tmp_path, header, column):
    csv = tmp_path / "attrs.csv"
    n = header.count(",")
    csv.write_text(header + "\n" + "a.png" + ",1" * n + "\n")
    with pytest.raises(DataError, match=f"has the column '{column}' twice"):
        read_attributes_csv(csv)


def test_duplicate_attribute_columns_stop_train_with_one_line(tmp_path, capsys):
    root = tmp_path / "data"
    for i in range(4):
        _png(root / f"{i}.png")
    csv = tmp_path / "attrs.csv"
    csv.write_text("filename,smile,smile\n" + "".join(f"{i}.png,1,0\n" for i in range(4)))
    run = tmp_path / "run"
    assert main(["train", "--dataset", "folder", "--data-path", str(root), "--attributes-csv",
                 str(csv), "--out", str(run), *TINY]) == 1
    err = capsys.readouterr().err
    assert "column 'smile' twice" in err and "Traceback" not in err
    assert not run.exists()
