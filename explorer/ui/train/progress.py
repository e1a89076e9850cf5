"""The progress strip of the Train view: a step bar plus steps/s, images/s and ETA."""

from __future__ import annotations

import math

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

from trainer.events import StepStats


def format_eta(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


class TrainProgress(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setFormat("%v / %m steps")
        self.rates = QLabel("")
        self.total = 0
        self.rate = 0.0
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.bar, 1)
        lay.addWidget(self.rates)

    def begin(self, start: int, total: int) -> None:
        self.total, self.rate = total, 0.0
        self.bar.setFormat("%v / %m steps")
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(start)
        self.rates.setText("")

    def reset(self) -> None:
        self.begin(0, self.total)

    def show_loading(self, done: int, total: int) -> None:
        """Before the first step: the images decoded so far (``begin`` turns back to steps)."""
        self.bar.setFormat("%v / %m images decoded")
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        self.rates.setText("loading the data")

    def show_stats(self, st: StepStats) -> None:
        # Smoothed a little: one window of log_every steps is a noisy measurement.
        self.rate = st.steps_per_s if not self.rate else 0.7 * self.rate + 0.3 * st.steps_per_s
        self.bar.setValue(min(st.step, self.bar.maximum()))
        eta = (self.total - st.step) / self.rate if self.rate > 0 else math.inf
        self.rates.setText(f"{self.rate:.1f} steps/s · {st.images_per_s:,.0f} img/s · "
                           f"ETA {format_eta(eta)}")

    def finish(self) -> None:
        """The run has ended: no ETA any more (the bar keeps the step it reached)."""
        self.rate = 0.0
        self.rates.setText("")

    def show_step(self, step: int, steps_per_s: float | None = None) -> None:
        """For a followed run: its step, and its rate read from the log's timestamps."""
        self.bar.setRange(0, max(self.total, step, 1))
        self.bar.setValue(step)
        if steps_per_s:
            self.rates.setText(f"{steps_per_s:.1f} steps/s (from its log)")
