"""The Train view's phase machine and its buttons, without Qt."""

from __future__ import annotations

import pytest

from explorer.core.training.phase import ACTIVE, TRANSITIONS, Buttons, Phase, TrainPhase, buttons


def _walk(*steps: Phase) -> TrainPhase:
    p = TrainPhase()
    for s in steps:
        assert p.go(s), (p.phase, s)
    return p


def test_a_run_through_every_phase():
    p = _walk(Phase.STARTING, Phase.RUNNING, Phase.PAUSING, Phase.PAUSED, Phase.RUNNING,
              Phase.STOPPING)
    assert p.active and not p.reported
    assert p.report_end(failed=False) and p.reported and p.phase is Phase.STOPPING
    assert p.end() is Phase.FINISHED and not p.active
    assert p.go(Phase.STARTING) and not p.reported  # a new run forgets the last one's end


def test_failure_ends_failed_and_the_next_run_starts_clean():
    p = _walk(Phase.STARTING)
    assert p.report_end(failed=True) and p.phase is Phase.STOPPING
    assert p.end() is Phase.FAILED
    assert p.go(Phase.STARTING) and not p.failed
    p.go(Phase.RUNNING)
    assert p.end() is Phase.FINISHED  # the thread ended without a word: not a failure


def test_a_completed_run_then_its_error_still_ends_failed():
    p = _walk(Phase.STARTING, Phase.RUNNING)
    p.report_end(failed=False)
    p.report_end(failed=True)
    assert p.end() is Phase.FAILED


@pytest.mark.parametrize("late", [Phase.PAUSED, Phase.RUNNING, Phase.PAUSING])
def test_late_signals_after_stop_are_refused(late):
    p = _walk(Phase.STARTING, Phase.RUNNING, Phase.PAUSING, Phase.STOPPING)
    assert not p.go(late) and p.phase is Phase.STOPPING


def test_nothing_active_refuses_run_events():
    p = TrainPhase()
    for to in (Phase.RUNNING, Phase.PAUSED, Phase.PAUSING, Phase.STOPPING, Phase.FINISHED):
        assert not p.go(to) and p.phase is Phase.IDLE
    assert not p.report_end(failed=True) and p.end() is Phase.IDLE
    assert p.go(Phase.IDLE)  # viewing another run folder


def test_the_table_is_closed_and_only_active_phases_reach_stopping():
    assert set(TRANSITIONS) == set(Phase)
    for frm, tos in TRANSITIONS.items():
        assert tos <= set(Phase)
        if Phase.STOPPING in tos:
            assert frm in ACTIVE
    assert Phase.PAUSED == "paused"  # plain strings in the status line and in tests


def test_buttons_follow_the_phase():
    ok = dict(form_valid=True, resumable=True)
    assert buttons(Phase.IDLE, **ok) == Buttons(start=True, pause=False, resume=True, stop=False)
    assert buttons(Phase.IDLE, form_valid=False, resumable=False) == Buttons(False, False, False,
                                                                             False)
    assert buttons(Phase.STARTING, **ok) == Buttons(False, False, False, True)
    assert buttons(Phase.RUNNING, **ok) == Buttons(False, True, False, True)
    assert buttons(Phase.PAUSING, **ok) == Buttons(False, False, True, True)
    assert buttons(Phase.PAUSED, **ok) == Buttons(False, False, True, True)
    assert buttons(Phase.STOPPING, **ok) == Buttons(False, False, False, False)
    for ended in (Phase.FINISHED, Phase.FAILED):
        assert buttons(ended, **ok) == Buttons(True, False, True, False)
        assert buttons(ended, form_valid=True, resumable=False).resume is False
