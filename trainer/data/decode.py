"""Decoding image files to fixed-size uint8 tensors, shared by image folders and CelebA.

Every file goes through ``decode_image``: 16-bit, palette, alpha, bilevel and CMYK images are
converted to 8-bit L or RGB (alpha composited on white), then centre-cropped to a square and
resized. ``decode_all`` does a whole list with a thread pool (PIL releases the GIL while it
decodes and resizes); ``ImageFileDataset`` does one file per item for streaming.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from trainer.data.base import DataError

# Header modes that hold no colour: a dataset made only of these is kept as 1 channel.
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
# Integer modes whose values span 0..65535 ("I" is assumed to come from a 16-bit source, which is
# how PIL opens 16-bit TIFFs and, in older versions, 16-bit PNGs).
_WIDE_INT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
# What PIL raises for files it cannot open or decode. UnidentifiedImageError and PermissionError
# are OSError subclasses; ``skip_reason`` tells them apart.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)
# A streaming item whose file fails to decode is replaced by one of the next few files, so one
# bad file found late does not end a long run.
_STREAM_RETRIES = 8


def skip_reason(err: BaseException) -> str:
    """A short, user-facing reason for a file that could not be read as an image."""
    if isinstance(err, UnidentifiedImageError):
        return "not an image"
    if isinstance(err, FileNotFoundError):  # listed a moment ago: a dangling symlink, mostly
        link = err.filename and os.path.islink(err.filename)
        return "broken link (its target is missing)" if link else "missing (removed meanwhile)"
    if isinstance(err, PermissionError):
        return "unreadable (permission denied)"
    if isinstance(err, Image.DecompressionBombError):
        return "too large (decompression bomb)"
    return "corrupt/truncated"


def quiet_bomb_warnings() -> None:
    """Keep PIL's DecompressionBombWarning off the console. PIL warns for images between
    ``Image.MAX_IMAGE_PIXELS`` and twice that, which it still decodes; Latent Lab decodes them too
    and lists them in the LoadReport ("very large"). Above twice the limit PIL raises
    DecompressionBombError and the file is skipped as "too large". Call before decoding."""
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def is_very_large(pixels: int) -> bool:
    """Over PIL's decompression-bomb warning limit (about 89 Mpx)."""
    limit = Image.MAX_IMAGE_PIXELS
    return limit is not None and pixels > limit


def read_header(path: str | Path, verify: bool = False) -> tuple[str, int]:
    """(image mode, width * height) from the file's header only (cheap: no pixel data is
    decoded).

    With ``verify`` PIL also checks the file's structure (for PNG: every chunk's CRC), which
    catches most truncated or damaged files without decoding them. Raises DECODE_ERRORS.
    """
    with Image.open(path) as img:
        mode, pixels = img.mode, img.width * img.height
        if verify:
            img.verify()
    return mode, pixels


def read_mode(path: str | Path, verify: bool = False) -> str:
    """The image mode from the file's header only (see ``read_header``)."""
    return read_header(path, verify)[0]


def to_8bit(img: Image.Image, channels: int) -> Image.Image:
    """Convert any PIL mode to "L" (channels 1) or "RGB" (channels 3), alpha on white."""
    if img.mode in _WIDE_INT_MODES:
        # Scale 0..65535 to 0..255; PIL's own convert("L") would clip instead of scale.
        a = np.asarray(img).astype(np.float32)
        img = Image.fromarray(np.clip(a / 257.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif img.mode in ("P", "PA") and (img.mode == "PA" or "transparency" in img.info):
        img = img.convert("RGBA")
    elif img.mode in ("RGBa", "La"):  # premultiplied alpha
        img = img.convert(img.mode.upper())
    if img.mode in ("RGBA", "LA"):
        bg = Image.new(img.mode[:-1], img.size, "white")
        bg.paste(img.convert(bg.mode), mask=img.getchannel("A"))
        img = bg
    target = "L" if channels == 1 else "RGB"
    return img if img.mode == target else img.convert(target)


def square_resize(img: Image.Image, size: int) -> Image.Image:
    """Centre-crop to a square (the shorter side) and resize to size x size."""
    w, h = img.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    return img.resize(
        (size, size), Image.Resampling.LANCZOS, box=(left, top, left + s, top + s), reducing_gap=3.0
    )


def decode_image(path: str | Path, size: int, channels: int) -> torch.Tensor:
    """Decode one file to a (channels, size, size) uint8 tensor. Raises DECODE_ERRORS."""
    with Image.open(path) as img:
        # JPEG can decode at 1/2, 1/4 or 1/8 scale almost for free; asking for twice the target
        # leaves the resize filter enough detail.
        img.draft(None, (2 * size, 2 * size))
        img.load()  # inside the caller's try: truncated files fail here, not later
        ImageOps.exif_transpose(img, in_place=True)  # phone photos store rotation in EXIF
        out = square_resize(to_8bit(img, channels), size)
    arr = np.array(out).reshape(size, size, channels)  # copy: PIL's buffer is read-only
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


LoadProgress = Callable[[int, int], None]  # (images decoded, images in all)
PROGRESS_INTERVAL_S = 0.25


def decode_all(
    paths: list[str], size: int, channels: int, progress: LoadProgress | None = None
) -> tuple[torch.Tensor, list[int], list[tuple[int, str]]]:
    """Decode files in parallel into one tensor.

    Returns (images (K, channels, size, size) uint8 for the K files that decoded, their indices
    into ``paths``, and (index, reason) for the files that failed). ``progress(done, total)`` is
    called from the pool's threads a few times a second, and once at the end.
    """
    quiet_bomb_warnings()
    out = torch.empty((len(paths), channels, size, size), dtype=torch.uint8)
    done = [0, 0.0]  # files decoded, time of the last report
    lock = threading.Lock()

    def work(i: int) -> str | None:
        try:
            out[i] = decode_image(paths[i], size, channels)
        except DECODE_ERRORS as e:
            return skip_reason(e)
        finally:
            if progress is not None:
                with lock:
                    done[0] += 1
                    now = time.monotonic()
                    report = done[0] == len(paths) or now - done[1] >= PROGRESS_INTERVAL_S
                    if report:
                        done[1] = now
                        progress(done[0], len(paths))
        return None

    with ThreadPoolExecutor() as pool:
        reasons = list(pool.map(work, range(len(paths))))
    kept = [i for i, r in enumerate(reasons) if r is None]
    failed = [(i, r) for i, r in enumerate(reasons) if r is not None]
    # Close the gaps in place rather than index-copying the whole (possibly GiB-sized) tensor.
    for j, i in enumerate(kept):
        if i != j:
            out[j] = out[i]
    return out[: len(kept)], kept, failed


class ImageFileDataset(torch.utils.data.Dataset):
    """Decodes one file per item for StreamingData: (uint8 (C, size, size), label int or -1).

    Files are only header-checked up front, so a file that still fails to decode is replaced by
    the next one that does (up to a few tries) instead of stopping training.
    """

    def __init__(self, paths: list[str], labels: list[int], size: int, channels: int):
        self.paths = list(paths)
        self.labels = list(labels)
        self.size, self.channels = size, channels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        quiet_bomb_warnings()  # DataLoader workers are fresh processes
        for k in range(_STREAM_RETRIES):
            j = (index + k) % len(self.paths)
            try:
                return decode_image(self.paths[j], self.size, self.channels), self.labels[j]
            except DECODE_ERRORS:
                continue
        raise DataError(
            f"{_STREAM_RETRIES} image files in a row failed to decode, starting at "
            f"{self.paths[index]}; remove the damaged files and start again"
        )
