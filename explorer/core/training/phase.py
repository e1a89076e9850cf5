"""The phase of a training run in the window, as a small state machine without Qt.

    idle ─launch─▶ starting ─Started─▶ running ◀──▶ pausing ─Paused─▶ paused
                      │                   │   ◀──── resume ──────────┘
                      └─────── stop, or the run's last event ─────────▶ stopping
    stopping ─thread ended─▶ finished | failed ─launch─▶ starting …

``starting`` … ``stopping`` are the active phases: a training thread exists until the phase
leaves ``stopping``. ``finished`` and ``failed`` say how the last run ended; ``idle`` is the
window before any run (or while it shows a run folder from disk). A transition the table does
not allow is refused and changes nothing: a late signal (a Paused after Stop, say) can never
put the buttons in a state that does not match the thread.

``buttons`` derives which of Start / Pause / Resume / Stop are enabled from the phase alone (plus
the form's validity and whether a stopped run could be resumed), in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Phase(StrEnum):
    IDLE = "idle"
    STARTING = "starting"  # the thread runs; data loading, before the Started event
    RUNNING = "running"
    PAUSING = "pausing"  # pause asked; the loop pauses after the current step
    PAUSED = "paused"
    STOPPING = "stopping"  # stop asked, or the run reported its end; the thread winds down
    FINISHED = "finished"  # the thread ended after a completed or stopped run
    FAILED = "failed"  # the thread ended after an error

    @property
    def active(self) -> bool:
        """A training thread exists (from Start until it has ended)."""
        return self in ACTIVE


ACTIVE = frozenset({Phase.STARTING, Phase.RUNNING, Phase.PAUSING, Phase.PAUSED, Phase.STOPPING})
ENDED = frozenset({Phase.IDLE, Phase.FINISHED, Phase.FAILED})

TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.IDLE: frozenset({Phase.STARTING, Phase.IDLE}),
    Phase.FINISHED: frozenset({Phase.STARTING, Phase.IDLE}),
    Phase.FAILED: frozenset({Phase.STARTING, Phase.IDLE}),
    Phase.STARTING: frozenset({Phase.RUNNING, Phase.STOPPING}),
    Phase.RUNNING: frozenset({Phase.PAUSING, Phase.PAUSED, Phase.STOPPING}),
    Phase.PAUSING: frozenset({Phase.PAUSED, Phase.RUNNING, Phase.STOPPING}),
    Phase.PAUSED: frozenset({Phase.RUNNING, Phase.STOPPING}),
    Phase.STOPPING: frozenset({Phase.FINISHED, Phase.FAILED}),
}


def can_go(frm: Phase, to: Phase) -> bool:
    return to in TRANSITIONS[frm]


class TrainPhase:
    """The current phase and how the run in progress ended, once it said so. ``go`` moves if
    the table allows it and returns whether it did; ``report_end`` records the run's last event
    (completed, stopped or failed); ``end`` moves to finished or failed when the thread ends."""

    def __init__(self) -> None:
        self.phase = Phase.IDLE
        self.reported = False  # the run in progress reported how it ended
        self.failed = False  # … and it was an error

    def __repr__(self) -> str:
        return f"TrainPhase({self.phase.value}{', failed' if self.failed else ''})"

    @property
    def active(self) -> bool:
        return self.phase.active

    def go(self, to: Phase) -> bool:
        if not can_go(self.phase, to):
            return False
        if to is Phase.STARTING:
            self.reported = self.failed = False
        self.phase = to
        return True

    def report_end(self, failed: bool) -> bool:
        """The run reported its end: it is stopping (its thread winds down) and will end as
        failed or finished. False, and nothing changes, when no run is active."""
        if not self.active:
            return False
        self.reported, self.failed = True, self.failed or failed
        if self.phase is not Phase.STOPPING:
            self.go(Phase.STOPPING)
        return True

    def end(self) -> Phase:
        """The thread has ended: finished or failed, from any active phase (the thread's end is
        a fact whatever was asked before it)."""
        if self.active:
            self.phase = Phase.STOPPING
            self.go(Phase.FAILED if self.failed else Phase.FINISHED)
        return self.phase


@dataclass(frozen=True)
class Buttons:
    start: bool
    pause: bool
    resume: bool
    stop: bool


def buttons(phase: Phase, form_valid: bool, resumable: bool) -> Buttons:
    """Which buttons are enabled. ``resumable``: a stopped run exists that Resume would continue."""
    return Buttons(
        start=not phase.active and form_valid,
        pause=phase is Phase.RUNNING,
        resume=phase in (Phase.PAUSING, Phase.PAUSED) or (not phase.active and resumable),
        stop=phase.active and phase is not Phase.STOPPING)
