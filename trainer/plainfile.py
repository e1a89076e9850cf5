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

from trainer.fileio import atomic_write_with


class PlainFileError(Exception):
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
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; anything else is foreign
        raise PlainFileError(f"{name} is not a readable {what} (truncated, or not a PyTorch "
                             "file at all)")
    try:
        d = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        # torch names the offending global ("Unsupported global: GLOBAL posix.system ...").
        found = re.search(r"GLOBAL ([\w.]+)", str(e))
        such = f" such as {found.group(1)}" if found else ""
        raise PlainFileError(f"{name} was refused: it holds Python objects{such} that loading "
                             "would have to execute; Latent Lab loads only plain tensors and "
                             "values") from None
    except (zipfile.BadZipFile, RuntimeError, EOFError, OSError, ValueError, KeyError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PlainFileError(f"{name} is not a readable {what} (truncated or not a PyTorch "
                             f"file): {msg[:160]}") from None
    if not isinstance(d, dict) or d.get("format") != fmt:
        raise PlainFileError(f"{name} is a PyTorch file but not a Latent Lab {what}")
    if d.get("version") != version:
        raise PlainFileError(f"{name} has {what} version {d.get('version')!r}; this Latent Lab "
                             f"reads version {version}")
    return d
