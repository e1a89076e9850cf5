"""Plain-tensor files (checkpoints, directions, cached models): one safe writer, one safe reader.

Every file Latent Lab writes is a dict of tensors, numbers, strings and lists tagged with a
``format`` and ``version``, saved by ``torch.save`` to a temp file and renamed into place, and
read back with ``torch.load(weights_only=True)``, which refuses to execute code from the file.
"""

from __future__ import annotations

import io
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from trainer.errors import UserError
from trainer.fileio import atomic_write_with


class PlainFileError(UserError):
    """A file cannot be used; the message is for the user. Callers re-raise their own kind."""


def save_plain(path: Path, fmt: str, version: int, payload: dict[str, Any]) -> None:
    """Write ``payload`` tagged with format/version, atomically (temp file + rename)."""
    buf = io.BytesIO()
    torch.save({"format": fmt, "version": version, **payload}, buf)
    data = buf.getvalue()
    atomic_write_with(Path(path), lambda f: f.write(data))


def load_plain(path: Path, fmt: str, version: int, what: str,
               map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a file written by ``save_plain``; ``what`` names it in messages ("checkpoint")."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise PlainFileError(f"{what} not found: {path}")
    # torch.save writes a zip archive (or, before PyTorch 1.6, a pickle stream that starts with
    # torch's magic number); anything else is foreign and never reaches the unpickler.
    if not zipfile.is_zipfile(path) and not _is_legacy_torch_file(path):
        raise PlainFileError(f"{name} is not a readable {what} (truncated, or not a PyTorch "
                             "file at all)")
    try:
        d = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        # torch names the offending global ("Unsupported global: GLOBAL posix.system ...").
        found = re.search(r"GLOBAL ([\w.]+)", str(e))
        if not found and "weights only load failed" not in str(e).lower():
            raise PlainFileError(f"{name} is not a readable {what} (truncated or damaged: "
                                 f"{str(e).strip()[:120]})") from None
        such = f" such as {found.group(1)}" if found else ""
        raise PlainFileError(f"{name} was refused: it holds Python objects{such} that loading "
                             "would have to execute; Latent Lab loads only plain tensors and "
                             "values") from None
    except (zipfile.BadZipFile, RuntimeError, EOFError, OSError, ValueError, KeyError,
            IndexError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PlainFileError(f"{name} is not a readable {what} (truncated or not a PyTorch "
                             f"file): {msg[:160]}") from None
    if not isinstance(d, dict) or d.get("format") != fmt:
        raise PlainFileError(f"{name} is a PyTorch file but not a Latent Lab {what}")
    if d.get("version") != version:
        raise PlainFileError(f"{name} has {what} version {d.get('version')!r}; this Latent Lab "
                             f"reads version {version}")
    return d


# The start of torch's legacy (non-zip) format: pickle protocol 2, then its magic number.
_LEGACY_MAGIC = b"\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"


def _is_legacy_torch_file(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(32)
    except OSError:
        return False
    return head[:1] == b"\x80" and _LEGACY_MAGIC in head
