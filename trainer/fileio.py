"""Atomic file writes: write a temporary file beside the target, fsync, rename into place.

A crash mid-write leaves the previous file intact and no half-written file under the real name.
A full disk is reported as a ``DiskFullError`` that names the folder and its free space, and the
temporary file is removed. New files get the mode ``open()`` would give them (0666 less the
umask), not the temporary file's private 0600.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from trainer.errors import UserError

# errno values that mean "no room left" (EDQUOT: a user's quota on a shared machine).
_FULL = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


class DiskFullError(UserError, OSError):
    """A write failed for lack of space; ``str(err)`` is the message for the user."""

    def __init__(self, path: Path, errno_: int = errno.ENOSPC):
        self.message = disk_full_message(path, errno_=errno_)
        super().__init__(errno_, self.message, str(path))

    def __str__(self) -> str:
        return self.message


def disk_full_message(path: Path, folder: bool = False, errno_: int = errno.ENOSPC) -> str:
    """'disk full (No space left on device): could not write NAME in FOLDER (N MB free there) ...'
    for a file, or '... could not write in FOLDER ...' when ``folder`` is True (the file is not
    known). ``errno_`` tells a full disk from a full quota (EDQUOT)."""
    path = Path(path)
    where = path if folder else path.parent
    try:
        free = f"{_human(shutil.disk_usage(where).free)} free there"
    except OSError:
        free = "free space unknown"
    what = "could not write in" if folder else f"could not write {path.name} in"
    return (f"disk full ({os.strerror(errno_)}): {what} {where} ({free}); free some space and "
            "try again (files already written are intact)")


def write_error_message(err: OSError, folder: Path) -> str:
    """A one-line message for a failed write in ``folder`` (a full disk gets the free space)."""
    if isinstance(err, DiskFullError):
        return str(err)
    if err.errno in _FULL:
        if err.filename:
            return disk_full_message(Path(err.filename), errno_=err.errno)
        return disk_full_message(Path(folder), folder=True, errno_=err.errno)
    return f"cannot write {err.filename or folder}: {err.strerror or err}"


def _human(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def new_file_mode() -> int:
    """0o666 less the process umask: the permissions ``open()`` gives a new file."""
    # Linux: read it without changing it.
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: the only portable way to read it is to set it
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "wb") -> Iterator[IO]:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        if e.errno in _FULL:
            raise DiskFullError(path, e.errno) from None
        raise
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if hasattr(os, "chmod"):
            os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError) and not isinstance(e, DiskFullError) and e.errno in _FULL:
            raise DiskFullError(path, e.errno) from None
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
        if e.errno in _FULL:
            return disk_full_message(path)
        return f"cannot create folder {path}: {e.strerror or e}"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"folder {path} is not writable"
    return None


@contextlib.contextmanager
def removed_on_failure(folder: Path, entries: Iterable[str] = ()) -> Iterator[None]:
    """Run a block that may create ``folder`` (and its parents) and the named ``entries`` in it;
    if the block raises, take back what it created and nothing else: the folders it made (only
    if they are empty again) and those entries that did not exist before it ran. Anything else
    in the folder (a user's files, another process's) is never touched."""
    folder = Path(folder)
    made: list[Path] = []  # folders that do not exist yet, deepest first
    p = folder
    while not p.exists() and p != p.parent:
        made.append(p)
        p = p.parent
    new = [folder / name for name in entries if not os.path.lexists(folder / name)]
    try:
        yield
    except BaseException:
        for path in new:
            with contextlib.suppress(OSError):
                _remove(path)
        for d in made:
            with contextlib.suppress(OSError):
                d.rmdir()  # only if empty
        raise


def _remove(path: Path) -> None:
    if stat.S_ISDIR(path.lstat().st_mode):
        shutil.rmtree(path)
    else:
        path.unlink()
