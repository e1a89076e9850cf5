"""The job protocol: how a long computation talks to whoever runs it. Qt-free.

A job is a plain function that takes two extra arguments and knows nothing of threads:

- ``progress(fraction, text)`` (a ``Progress``): how far it is, 0..1, or None when it cannot
  tell, and what it is doing ("snapshot 3000", "SeFa"). It may be called as often as the job
  likes; the runner throttles what reaches the screen.
- ``cancel`` (a ``CancelToken``): ``cancel.check()`` between units of work raises ``Cancelled``
  once someone asked to stop; ``cancel()`` / ``cancel.cancelled`` read the flag without raising
  (finders that take a ``cancel() -> bool`` callable accept the token as it is).

It ends in one of three ways: it returns its result, it raises ``Cancelled`` (nothing half-done
is kept: files are written to a temp name and renamed only when complete), or it raises. A
``UserError`` carries a message for the user, shown whole; anything else is a bug, reported as
``internal error: ...`` with its traceback on stderr. ``user_message`` is that rule, shared by
the GUI's job runner (explorer/ui/shell/jobs.py) and the headless commands.

Older step reporters keep their own shapes where a caller relies on them (export's
``(done, total)``, quality's text lines); ``counted`` and ``text_steps`` adapt them to
``Progress`` and check the token at every step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from trainer.errors import UserError

# (fraction in 0..1 or None when unknown, what is happening)
Progress = Callable[[float | None, str], None]
CancelFn = Callable[[], bool]  # True once the job should stop; a CancelToken is one

# Step reporters some cores keep inside a job, where a caller relies on their shape; ``counted``
# and ``text_steps`` turn a job's Progress into them. Any of them may raise Cancelled.
Steps = Callable[[int, int], None]  # (done, total): export encoding, time-lapse frames
StepText = Callable[[str], None]  # one line per step: quality, the eval classifier
Fraction = Callable[[float], None]  # 0..1 of one stage: direction finders, attribute model

log = logging.getLogger(__name__)

EMIT_INTERVAL_S = 0.05  # the most often progress reaches the screen: ~20 times a second


class Cancelled(Exception):  # noqa: N818 - reads better at the raise site than "CancelledError"
    """The job stopped because its ``CancelToken`` was cancelled; not a failure."""


class CancelToken:
    """One flag, set from any thread, read by the job at its next check."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise ``Cancelled`` if cancelled; call it between units of work."""
        if self._event.is_set():
            raise Cancelled

    def __call__(self) -> bool:
        """The ``cancel() -> bool`` callable the finders take."""
        return self._event.is_set()


def no_progress(fraction: float | None, text: str) -> None:
    """A ``Progress`` that shows nothing."""


class Throttle:
    """Passes a report to ``emit`` when it moves the bar by at least ``step`` (1%) or
    ``interval`` seconds passed since the last one passed: at most ~100 + 20 a second reach the
    screen however often a job reports, and a short job's few steps all show. The first report
    and a finished one (fraction >= 1) always pass, so the bar never stops short of full."""

    def __init__(self, emit: Progress, interval: float = EMIT_INTERVAL_S, step: float = 0.01,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.emit, self.interval, self.step, self.clock = emit, interval, step, clock
        self._last: float | None = None  # when the last report passed
        self._shown: float | None = None  # its fraction

    def __call__(self, fraction: float | None, text: str) -> None:
        now = self.clock()
        moved = (fraction is not None and self._shown is not None
                 and abs(fraction - self._shown) >= self.step)
        done = fraction is not None and fraction >= 1.0
        if self._last is None or now - self._last >= self.interval or moved or done:
            self._last = now
            if fraction is not None:
                self._shown = fraction
            self.emit(fraction, text)


def counted(progress: Progress, cancel: CancelToken, text: str, start: float = 0.0,
            span: float = 1.0) -> Callable[[int, int], None]:
    """A ``(done, total)`` step callback that checks ``cancel`` and reports ``text`` at
    ``start + span * done / total``."""

    def step(done: int, total: int) -> None:
        cancel.check()
        progress(start + span * done / max(1, total), text)

    return step


def text_steps(progress: Progress, cancel: CancelToken) -> Callable[[str], None]:
    """A text-only step callback (quality, the eval classifier) that checks ``cancel`` and
    reports each line with an unknown fraction."""

    def step(text: str) -> None:
        cancel.check()
        progress(None, text)

    return step


def is_internal(exc: BaseException) -> bool:
    """True for an exception that is a bug rather than a message for the user."""
    return not isinstance(exc, (UserError, Cancelled))


def user_message(exc: BaseException, limit: int = 300) -> str:
    """One line for the user: a ``UserError``'s own text, whole; for anything else
    ``internal error: <type>: <text>`` cut to ``limit`` characters (the traceback goes to the
    log, not to the user)."""
    if isinstance(exc, UserError):
        return str(exc)
    text = " ".join(str(exc).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"internal error: {type(exc).__name__}" + (f": {text}" if text else "")


def failure_message(exc: BaseException, job: str) -> str:
    """The one error boundary's rule: ``user_message(exc)``, and for a bug its traceback logged
    (to stderr unless logging is configured) naming ``job``."""
    if is_internal(exc):
        log.error("internal error in the %s job", job, exc_info=exc)
    return user_message(exc)


__all__ = ["EMIT_INTERVAL_S", "CancelFn", "CancelToken", "Cancelled", "Fraction", "Progress",
           "StepText", "Steps", "Throttle", "UserError",
           "counted", "failure_message", "is_internal", "no_progress", "text_steps", "user_message"]
