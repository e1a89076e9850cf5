"""One writer per run folder: an OS lock on ``<run>/train.lock`` held while a run trains.

The lock is an ``flock`` on the file (``msvcrt.locking`` on Windows), so the operating system
drops it when the process ends in any way, ``kill -9`` included: a lock left by a dead process
never blocks anyone. The file's text says who holds it (pid, host, start time) for messages.
Readers (sample, eval, the window following a run) never take the lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path

from trainer.errors import UserError
from trainer.runfolder import RunFolder

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:  # POSIX
    msvcrt = None  # type: ignore[assignment]


class RunLocked(UserError):
    """Another process is training the run folder; the message says who."""


def _try_lock(fd: int) -> bool:
    """Take the lock on ``fd`` without waiting; False if another process holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        elif msvcrt is not None:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:  # BlockingIOError on POSIX, PermissionError on Windows
        return False
    return True


def _unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        elif msvcrt is not None:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _describe(text: str) -> str:
    try:
        info = json.loads(text)
        since = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(info["since"])))
        return f"process {int(info['pid'])} on {info['host']} (since {since})"
    except (ValueError, KeyError, TypeError, OverflowError):
        return "another process"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


class RunLock:
    """The writer's lock on one run folder. ``acquire`` raises RunLocked if it is taken."""

    def __init__(self, run_dir: Path | str) -> None:
        self.path = RunFolder(run_dir).lock
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise RunLocked(f"cannot lock {self.path}: {e.strerror or e}") from None
        if not _try_lock(fd):
            os.close(fd)
            who = _describe(_read(self.path).lstrip("\x00 "))
            raise RunLocked(f"{self.path.parent} is being trained by {who}; stop that run "
                            "first, or train into another folder")
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": round(time.time())}
        data = (json.dumps(info) + "\n").encode()
        # Windows locks byte 0 of the file itself, so the text goes after it there.
        at = 1 if fcntl is None else 0
        with contextlib.suppress(OSError):
            os.ftruncate(fd, at)
            os.lseek(fd, at, os.SEEK_SET)
            os.write(fd, data)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        _unlock(fd)
        os.close(fd)

    def __del__(self) -> None:  # an abandoned lock must not outlive its owner's interest
        with contextlib.suppress(Exception):  # (at interpreter exit os may be half gone)
            self.release()

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(run_dir: Path | str) -> str | None:
    """Who is training ``run_dir`` now ("process 123 on host (since ...)"), or None if nobody
    is (also when the folder or its lock file does not exist, or locks are unsupported)."""
    path = RunFolder(run_dir).lock
    if not path.is_file() or (fcntl is None and msvcrt is None):
        return None
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        if _try_lock(fd):
            _unlock(fd)
            return None
    finally:
        os.close(fd)
    return _describe(_read(path).lstrip("\x00 "))


def remove_stale_temp_files(run_dir: Path | str) -> list[Path]:
    """Delete the partial files a killed training run left behind. Only the lock holder may
    call this (no other process writes those files then); other temp files are left alone."""
    run_dir = Path(run_dir)
    removed = []
    for sub, pattern in RunFolder.TRAIN_TEMP:
        for p in (run_dir / sub).glob(pattern):
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    return removed
