"""Write grids, strips and GIFs: atomically, with a clear ExportError for the user.

Every file is written to a temporary file in the target folder and renamed into place, so an
error or a cancel never leaves a half-written file (and never destroys an older file of the same
name). Images are (N, H, W, 3) uint8 arrays as the renderer returns them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from explorer.core.jobs import Steps
from trainer.errors import UserError
from trainer.fileio import DiskFullError, atomic_open
from trainer.images import make_grid

PAD_VALUE = 24  # dark grey between tiles, like the training preview grids
MAX_SCALE = 32
# Frames sampled to build a GIF's shared palette (more adds time, not colours).
PALETTE_FRAMES = 48


class ExportError(UserError):
    """An export cannot be done; the message is meant for the user."""


def file_stem(name: str, fallback: str = "export") -> str:
    """``name`` as a file name stem every file system takes: letters, digits, '.', '-' and '_'
    kept, any other run of characters (':' and spaces, say) one '_'.
    ``file_stem("sefa 1: size")`` is ``"sefa_1_size"``."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return stem or fallback


def check_output_path(path: Path | str, extensions: Sequence[str]) -> Path:
    """Raise ExportError unless ``path`` ends in one of ``extensions`` in a writable folder."""
    path = Path(path)
    exts = " or ".join(extensions)
    if path.suffix.lower() not in extensions:
        raise ExportError(f"'{path.name}' must end in {exts}")
    folder = path.parent
    if not folder.exists():
        raise ExportError(f"folder {folder} does not exist")
    if not folder.is_dir():
        raise ExportError(f"{folder} is not a folder")
    if path.is_dir():
        raise ExportError(f"{path} is a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"folder {folder} is not writable")
    return path


def _check_images(images: np.ndarray, what: str) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8 or not len(images):
        raise ExportError(f"{what} must be a non-empty (N, H, W, 3) uint8 array, got "
                          f"{images.shape} {images.dtype}")
    return images


def _check_scale(scale: int, pad: int) -> None:
    if not 1 <= scale <= MAX_SCALE:
        raise ExportError(f"scale must be between 1 and {MAX_SCALE} (got {scale})")
    if not 0 <= pad <= 256:
        raise ExportError(f"padding must be between 0 and 256 px (got {pad})")


def compose_grid(images: np.ndarray, cols: int | None = None, pad: int = 2,
                 scale: int = 1) -> np.ndarray:
    """(N, H, W, 3) -> one image; tiles upscaled by ``scale`` (nearest), ``pad`` px between."""
    images = _check_images(images, "images")
    _check_scale(scale, pad)
    tiles = images.repeat(scale, axis=1).repeat(scale, axis=2) if scale > 1 else images
    return make_grid(tiles, cols, pad, PAD_VALUE)


def _write(path: Path, write: Callable[[object], None]) -> Path:
    """Write atomically; the file gets the usual permissions (atomic_open applies the umask)."""
    try:
        with atomic_open(path, "wb") as f:
            write(f)
    except DiskFullError as e:
        raise ExportError(str(e)) from None
    except OSError as e:
        raise ExportError(f"cannot write {path}: {e.strerror or e}") from None
    return path


def save_png(image: np.ndarray, path: Path | str) -> Path:
    """One (H, W, 3) uint8 image to PNG."""
    path = check_output_path(path, (".png",))
    pil = Image.fromarray(np.ascontiguousarray(image), "RGB")
    return _write(path, lambda f: pil.save(f, format="PNG"))


def save_grid_png(images: np.ndarray, path: Path | str, cols: int | None = None, pad: int = 2,
                  scale: int = 1) -> Path:
    """Save (N, H, W, 3) uint8 samples as one PNG grid (``cols`` None: as square as possible)."""
    check_output_path(path, (".png",))
    return save_png(compose_grid(images, cols, pad, scale), path)


def save_png_strip(frames: np.ndarray, path: Path | str, pad: int = 2, scale: int = 1) -> Path:
    """Save (F, H, W, 3) frames side by side as one PNG strip."""
    frames = _check_images(frames, "frames")
    return save_grid_png(frames, path, len(frames), pad, scale)


def shared_palette(frames: np.ndarray) -> Image.Image:
    """One adaptive 256-colour palette for all frames, so colours do not flicker between frames.

    Median cut over a mosaic of up to PALETTE_FRAMES evenly spaced frames (at native size:
    upscaling adds no colours).
    """
    idx = np.unique(np.linspace(0, len(frames) - 1, min(len(frames), PALETTE_FRAMES)).astype(int))
    mosaic = np.concatenate([frames[i] for i in idx], axis=0)  # (k*H, W, 3)
    return Image.fromarray(mosaic, "RGB").quantize(
        256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def gif_frames(frames: np.ndarray, scale: int = 1,
               progress: Steps | None = None) -> list[Image.Image]:
    """(F, H, W, 3) uint8 -> F palette images sharing one palette, no dithering, upscaled."""
    frames = _check_images(frames, "frames")
    _check_scale(scale, 0)
    palette = shared_palette(frames)
    h, w = frames.shape[1:3]
    out = []
    for i, f in enumerate(frames):
        # Nearest-colour mapping without dither: GAN frames are smooth, and dither noise would
        # shimmer from frame to frame.
        p = Image.fromarray(f, "RGB").quantize(palette=palette, dither=Image.Dither.NONE)
        if scale > 1:
            p = p.resize((w * scale, h * scale), Image.Resampling.NEAREST)
        out.append(p)
        if progress is not None:
            progress(i + 1, len(frames))
    return out


def save_gif(frames: np.ndarray, path: Path | str, fps: float, loop: int = 0, scale: int = 1,
             progress: Steps | None = None) -> Path:
    """Save (F, H, W, 3) uint8 frames as an animated GIF at ``fps`` (loop=0: forever).

    GIF delays are in 1/100 s, so fps is honoured to that precision; above 50 fps browsers slow
    the animation down, hence the limit. Identical consecutive frames are merged by Pillow into
    one longer frame (same timing).
    """
    path = check_output_path(path, (".gif",))
    if not 0.1 <= fps <= 50:
        raise ExportError(f"fps must be between 0.1 and 50 (got {fps})")
    images = gif_frames(frames, scale, progress)
    duration = max(20, int(round(1000 / fps / 10)) * 10)  # ms, whole centiseconds
    first, rest = images[0], images[1:]
    return _write(path, lambda f: first.save(
        f, format="GIF", save_all=True, append_images=rest, duration=duration, loop=loop,
        optimize=False, disposal=1))


def save_morph(frames: np.ndarray, path: Path | str, fps: float, scale: int = 1, pad: int = 2,
               progress: Steps | None = None) -> Path:
    """A morph as GIF (by ``.gif``) or as a PNG strip (by ``.png``)."""
    path = check_output_path(path, (".gif", ".png"))
    if path.suffix.lower() == ".gif":
        return save_gif(frames, path, fps, scale=scale, progress=progress)
    return save_png_strip(frames, path, pad, scale)
