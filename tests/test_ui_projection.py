"""Projecting images in the window: drop / File > Open image make the projected latent the
focus, the panel shows it, it is saved with the run and reopened; bad input gets a message."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from explorer.ui.generate.view import GenerateView
from explorer.ui.shell.session import ModelSession


@pytest.fixture
def gsession(trained_run, qtbot):
    """A session on a run of its own: projecting writes projections.pt into the run folder."""
    s = ModelSession()
    s.open_checkpoint(trained_run)
    yield s
    s.close()


@pytest.fixture
def view(gsession, qtbot):
    v = GenerateView(gsession)
    v.projector.steps, v.projector.restarts = 20, 2
    qtbot.addWidget(v)
    yield v
    v.projector.cancel()
    v.projector.wait()


@pytest.fixture
def warnings_shown(monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text))
    return shown


@pytest.fixture
def image(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "mine.png"
    Image.fromarray(rng.integers(0, 255, (12, 10, 4), dtype=np.uint8), "RGBA").save(path)
    return path


def drop(view, path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    ev = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    view.dropEvent(ev)


def test_drop_makes_the_projection_the_focus(view, gsession, image, trained_run, qtbot):
    with qtbot.waitSignal(view.projector.projected, timeout=30000) as got:
        drop(view, image)
    p = got.args[0]
    focus = gsession.focus
    assert focus is not None and focus.seed is None
    assert torch.equal(focus.z, p.z) and torch.equal(focus.y, p.y)
    assert view.projection_panel.isVisibleTo(view)
    assert "pixel error" in view.projection_panel.caption.text()
    assert "pixel error" in view.status.text() and "centre-cropped" in view.status.text()
    # saved with the run, listed for reopening
    assert (trained_run / "projections.pt").is_file()
    assert view.saved_combo.count() == 1
    # the Control sliders' offset edits it: the panel renders the edited point
    with qtbot.waitSignal(gsession.rendered, timeout=10000,
                          check_params_cb=lambda r: r.tag == "projection-edit"):
        gsession.set_offset(torch.ones(p.z.numel()))
    qtbot.waitUntil(lambda: view.projection_panel.edited is not None, timeout=10000)
    # morph endpoint: the edited projected point is sent as A
    with qtbot.waitSignal(gsession.endpoint_picked) as picked:
        view.focus_panel.pick("A")
    assert picked.args[0] == "A" and torch.allclose(picked.args[1].z, p.z + 1)
    # another focus hides the panel; picking the saved item brings the projection back
    gsession.set_offset(None)
    gsession.set_focus(None)
    assert not view.projection_panel.isVisibleTo(view)
    view.projector.show_saved(0)
    assert torch.equal(gsession.focus.z, p.z)
    assert view.projection_panel.isVisibleTo(view)


def test_saved_projections_reopen_with_the_run(gsession, image, trained_run, qtbot):
    v1 = GenerateView(gsession)
    v1.projector.steps, v1.projector.restarts = 5, 1
    qtbot.addWidget(v1)
    with qtbot.waitSignal(v1.projector.projected, timeout=30000):
        assert v1.projector.project(image)
    v1.projector.wait()
    s2 = ModelSession()
    try:
        s2.open_checkpoint(trained_run)
        v2 = GenerateView(s2)
        qtbot.addWidget(v2)
        assert v2.saved_combo.count() == 1 and "mine.png" in v2.saved_combo.itemText(0)
        v2.projector.show_saved(0)
        assert torch.equal(s2.focus.z, v1.projector.current.z)
    finally:
        s2.close()


def test_file_menu_open_image(gsession, image, tmp_path, qtbot, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from explorer.ui.main_window import MainWindow

    win = MainWindow(gsession, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    view = GenerateView(gsession)  # owned by the window
    view.projector.steps, view.projector.restarts = 5, 1
    win.add_view("Generate", view)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(image), ""))
    act = next(a for m in win.menuBar().actions() for a in m.menu().actions()
               if a.text() == "Open &image…")
    with qtbot.waitSignal(view.projector.projected, timeout=30000):
        act.trigger()
    view.projector.wait()
    assert win.tabs.currentWidget() is view
    assert gsession.focus is view.projector.focus


@pytest.mark.parametrize("case", ["folder", "unreadable", "missing"])
def test_bad_input_gets_a_message(view, gsession, tmp_path, qtbot, warnings_shown, case):
    (tmp_path / "bad.png").write_bytes(b"not an image")
    path = {"folder": tmp_path, "unreadable": tmp_path / "bad.png",
            "missing": tmp_path / "gone.png"}[case]
    drop(view, path)
    qtbot.waitUntil(lambda: not view.projector.busy(), timeout=30000)
    qtbot.waitUntil(lambda: bool(warnings_shown), timeout=5000)
    expect = {"folder": "folder", "unreadable": "not a readable image",
              "missing": "not found"}[case]
    assert expect in warnings_shown[0]
    assert gsession.focus is None


def test_cancel_leaves_the_focus(view, gsession, image, qtbot):
    view.projector.steps = 100000
    assert view.projector.project(image)
    with qtbot.waitSignal(view.projector.busy_changed, timeout=30000):
        view.projector.cancel()
    assert gsession.focus is None
    assert "cancelled" in view.status.text()
