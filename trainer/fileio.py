"""Atomic file writes: write a temporary file beside the target, fsync, rename into place.

A crash mid-write leaves the previous file intact and no half-written file under the real name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "wb") -> Iterator[IO]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_open(path, "w") as f:
        f.write(text)


def atomic_write_with(path: Path, writer: Callable[[IO], None]) -> None:
    """Call ``writer(file)`` on a temporary binary file and rename it into place."""
    with atomic_open(path, "wb") as f:
        writer(f)


def check_writable_dir(path: Path) -> str | None:
    """Return a message if ``path`` cannot be created or written to, else None."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return f"cannot create folder {path}: {e.strerror or e}"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"folder {path} is not writable"
    return None
