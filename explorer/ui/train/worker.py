"""The training worker: ``trainer.loop.train`` running in a QThread, its events as signals.

A thin adapter in the napari/superqt style: the Qt-free generator does the work, the worker
forwards each event as a signal carrying the event dataclass itself (plain data: numbers, numpy
grids, CPU weight copies). Loss batches are merged so the GUI sees at most ~20 emissions a second
however fast the loop runs; every other event passes straight through (after any held losses, so
the order is kept). Any exception becomes ``failed(str)`` by the jobs' rule (a UserError's text;
a bug's one ``internal error`` line, its traceback logged) and ``finished`` is always the last
signal, so no thread dies silently. Training is not a ``Job``: it streams many kinds of event
and is steered (pause, resume, stop) while it runs, where a Job runs a function to one result.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from explorer.core.jobs import failure_message
from trainer.config import RunConfig
from trainer.events import (
    CheckpointSaved,
    Event,
    Failed,
    Finished,
    Notice,
    Paused,
    Preview,
    Resumed,
    Started,
    StepStats,
    TrainControl,
)
from trainer.loop import train

EMIT_INTERVAL_S = 0.05  # ~20 Hz: fast enough to look live, rare enough to cost the GUI nothing


def merge_stats(batches: list[StepStats]) -> StepStats:
    """Concatenate consecutive StepStats; the rates are the newest batch's."""
    if len(batches) == 1:
        return batches[0]
    last = batches[-1]
    return StepStats(
        [s for b in batches for s in b.steps],
        [v for b in batches for v in b.critic_loss],
        [v for b in batches for v in b.gen_loss],
        [v for b in batches for v in b.gp],
        [v for b in batches for v in b.wdist],
        last.steps_per_s, last.images_per_s,
        [v for b in batches for v in b.r],
        [v for b in batches for v in b.aug_p],
        [v for b in batches for v in b.recon],
        [v for b in batches for v in b.kl])


class TrainWorker(QObject):
    """Iterates ``train(...)`` in whatever thread it lives in; steer it with pause/resume/stop
    (thread-safe, callable from the GUI thread while ``run`` is busy)."""

    started = Signal(object)  # Started
    step_done = Signal(object)  # StepStats (merged)
    previewed = Signal(object)  # Preview
    checkpoint_saved = Signal(object)  # CheckpointSaved
    paused = Signal(int)  # step
    resumed = Signal(int)  # step
    completed = Signal(object)  # Finished (reason "completed" or "stopped")
    noticed = Signal(str)  # a Notice's message (training goes on)
    loading = Signal(int, int)  # images decoded, images in all (before ``started``)
    failed = Signal(str)  # a Failed event's message, or an unexpected exception
    finished = Signal()  # always the last signal, whatever happened

    def __init__(self, run_dir: Path | str, cfg: RunConfig | None = None, resume: bool = False,
                 total_steps: int | None = None, data: object = None) -> None:
        super().__init__()
        self.run_dir = Path(run_dir)
        self.cfg, self.resume_run, self.total_steps, self.data = cfg, resume, total_steps, data
        self.control = TrainControl()
        self._held: list[StepStats] = []
        self._last_emit = 0.0

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        self.control.stop()

    @Slot()
    def run(self) -> None:
        try:
            for ev in train(self.run_dir, self.cfg, self.control, resume=self.resume_run,
                            total_steps=self.total_steps, data=self.data,
                            on_loading=self.loading.emit):  # emitted from decoder threads
                self._forward(ev)
            self._flush()
        except Exception as e:  # the jobs' boundary: every error reaches the GUI as one line
            self._flush()
            self.failed.emit(f"training stopped: {failure_message(e, 'training')}")
        finally:
            self.data = None  # release the dataset (it may be large and on the GPU)
            self.finished.emit()

    def _forward(self, ev: Event) -> None:
        if isinstance(ev, StepStats):
            self._held.append(ev)
            if time.monotonic() - self._last_emit >= EMIT_INTERVAL_S:
                self._flush()
            return
        self._flush()
        if isinstance(ev, Started):
            self.started.emit(ev)
        elif isinstance(ev, Preview):
            self.previewed.emit(ev)
        elif isinstance(ev, CheckpointSaved):
            self.checkpoint_saved.emit(ev)
        elif isinstance(ev, Paused):
            self.paused.emit(ev.step)
        elif isinstance(ev, Resumed):
            self.resumed.emit(ev.step)
        elif isinstance(ev, Finished):
            self.completed.emit(ev)
        elif isinstance(ev, Notice):
            self.noticed.emit(ev.message)
        elif isinstance(ev, Failed):
            self.failed.emit(ev.message)

    def _flush(self) -> None:
        if self._held:
            merged = merge_stats(self._held)
            self._held = []
            self._last_emit = time.monotonic()
            self.step_done.emit(merged)


class TrainThread:
    """Owns a TrainWorker living in its own QThread. ``start()`` runs it once."""

    def __init__(self, worker: TrainWorker) -> None:
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("train")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        # Direct: quit() is thread-safe, and calling it from the worker's own thread means the
        # thread ends even if the GUI thread is busy (e.g. waiting for it in closeEvent).
        worker.finished.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def is_finished(self) -> bool:
        return self.thread.isFinished()

    def wait(self, ms: int) -> bool:
        """Block up to ``ms`` for the thread to end; True if it has."""
        return self.thread.wait(ms)
