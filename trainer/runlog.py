"""A run's ``log.jsonl``: one JSON object per generator step, appended as training goes.

The loop writes it (loop.py); the GUI and the tests read it while it may still be growing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from trainer.fileio import atomic_write_text

# Every column a log may hold: a GAN's (gan.py) and a VAE's (vae.py, "recon" and "kl").
STAT_KEYS = ("critic_loss", "gen_loss", "gp", "wdist", "r", "aug_p", "recon", "kl")
# A record holds every column of one of these sets: a GAN step's, or a VAE step's.
REQUIRED_SETS = (("critic_loss", "gen_loss", "gp", "wdist"), ("recon", "kl"))


def row_values(rec: dict, keys: tuple[str, ...]) -> list[float]:
    """The values of ``keys`` in one log record; KeyError/TypeError/ValueError if it lacks its
    step or a whole required set of columns, or a value is not a number. Other columns (the
    other model type's, those older logs lack, "time") read as NaN."""
    if "step" in keys and "step" not in rec:
        raise KeyError("step")
    if not any(all(k in rec for k in req) for req in REQUIRED_SETS):
        raise KeyError("losses")
    return [float(rec.get(k, "nan")) for k in keys]


def truncate_log(path: Path, step: int) -> None:
    """Drop log lines after ``step`` (a resumed run re-does those steps)."""
    if not path.is_file():
        return
    keep = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line)["step"] <= step:
                keep.append(line)
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    atomic_write_text(path, "".join(k + "\n" for k in keep))


def read_log(path: Path) -> dict[str, np.ndarray]:
    """Read a (possibly still growing) log.jsonl into arrays; a partial last line is ignored."""
    cols: dict[str, list[float]] = {k: [] for k in ("step", *STAT_KEYS)}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return {k: np.zeros(0) for k in cols}
    for line in text.splitlines():
        try:
            rec = json.loads(line)
            row = row_values(rec, tuple(cols))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
        for k, v in zip(cols, row, strict=True):
            cols[k].append(v)
    return {k: np.asarray(v) for k, v in cols.items()}
