"""Training time-lapse: a run's preview grids (previews/step_*.png) as one looping GIF.

Qt-free so the CLI can use it too. The GIF is written to a temporary file beside the target and
renamed into place, so a failed export never leaves a half-written file under the real name.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from explorer.core.jobs import Steps
from trainer.errors import UserError
from trainer.runfolder import RunFolder

_STEP = re.compile(r"step_(\d+)\.png$")


class TimelapseError(UserError):
    """The time-lapse cannot be written; the message is for the user."""


def preview_frames(run_dir: Path | str) -> list[tuple[int, Path]]:
    """(step, path) of every preview grid of a run folder, in step order."""
    found = []
    for p in RunFolder(run_dir).preview_files():
        m = _STEP.search(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def write_timelapse_gif(frames: list[tuple[int, Path]], out: Path | str, fps: float = 8.0,
                        min_width: int = 384, hold_last_s: float = 2.0,
                        caption: bool = True, progress: Steps | None = None) -> int:
    """Write the frames as a looping GIF; returns the number of frames written. ``progress``
    counts the frames read (it may raise Cancelled: nothing is written then).

    Small grids (8 px tiles) are upscaled by an integer factor with nearest-neighbour sampling
    so pixels stay crisp; the last frame is held for ``hold_last_s`` (by its duration, not by
    repeating it, so the frame count equals the number of previews).
    """
    out = Path(out)
    if not frames:
        raise TimelapseError("this run has no preview grids yet (previews/step_*.png); train "
                             "it for a while first")
    images = []
    for step, path in frames:
        images.append(_load_frame(path, step, min_width, caption))
        if progress is not None:
            progress(len(images), len(frames))
    size = images[-1].size
    # A resumed run at a different size would give mixed sizes; GIF frames must share one.
    images = [im if im.size == size else im.resize(size, Image.Resampling.NEAREST)
              for im in images]
    frame_ms = max(20, round(1000 / max(fps, 0.1)))
    durations = [frame_ms] * len(images)
    durations[-1] = max(frame_ms, round(hold_last_s * 1000))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as e:
        raise TimelapseError(f"cannot write {out}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            images[0].save(f, format="GIF", save_all=True, append_images=images[1:],
                           duration=durations, loop=0, optimize=False, disposal=1)
        os.replace(tmp, out)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise TimelapseError(f"cannot write {out}: {e.strerror or e}") from None
    return len(images)


def export_run_timelapse(run_dir: Path | str, out: Path | str, fps: float = 8.0,
                         progress: Steps | None = None) -> int:
    """Convenience for callers that have a run folder: all its previews to ``out``."""
    return write_timelapse_gif(preview_frames(run_dir), out, fps=fps, progress=progress)


def _load_frame(path: Path, step: int, min_width: int, caption: bool) -> Image.Image:
    try:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
    except OSError as e:
        raise TimelapseError(f"cannot read preview {path.name}: {e}") from None
    factor = max(1, -(-min_width // rgb.shape[1]))  # ceil: at least min_width wide
    rgb = rgb.repeat(factor, axis=0).repeat(factor, axis=1)
    img = Image.fromarray(rgb)
    if not caption:
        return img
    bar = 18
    framed = Image.new("RGB", (img.width, img.height + bar), (24, 24, 24))
    framed.paste(img, (0, 0))
    ImageDraw.Draw(framed).text((6, img.height + 3), f"step {step}", fill=(230, 230, 230),
                                font=ImageFont.load_default())
    return framed
