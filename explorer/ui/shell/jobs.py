"""One way to run a job off the GUI thread: ``Job(name, fn)`` and its signals.

``fn(progress, cancel)`` is a plain Qt-free function following the protocol of
explorer/core/jobs.py. ``Job`` runs it once on its own QThread and forwards what happens as
signals, all delivered in the GUI thread (so slots may touch widgets):

- ``progressed(fraction | None, text)``, throttled (``Throttle``: a report passes when it moves
  the bar by 1% or 50 ms passed; the first and a finished one always pass);
- then exactly one of ``completed(result)``, ``failed(message)`` or ``cancelled()``;
- then ``finished()``, once the thread has been joined (the job can be started again or dropped).

The error boundary is here (its rule, ``failure_message``, is shared with the render thread):
``Cancelled`` -> ``cancelled``; a ``UserError`` -> ``failed`` with its text, whole; any other
exception is a bug -> ``failed`` with one ``internal error: ...`` line, its traceback logged to
stderr. The window stays usable either way.
``cancel()`` is thread-safe; the job stops at its next ``cancel.check()``. On application quit a
running job is cancelled and joined, so Qt never destroys a running thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from explorer.core.jobs import (
    EMIT_INTERVAL_S,
    Cancelled,
    CancelToken,
    Progress,
    Throttle,
    failure_message,
)

JobFn = Callable[[Progress, CancelToken], Any]
# How long quitting waits for a cancelled job to reach its next check (jobs check at least
# every few hundred milliseconds; a minute covers a slow step on a busy machine).
QUIT_WAIT_MS = 60000


class _Runner(QObject):
    """Lives in the job's thread; calls ``fn`` once inside the error boundary."""

    progressed = Signal(object, str)
    completed = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, name: str, fn: JobFn, token: CancelToken, interval: float) -> None:
        super().__init__()
        self.name, self.fn, self.token, self.interval = name, fn, token, interval

    @Slot()
    def run(self) -> None:
        try:
            result = self.fn(Throttle(self.progressed.emit, self.interval), self.token)
        except Cancelled:
            self.cancelled.emit()
        except Exception as e:  # the one boundary: whatever the job raises, the window lives
            self.failed.emit(failure_message(e, self.name))
        else:
            self.completed.emit(result)
        finally:
            self.finished.emit()


class Job(QObject):
    """``fn(progress, cancel)`` run once on a QThread named ``name``; see the module docstring."""

    progressed = Signal(object, str)  # fraction in 0..1 or None, what is happening
    completed = Signal(object)  # what fn returned
    failed = Signal(str)  # one line for the user
    cancelled = Signal()
    finished = Signal()  # after one of the three above; the thread is joined

    def __init__(self, name: str, fn: JobFn, parent: QObject | None = None,
                 interval: float = EMIT_INTERVAL_S) -> None:
        super().__init__(parent)
        self.name, self.fn, self.interval = name, fn, interval
        self.token = CancelToken()
        self._thread: QThread | None = None
        self._runner: _Runner | None = None
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._on_about_to_quit)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"the {self.name} job is running already")
        self.token = CancelToken()
        thread = QThread()
        thread.setObjectName(self.name)
        runner = _Runner(self.name, self.fn, self.token, self.interval)
        runner.moveToThread(thread)
        thread.started.connect(runner.run)
        # Signal to signal: queued into this object's (the GUI) thread.
        runner.progressed.connect(self.progressed)
        runner.completed.connect(self.completed)
        runner.failed.connect(self.failed)
        runner.cancelled.connect(self.cancelled)
        # Direct: quit() is thread-safe, and the loop must end even while the GUI thread blocks
        # in wait() (a slot of ``completed`` may join the job).
        runner.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._runner = thread, runner
        thread.start()

    def cancel(self) -> None:
        """Ask the job to stop at its next check; it answers with ``cancelled``."""
        self.token.cancel()

    def wait(self, ms: int = 30000) -> bool:
        """Block until the thread ends (True) or ``ms`` passes (False)."""
        return self._thread is None or self._thread.wait(ms)

    def _on_about_to_quit(self) -> None:
        if self._thread is not None:
            self.cancel()
            self._thread.wait(QUIT_WAIT_MS)

    def _on_thread_finished(self) -> None:
        thread, runner = self._thread, self._runner
        self._thread, self._runner = None, None
        if runner is not None:
            runner.deleteLater()
        if thread is not None:
            thread.deleteLater()
        self.finished.emit()
