"""The job protocol (Qt-free): one cancel token, one Cancelled, one user-error base, progress as
(fraction, text) with one throttle."""

from __future__ import annotations

import pytest

from explorer.cli.common import UsageError
from explorer.core.directions.direction import DirectionsError
from explorer.core.jobs import (
    Cancelled,
    CancelToken,
    Throttle,
    counted,
    is_internal,
    text_steps,
    user_message,
)
from explorer.core.latent.export import ExportError
from explorer.core.latent.projection import ProjectionError
from explorer.core.quality.evaluate import QualityError
from explorer.core.training.timelapse import TimelapseError
from trainer.checkpoint import CheckpointError
from trainer.config import ConfigError
from trainer.data import DataError
from trainer.errors import UserError
from trainer.fileio import DiskFullError
from trainer.loop import RunError
from trainer.plainfile import PlainFileError
from trainer.runlock import RunLocked

USER_ERRORS = [UsageError, DirectionsError, ExportError, ProjectionError, QualityError,
               TimelapseError, CheckpointError, ConfigError, DataError, RunError, PlainFileError,
               RunLocked]


@pytest.mark.parametrize("cls", USER_ERRORS, ids=lambda c: c.__name__)
def test_every_user_error_has_the_one_base(cls: type[Exception]) -> None:
    err = cls("the whole message, with: colons")
    assert isinstance(err, UserError) and not is_internal(err)
    assert user_message(err) == "the whole message, with: colons"


def test_kinds_keep_their_other_bases(tmp_path) -> None:
    assert issubclass(ConfigError, ValueError)  # callers catching ValueError still do
    full = DiskFullError(tmp_path / "x.png")
    assert isinstance(full, OSError) and isinstance(full, UserError)
    assert user_message(full) == str(full) and "disk full" in str(full)


def test_user_message_whole_for_user_errors_and_short_for_bugs() -> None:
    long = "x" * 5000
    assert user_message(ExportError(long)) == long  # shown whole, never cut
    msg = user_message(KeyError("missing"))
    assert msg == "internal error: KeyError: 'missing'" and is_internal(KeyError())
    cut = user_message(RuntimeError("line one\nline two " + long))
    assert "\n" not in cut and len(cut) < 400 and cut.startswith("internal error: RuntimeError")
    assert user_message(AssertionError()) == "internal error: AssertionError"
    assert not is_internal(Cancelled())


def test_cancel_token() -> None:
    token = CancelToken()
    assert not token.cancelled and not token()
    token.check()  # nothing yet
    token.cancel()
    assert token.cancelled and token()
    with pytest.raises(Cancelled):
        token.check()


def test_throttle_passes_first_last_visible_moves_and_one_per_interval() -> None:
    now = [0.0]
    seen: list[tuple[float | None, str]] = []
    th = Throttle(lambda f, t: seen.append((f, t)), interval=0.05, step=0.01,
                  clock=lambda: now[0])
    th(0.0, "a")
    th(0.001, "b")  # same instant, the bar would not move: dropped
    th(0.2, "c")  # moves the bar: passes
    th(None, "d")  # unknown fraction, too soon: dropped
    now[0] = 0.06
    th(0.2005, "e")  # the interval passed: the text may have changed
    th(1.0, "done")  # finished: always passes
    assert seen == [(0.0, "a"), (0.2, "c"), (0.2005, "e"), (1.0, "done")]
    seen.clear()
    th2 = Throttle(lambda f, t: seen.append((f, t)), clock=lambda: 0.0)
    for i in range(100_001):  # a flood in one instant: about one report per percent
        th2(i / 100_000, "x")
    assert 100 <= len(seen) <= 102 and seen[-1] == (1.0, "x")


def test_adapters_check_the_token_and_report_fractions() -> None:
    seen: list[tuple[float | None, str]] = []
    token = CancelToken()
    step = counted(lambda f, t: seen.append((f, t)), token, "saving", start=0.5, span=0.5)
    step(1, 2)
    say = text_steps(lambda f, t: seen.append((f, t)), token)
    say("snapshot 10")
    assert seen == [(0.75, "saving"), (None, "snapshot 10")]
    token.cancel()
    with pytest.raises(Cancelled):
        step(2, 2)
    with pytest.raises(Cancelled):
        say("never shown")
    assert len(seen) == 2
