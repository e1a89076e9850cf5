"""Hand the model being trained to the ModelSession, so the other tabs explore it live.

Each Preview carries a frozen CPU copy of G_ema's weights; building a Renderer from it costs a
model construction (and every tab then renders the new model), so it is done at most every few
seconds, and only while someone may look: when ``wanted()`` is false (the Train tab is the one
on screen) the newest Preview is kept, not handed over, until ``flush()`` (another tab is
shown). The newest Preview waits for the next slot (a timer) rather than being dropped, so the
session always ends on the newest weights.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QObject, QTimer, Signal

from explorer.core.latent.render import Renderer
from explorer.ui.shell.session import ModelSession
from trainer.events import Preview, Started

SHARE_INTERVAL_S = 3.0


class LiveModelShare(QObject):
    failed = Signal(str)

    def __init__(self, session: ModelSession, interval_s: float = SHARE_INTERVAL_S,
                 wanted: Callable[[], bool] = lambda: True,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.interval_s = interval_s
        self.wanted = wanted  # whether a tab that explores the model may be on screen
        self._run: Started | None = None
        self._runs = 0  # runs begun: with the run folder, what tells one run from the next
        self._pending: Preview | None = None
        self._last = -math.inf
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer_timeout)

    def begin(self, run: Started) -> None:
        """A new run started: later Previews belong to it (config, class names)."""
        self._run = run
        self._runs += 1
        self.cancel()

    def offer(self, pv: Preview) -> None:
        if not pv.generator_state or self._run is None:
            return
        self._pending = pv
        if not self.wanted():
            self._timer.stop()
            return  # kept for ``flush``: nobody looks at the other tabs now
        wait = self.interval_s - (time.monotonic() - self._last)
        if wait <= 0:
            self._hand_over()
        elif not self._timer.isActive():
            self._timer.start(int(wait * 1000))

    @property
    def pending(self) -> bool:
        """A Preview is waiting to be handed over."""
        return self._pending is not None

    def flush(self) -> None:
        """Hand the newest Preview over now (a tab that explores the model was shown)."""
        self._timer.stop()
        self._hand_over()

    def cancel(self) -> None:
        self._timer.stop()
        self._pending = None

    def _on_timer_timeout(self) -> None:
        if self.wanted():
            self._hand_over()

    def _hand_over(self) -> None:
        pv, run = self._pending, self._run
        self._pending = None
        if pv is None or run is None:
            return
        self._last = time.monotonic()
        info = replace(run.model, step=pv.step, live_run=f"{run.run_dir} #{self._runs}",
                       run_dir=run.run_dir)
        try:
            renderer = Renderer.from_state(pv.generator_state, info, self.session.device)
        except (RuntimeError, ValueError, KeyError) as e:
            self.failed.emit(f"the live model could not be handed to the other tabs: {e}")
            return
        self.session.set_renderer(renderer)
