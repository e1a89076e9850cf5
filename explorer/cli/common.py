"""Shared bits of the headless explore commands: loading a renderer and one-line errors."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from explorer.core.latent.render import Renderer
from trainer.checkpoint import CheckpointError
from trainer.config import DEVICES
from trainer.errors import UserError
from trainer.fileio import atomic_write_text


class UsageError(UserError):
    """Bad input from the user: printed as one line, exit code 2."""


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, type=Path, metavar="PATH",
                   help="checkpoint file or run folder")
    p.add_argument("--truncation", type=float, default=1.0, metavar="PSI",
                   help="truncation psi in (0, 1]; smaller = more typical, less varied "
                        "(default 1: off)")
    p.add_argument("--scale", type=int, default=1, metavar="K",
                   help="upscale each image K times, nearest neighbour (default 1)")
    p.add_argument("--device", choices=DEVICES, default="cpu",
                   help="where to run the generator (default cpu: the same pixels everywhere)")


def check_range(name: str, value: float, lo: float, hi: float) -> None:
    if not lo <= value <= hi:
        raise UsageError(f"{name} must be between {lo:g} and {hi:g} (got {value:g})")


def load_renderer(path: Path, device: str) -> Renderer:
    from trainer.device import resolve_device  # torch device names; raises with a user message

    try:
        return Renderer.from_checkpoint(path, resolve_device(device))
    except CheckpointError as e:
        raise UsageError(str(e)) from None
    except RuntimeError as e:
        raise UsageError(str(e).splitlines()[0] if str(e) else "cannot load the model") from None


def fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def write_report(out: Path, result: dict[str, Any], table: str) -> int:
    """Write ``result`` as JSON (atomically), then print the readable table; an exit code."""
    try:
        atomic_write_text(out, json.dumps(result, indent=2) + "\n")
    except OSError as e:
        print(f"error: cannot write {out}: {e.strerror or e}", file=sys.stderr)
        return 1
    print(table)
    print(f"\nwritten: {out}")
    return 0
