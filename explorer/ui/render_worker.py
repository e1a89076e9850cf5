"""The render worker: a Renderer running in its own thread, newest request only.

Views call ``request(RenderRequest)`` from the GUI thread. Requests are kept per ``tag`` (one
slot each: "grid", "focus", "morph", ...); a new request replaces an unprocessed one with the same
tag, so dragging a slider never queues stale frames. Results come back as ``rendered`` with the
request's stamp, so a view can drop a result older than what it already shows.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from PySide6.QtCore import QObject, QThread, Signal, Slot

from explorer.core.jobs import failure_message
from explorer.core.render import Renderer


@dataclass
class RenderRequest:
    tag: str
    z: torch.Tensor  # (N, z_dim) float32, CPU
    y: torch.Tensor | None = None  # (N, n_classes) or None
    meta: dict = field(default_factory=dict)  # passed back untouched (seeds, frame index, ...)
    stamp: int = 0


@dataclass
class RenderResult:
    tag: str
    stamp: int
    images: np.ndarray  # (N, H, W, 3) uint8
    ms: float
    meta: dict


class RenderWorker(QObject):
    rendered = Signal(object)  # RenderResult
    failed = Signal(str)
    _wake = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._pending: dict[str, RenderRequest] = {}
        self._renderer: Renderer | None = None
        self._stamps = itertools.count(1)
        self._wake.connect(self._process)

    # --- called from the GUI thread ---------------------------------------------------------
    def set_renderer(self, renderer: Renderer | None) -> None:
        with self._lock:
            self._renderer = renderer
            self._pending.clear()

    def request(self, req: RenderRequest) -> int:
        req.stamp = next(self._stamps)
        with self._lock:
            self._pending[req.tag] = req
        self._wake.emit()  # queued to the worker thread
        return req.stamp

    def cancel(self, tag: str) -> None:
        with self._lock:
            self._pending.pop(tag, None)

    # --- worker thread ----------------------------------------------------------------------
    @Slot()
    def _process(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    return
                tag = next(iter(self._pending))
                req = self._pending.pop(tag)
                renderer = self._renderer
            if renderer is None:
                continue
            t0 = time.perf_counter()
            try:
                images = renderer.render(req.z, req.y)
            except Exception as e:  # the jobs' boundary: a bug in one render never ends the thread
                self.failed.emit(f"render failed: {failure_message(e, 'render')}")
                continue
            ms = (time.perf_counter() - t0) * 1000
            self.rendered.emit(RenderResult(req.tag, req.stamp, images, ms, req.meta))


class RenderThread:
    """Owns a RenderWorker living in its own QThread; ``close()`` joins it."""

    def __init__(self) -> None:
        self.thread = QThread()
        self.thread.setObjectName("render")
        self.worker = RenderWorker()
        self.worker.moveToThread(self.thread)
        self.thread.start()

    def close(self) -> None:
        """Stop and join the thread; safe to call more than once."""
        if not self.thread.isRunning():
            return
        self.worker.set_renderer(None)
        self.thread.quit()
        self.thread.wait(5000)
