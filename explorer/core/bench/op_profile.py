"""``bench --profile``: where a training step's time goes, as torch.profiler sees it.

Per op: its self time per generator step (GPU kernel time on CUDA, CPU time elsewhere), its
share of the total and its calls per step; the top ops only. Qt-free.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import torch


def profile_ops(step: Callable[[], Any], steps: int, device: torch.device,
                top: int = 12) -> dict[str, Any]:
    """Run ``step`` ``steps`` times under the profiler; the ``top`` ops by self time."""
    from torch.profiler import ProfilerActivity, profile

    on_gpu = device.type == "cuda"
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_gpu else [])
    with _quiet_native_stderr(), profile(activities=acts) as prof:
        for _ in range(steps):
            step()
        if on_gpu:
            torch.cuda.synchronize(device)
    events = [e for e in prof.key_averages() if not e.key.startswith("ProfilerStep")]

    def self_us(e: Any) -> float:
        return float(getattr(e, "self_device_time_total", 0.0) if on_gpu else e.self_cpu_time_total)

    total = sum(self_us(e) for e in events) or 1.0
    rows = sorted(events, key=self_us, reverse=True)[:top]
    return {"steps": steps, "time": "self device (GPU) time" if on_gpu else "self CPU time",
            "total_ms_per_gen_step": total / 1000 / steps,
            "ops": [{"op": e.key, "calls_per_step": e.count / steps,
                     "ms_per_gen_step": self_us(e) / 1000 / steps,
                     "percent": 100 * self_us(e) / total} for e in rows]}


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence the profiler library's own start/stop lines (C++ writes to fd 2 directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
