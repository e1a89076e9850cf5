"""Training in the window costs the other tabs nothing while nobody looks at them: a tab that is
not in front holds its render requests until it is shown, and the live model is handed over
only when another tab than Train is in front (or when the window is not shown at all)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings  # noqa: E402

from explorer.core.latent.latent_math import one_hot, seed_z  # noqa: E402
from explorer.ui.app import build_window  # noqa: E402
from explorer.ui.shell.session import Focus  # noqa: E402
from trainer.events import Preview, Started  # noqa: E402
from trainer.loop import train  # noqa: E402

TIMEOUT = 30000
PREVIEW_TAGS = {"grid", "focus", "control", "morph", "control-examples"}


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("paths/runs_root", str(tmp_path / "runs"))
    w = build_window(settings=settings, open_demo=False)
    qtbot.addWidget(w)
    return w


@pytest.fixture
def requests(window, monkeypatch):
    seen = []
    original = window.session.request
    monkeypatch.setattr(window.session, "request", lambda req: seen.append(req) or original(req))
    return seen


@pytest.fixture
def run_events(tmp_path, tiny_cfg):
    events = list(train(tmp_path / "live", tiny_cfg))
    started = next(e for e in events if isinstance(e, Started))
    previews = [e for e in events if isinstance(e, Preview)]
    assert len(previews) >= 2 and previews[0].generator_state
    return started, previews


def _tab(window, title):
    return next(window.tabs.widget(i) for i in range(window.tabs.count())
                if window.tabs.tabText(i) == title)


def test_tabs_behind_render_nothing_until_shown(qtbot, window, requests, readonly_run):
    window.show()
    qtbot.waitExposed(window)
    window.tabs.setCurrentWidget(window.train_view)
    assert window.open_checkpoint(readonly_run / "checkpoint.pt")
    window.tabs.setCurrentWidget(window.train_view)  # opening a model may switch tabs
    requests.clear()
    window.session.open_checkpoint(readonly_run / "checkpoint.pt")  # a new model: all re-render
    info = window.session.info
    window.session.set_focus(Focus(seed_z(3, info.z_dim), one_hot([1], info.n_classes)[0], 3))
    assert not [r for r in requests if r.tag in PREVIEW_TAGS]
    morph = _tab(window, "Morph")
    with qtbot.waitSignal(morph.preview_rendered, timeout=TIMEOUT):
        window.tabs.setCurrentWidget(morph)  # shown: its newest request goes now
    assert [r.tag for r in requests if r.tag in PREVIEW_TAGS] == ["morph"]
    generate = _tab(window, "Generate")
    with qtbot.waitSignal(generate.grid_shown, timeout=TIMEOUT):
        window.tabs.setCurrentWidget(generate)
    # The focus panel inside the Generate tab is shown with it, and sends its held request too.
    qtbot.waitUntil(lambda: {r.tag for r in requests if r.tag in PREVIEW_TAGS}
                    == {"morph", "grid", "focus"}, timeout=TIMEOUT)
    assert [r.tag for r in requests].count("focus") == 1


def test_live_model_waits_while_the_train_tab_is_in_front(qtbot, window, run_events):
    started, previews = run_events
    window.show()
    qtbot.waitExposed(window)
    window.tabs.setCurrentWidget(window.train_view)
    live = window.train_view.live
    live.begin(started)
    for pv in previews:
        live.offer(pv)
    assert window.session.info is None and live.pending  # nobody looks: no model built
    window.tabs.setCurrentWidget(_tab(window, "Control"))
    assert window.session.info is not None and window.session.info.step == previews[-1].step
    assert window.session.info.path is None and not live.pending


def test_live_model_goes_at_once_when_the_window_is_not_shown(window, run_events):
    started, previews = run_events
    live = window.train_view.live
    live.begin(started)
    live.offer(previews[0])
    assert window.session.info is not None and window.session.info.step == previews[0].step


def test_a_held_request_is_dropped_when_the_model_changes(qtbot, window, requests, readonly_run,
                                                          tiny_cfg, tmp_path):
    other = tmp_path / "z6"
    list(train(other, tiny_cfg.with_changes(model={"z_dim": 6})))
    window.show()
    qtbot.waitExposed(window)
    assert window.open_checkpoint(readonly_run / "checkpoint.pt")
    window.tabs.setCurrentWidget(window.train_view)
    info = window.session.info
    window.session.set_focus(Focus(seed_z(3, info.z_dim), one_hot([1], info.n_classes)[0], 3))
    generate = _tab(window, "Generate")
    assert generate.focus_panel.renders.held is not None
    # Another model: its latent space differs (z_dim 6), so the focus is dropped and the panel
    # asks nothing; the request held for the old model (z_dim 8) must not be sent either.
    window.session.open_checkpoint(other / "checkpoint.pt")
    assert window.session.focus is None and generate.focus_panel.renders.held is None
    requests.clear()
    with qtbot.waitSignal(generate.grid_shown, timeout=TIMEOUT):
        window.tabs.setCurrentWidget(generate)
    assert "focus" not in [r.tag for r in requests]
