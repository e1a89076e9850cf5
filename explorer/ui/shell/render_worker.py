"""The render worker: a Renderer running in its own thread, newest request only.

Requests are kept per ``tag`` (one slot each: "grid", "focus", "morph", ...); a new request
replaces an unprocessed one with the same tag, so dragging a slider never queues stale frames.
A view does not talk to the worker: it takes its tag's ``RenderChannel`` from the session
(``session.channel(tag)``), requests through it and receives only its own results, already
filtered (see ``RenderChannel``). Results of requests made before the model changed are never
delivered. Errors go through the jobs' boundary: one line, and the thread keeps serving.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from PySide6.QtCore import QEvent, QObject, QThread, Signal, Slot
from PySide6.QtWidgets import QWidget

from explorer.core.jobs import failure_message
from explorer.core.latent.render import Renderer


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
    failed = Signal(str, int, str)  # tag, stamp, message
    _wake = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._pending: dict[str, RenderRequest] = {}
        self._renderer: Renderer | None = None
        self._stamps = itertools.count(1)
        self._epoch = 0  # requests stamped before this were made for another model
        self._wake.connect(self._process)

    # --- called from the GUI thread ---------------------------------------------------------
    def set_renderer(self, renderer: Renderer | None) -> None:
        with self._lock:
            self._renderer = renderer
            self._pending.clear()
            self._epoch = next(self._stamps)

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
                why = failure_message(e, "render")
                self.failed.emit(req.tag, req.stamp, f"render failed: {why}")
                continue
            ms = (time.perf_counter() - t0) * 1000
            with self._lock:
                if req.stamp < self._epoch:
                    continue  # rendered by the model that was open before
            self.rendered.emit(RenderResult(req.tag, req.stamp, images, ms, req.meta))


class RenderChannel(QObject):
    """One view's tag on the render thread. ``request`` replaces the tag's unprocessed request
    and returns its stamp; ``rendered`` delivers only this tag's results:

    - by default only the answer to the newest request (a view whose state belongs to that
      request: the grid it asked for, the export chunk it waits for);
    - with ``live=True`` any result newer than the one shown, so a preview keeps moving while a
      slider is dragged (each result answers a request made a moment ago).

    ``failed(message)``: a render of this tag failed. Get one from ``ModelSession.channel`` and
    keep it: the session holds channels weakly. Two views may share a tag (its worker slot, so
    one's request replaces the other's unprocessed one); each still receives only its own.

    With ``view`` (the widget that shows the results), a request made while that widget is off
    screen in a window that is on screen (a tab not in front) is held, not rendered: only the
    newest is kept, and it is sent when the widget is shown. A model handed over from training
    every few seconds then costs no renders for the tabs nobody looks at. Meanwhile nothing
    older is delivered; a model change drops the held request (the view asks anew). A widget
    whose window is not shown at all renders as before."""

    rendered = Signal(object)  # RenderResult
    failed = Signal(str)

    def __init__(self, tag: str, submit: Callable[[RenderRequest], int],
                 drop: Callable[[str], None], live: bool = False,
                 view: QWidget | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tag, self.live = tag, live
        self._submit, self._drop = submit, drop
        self.latest = -1  # the newest request's stamp
        self._shown = -1  # the newest result's stamp delivered
        self._view = view
        self.held: RenderRequest | None = None  # a request waiting for ``view`` to be shown
        if view is not None:
            view.installEventFilter(self)

    def request(self, z: torch.Tensor, y: torch.Tensor | None = None,
                meta: dict | None = None) -> int:
        """Returns the request's stamp, or -1 when it is held until the view is shown."""
        req = RenderRequest(self.tag, z, y, meta or {})
        if self._off_screen():
            if self.held is None:
                self._drop(self.tag)  # an unprocessed earlier request is as stale as a result
            self.held, self.latest = req, -1
            return -1
        self.held = None
        self.latest = self._submit(req)
        return self.latest

    def cancel(self) -> None:
        """Drop the unprocessed request; a result already being rendered is not delivered."""
        self._drop(self.tag)
        self.held = None
        self.latest = -1

    def drop_held(self) -> None:
        """Forget a held request (the model it was made for is no longer open)."""
        self.held = None

    def deliver_failure(self, stamp: int, message: str) -> None:
        if stamp == self.latest:
            self.failed.emit(message)

    def deliver(self, result: RenderResult) -> None:
        if self.held is not None:
            return  # a newer request is held for when the view is shown
        if result.stamp <= self._shown or (not self.live and result.stamp != self.latest):
            return  # older than what is shown, or (not live) not the newest request's
        self._shown = result.stamp
        self.rendered.emit(result)

    def _off_screen(self) -> bool:
        v = self._view
        return v is not None and v.window().isVisible() and not v.isVisible()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Show and watched is self._view and self.held is not None:
            req, self.held = self.held, None
            self.latest = self._submit(req)
        return False


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
