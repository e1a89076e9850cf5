"""Exports: PNG grids, strips and GIFs are exact, atomic and fail with a clear ExportError."""

import os

import numpy as np
import pytest
from gif_frames import read_gif
from PIL import Image

from explorer.core.jobs import Cancelled
from explorer.core.latent.export import (
    ExportError,
    compose_grid,
    save_gif,
    save_grid_png,
    save_morph,
    save_png_strip,
)


def smooth_frames(n: int = 12, size: int = 16) -> np.ndarray:
    """(n, size, size, 3) uint8 like a morph of GAN samples: a soft-edged disc on a shaded
    background, moving while its colour changes from orange to blue."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    out = []
    for t in np.linspace(0, 1, n):
        d = np.hypot(xx - 0.3 - 0.4 * t, yy - 0.5)
        mask = np.clip((0.3 - d) * 12, 0, 1)[..., None]  # soft edge
        fg = np.array([230, 120, 30]) * (1 - t) + np.array([40, 90, 220]) * t
        bg = (60 + 80 * yy)[..., None] * np.array([1.0, 1.0, 0.9])
        out.append(mask * fg + (1 - mask) * bg)
    return np.round(np.stack(out)).astype(np.uint8)


def no_temp_files(folder) -> bool:
    return not [p for p in os.listdir(folder) if p.endswith(".tmp")]


def test_grid_png_is_exact(tmp_path):
    tiles = np.random.default_rng(0).integers(0, 256, (5, 4, 4, 3), dtype=np.uint8)
    out = save_grid_png(tiles, tmp_path / "g.png", cols=3, pad=1, scale=2)
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == (2 * 9 + 1, 3 * 9 + 1, 3)
    np.testing.assert_array_equal(img, compose_grid(tiles, 3, 1, 2))
    np.testing.assert_array_equal(img[1:9:2, 1:9:2], tiles[0])  # nearest upscale: crisp
    np.testing.assert_array_equal(img[10:18:2, 10:18:2], tiles[4])
    assert no_temp_files(tmp_path)
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask  # not the temp file's 0600


def test_png_strip(tmp_path):
    frames = smooth_frames(4, 8)
    out = save_png_strip(frames, tmp_path / "s.png", pad=2)
    img = np.asarray(Image.open(out))
    assert img.shape == (12, 4 * 10 + 2, 3)
    np.testing.assert_array_equal(img[2:10, 12:20], frames[1])


def test_gif_frames_timing_and_palette_quality(tmp_path):
    frames = smooth_frames(12, 16)
    out = save_gif(frames, tmp_path / "m.gif", fps=20, scale=3)
    decoded, im = read_gif(out)
    assert len(decoded) == 12 and im.size == (48, 48)
    assert im.info["loop"] == 0 and im.info["duration"] == 50
    for f, d in zip(frames, decoded, strict=True):
        err = np.abs(d[::3, ::3].astype(int) - f.astype(int))
        assert err.mean() < 3 and err.max() < 24  # a shared adaptive palette, no dither noise
        np.testing.assert_array_equal(d[0::3, 0::3], d[2::3, 2::3])  # crisp upscale


def test_gif_progress_and_cancel_leave_nothing(tmp_path):
    seen = []
    save_gif(smooth_frames(5), tmp_path / "a.gif", 10, progress=lambda i, n: seen.append((i, n)))
    assert seen[-1] == (5, 5)

    def cancel(i, n):
        if i == 3:
            raise Cancelled

    with pytest.raises(Cancelled):
        save_gif(smooth_frames(5), tmp_path / "b.gif", 10, progress=cancel)
    assert not (tmp_path / "b.gif").exists() and no_temp_files(tmp_path)


def test_morph_dispatch_by_extension(tmp_path):
    frames = smooth_frames(3, 8)
    save_morph(frames, tmp_path / "m.gif", 10)
    save_morph(frames, tmp_path / "m.png", 10, pad=0)
    assert Image.open(tmp_path / "m.gif").n_frames == 3
    assert Image.open(tmp_path / "m.png").size == (24, 8)


@pytest.mark.parametrize("name,needle", [
    ("missing/g.png", "does not exist"),
    ("file.txt/g.png", "is not a folder"),
    ("g.jpg", "must end in .png"),
    ("sub", "is a folder"),
])
def test_bad_paths(tmp_path, name, needle):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "sub.png").mkdir()
    path = tmp_path / ("sub.png" if name == "sub" else name)
    with pytest.raises(ExportError, match=needle):
        save_grid_png(smooth_frames(2, 4), path)


def test_write_failure_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "g.png"
    target.write_bytes(b"old")

    def broken_save(self, fp, *a, **k):
        fp.write(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(ExportError, match="No space left"):
        save_grid_png(smooth_frames(2, 4), target)
    assert target.read_bytes() == b"old" and no_temp_files(tmp_path)


def test_bad_values():
    with pytest.raises(ExportError, match="scale"):
        compose_grid(smooth_frames(2, 4), scale=0)
    with pytest.raises(ExportError, match="uint8"):
        compose_grid(np.zeros((2, 4, 4, 3), np.float32))
