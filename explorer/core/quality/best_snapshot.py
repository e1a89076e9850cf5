"""The best snapshot of a run: chosen from eval's rows, recorded in ``RUN/best.json`` (which
``--checkpoint RUN/best`` opens, see trainer.checkpoint.resolve_checkpoint), and the advice to
stop training once evaluations stop improving. Qt-free.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from explorer.core.demo import write_dir
from trainer.fileio import atomic_write_text
from trainer.runfolder import RunFolder


def best_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The best evaluated snapshot: lowest FD; of equal FDs (to 3 digits, as printed), the one
    with the higher precision + recall, then the later step."""
    ok = [r for r in rows if "error" not in r]
    if not ok:
        return None
    return min(ok, key=lambda r: (round(r["fd"], 3),
                                  -(r.get("precision") or 0) - (r.get("recall") or 0),
                                  -r["step"]))


def mark_best(run_dir: Path, row: dict[str, Any], n: int) -> dict[str, Any]:
    """Record the best snapshot in run_dir/best.json, so ``--checkpoint RUN/best`` opens it in
    every command. Returns the JSON's "best" entry (with where it was written, or why not)."""
    run = RunFolder(run_dir)
    snap = run.snapshots / row["snapshot"]
    best = {"step": row["step"], "path": str(snap),
            "fd": row["fd"], "rule": "lowest FD; ties: higher precision + recall"}
    marker = {"step": row["step"], "path": snap.relative_to(run.path).as_posix(), "fd": row["fd"],
              "precision": row.get("precision"), "recall": row.get("recall"), "n": n,
              "rule": best["rule"]}
    if write_dir(run_dir) != run_dir:
        best["marker_error"] = "the bundled demo is never written to"
        return best
    try:
        atomic_write_text(run.best, json.dumps(marker, indent=2) + "\n")
        best["marker"] = str(run.best)
    except OSError as e:
        best["marker_error"] = f"cannot write {run.best}: {e.strerror or e}"
    return best


def stop_advice(rows: list[dict[str, Any]], patience: int) -> str | None:
    """Advice to stop training once the last ``patience`` evaluations brought no gain over the
    best (best_row), else None."""
    ok = sorted((r for r in rows if "error" not in r), key=lambda r: r["step"])
    best = best_row(ok)
    if best is None:
        return None
    since = sum(1 for r in ok if r["step"] > best["step"])
    if since < patience:
        return None
    return (f"no gain in the last {since} evaluations (best: step {best['step']}, FD "
            f"{best['fd']:.3f}): more training may not help; consider stopping (the best "
            "snapshot stays openable as RUN/best)")
