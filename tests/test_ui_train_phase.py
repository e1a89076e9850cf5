"""The Train view drives its buttons from the phase machine: a late worker signal after Stop
cannot re-enable Pause or Resume, and a failed run ends in the failed phase."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings  # noqa: E402

from explorer.core.training.phase import Phase  # noqa: E402
from explorer.ui.app import build_window  # noqa: E402

TIMEOUT = 30000


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("paths/runs_root", str(tmp_path / "runs"))
    w = build_window(settings=settings)
    qtbot.addWidget(w)
    return w


def _enabled(tv) -> tuple[bool, bool, bool, bool]:
    return tuple(b.isEnabled() for b in (tv.start_button, tv.pause_button, tv.resume_button,
                                         tv.stop_button))


def test_late_paused_signal_after_stop_is_ignored(qtbot, window, tiny_cfg):
    tv = window.train_view
    tv.form.set_config(tiny_cfg.with_changes(train={"steps": 100_000, "preview_every": 4,
                                                    "checkpoint_every": 100_000}))
    assert tv.start() and tv._phase is Phase.STARTING
    qtbot.waitUntil(lambda: tv._phase is Phase.RUNNING, timeout=TIMEOUT)
    assert _enabled(tv) == (False, True, False, True)
    tv.pause()
    tv.stop()
    assert tv._phase is Phase.STOPPING and _enabled(tv) == (False, False, False, False)
    tv._on_paused(tv.step)  # the loop's Paused, delivered after Stop was pressed
    tv._on_resumed(tv.step)
    assert tv._phase is Phase.STOPPING and _enabled(tv) == (False, False, False, False)
    qtbot.waitUntil(lambda: not tv.is_running(), timeout=TIMEOUT)
    assert tv._phase is Phase.FINISHED and tv.thread.wait(5000)
    assert "stopped at step" in window.state_label.text()
    assert _enabled(tv) == (True, False, True, False)


def test_failed_run_ends_in_the_failed_phase(qtbot, window, tiny_cfg, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    tv = window.train_view
    tv.form.set_config(tiny_cfg.with_changes(data={"dataset": "folder", "path": str(empty)}))
    assert tv.start()
    qtbot.waitUntil(lambda: not tv.is_running(), timeout=TIMEOUT)
    assert tv._phase is Phase.FAILED and "failed" in window.state_label.text()
    assert tv.start_button.isEnabled() and not tv.stop_button.isEnabled()
