"""GenerateView driven with qtbot on a tiny trained conditional run."""

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from explorer.core.latent.latent_math import seed_z
from explorer.core.latent.render import Renderer
from explorer.core.latent.sampling import ONE_CLASS, PER_CLASS, RANDOM
from explorer.ui.generate.view import EMPTY, GenerateView
from explorer.ui.shell.render_worker import RenderResult
from explorer.ui.shell.session import Focus
from main import main


@pytest.fixture
def requests(session, monkeypatch):
    """Every RenderRequest the views send, in order."""
    seen = []
    original = session.request

    def record(req):
        seen.append(req)
        return original(req)

    monkeypatch.setattr(session, "request", record)
    return seen


@pytest.fixture
def view(session, requests, qtbot):
    v = GenerateView(session)
    qtbot.addWidget(v)
    v.resize(1000, 600)
    v.show()
    qtbot.waitUntil(lambda: v.latents is not None, timeout=10000)
    return v


def set_mode(view, mode):
    view.mode.setCurrentIndex(view.mode.findData(mode))


def test_seed_change_renders_a_new_grid(view, readonly_run, qtbot):
    before = view.images.copy()
    with qtbot.waitSignal(view.grid_shown, timeout=10000) as blocker:
        view.seed.setValue(7)
    lat = blocker.args[0]
    assert lat.seeds[0] == 7 and view.latents is lat
    assert not np.array_equal(before, view.images)
    expected = Renderer.from_checkpoint(readonly_run).render(lat.z, lat.y)
    np.testing.assert_array_equal(view.images, expected)
    assert "ms" in view.render_time.text()


def test_default_is_one_row_per_class(view, session):
    lat = view.latents
    n_classes = session.info.n_classes
    assert view.spec().mode == PER_CLASS and lat.cols == view.n.value() == 8
    assert len(lat) == 8 * n_classes and view.grid.count == len(lat)
    assert lat.labels == [r for r in range(n_classes) for _ in range(8)]
    assert torch.equal(lat.z[0], lat.z[8])  # the same z down a column
    assert view.grid._row_labels == list(session.info.class_names)


def test_one_class_mode_requests_that_class(view, requests, qtbot):
    with qtbot.waitSignal(view.grid_shown, timeout=10000):
        set_mode(view, ONE_CLASS)
    assert view.n.value() == 16 and view.n.suffix() == ""  # its own count, not "per class"
    with qtbot.waitSignal(view.grid_shown, timeout=10000) as blocker:
        view.class_combo.setCurrentIndex(3)
    req = [r for r in requests if r.tag == "grid"][-1]
    assert req.y.shape == (16, 5) and (req.y.argmax(1) == 3).all()
    assert blocker.args[0].labels == [3] * 16 and view.grid._row_labels == []
    with qtbot.waitSignal(view.grid_shown, timeout=10000) as blocker:
        set_mode(view, RANDOM)
    assert len(set(blocker.args[0].labels)) > 1


def test_truncation_and_stale_results(view, qtbot):
    with qtbot.waitSignal(view.grid_shown, timeout=10000) as blocker:
        view.truncation.setValue(0.5)
    lat = blocker.args[0]
    assert torch.allclose(lat.z[1], (seed_z(1, 8) * 0.5).clamp(-2, 2))
    shown = view.images.copy()
    stale = RenderResult("grid", 1, np.zeros_like(shown), 1.0, {})
    view.session.rendered.emit(stale)  # an old stamp: dropped
    np.testing.assert_array_equal(view.images, shown)


def test_click_focuses_and_picks_endpoints(view, session, qtbot):
    lat = view.latents
    with qtbot.waitSignal(session.focus_changed):
        qtbot.mouseClick(view.grid, Qt.MouseButton.LeftButton,
                         pos=view.grid.tile_rects()[10].center())
    assert session.focus.seed == lat.seeds[10] == 2
    assert torch.equal(session.focus.z, lat.z[10]) and session.focus.y.argmax() == 1
    assert view.grid.focused == 10
    qtbot.waitUntil(lambda: view.focus_panel.view.count == 1, timeout=10000)
    assert "seed 2" in view.focus_panel.caption.text()
    with qtbot.waitSignal(session.endpoint_picked) as blocker:
        view.focus_panel.use_b.click()
    which, focus = blocker.args
    assert which == "B" and focus is session.focus
    view.focus_panel.copy_seed.click()
    assert QApplication.clipboard().text() == "2"
    # with a slider offset, the picked endpoint is the edited sample
    session.set_offset(torch.ones(8))
    with qtbot.waitSignal(session.endpoint_picked) as blocker:
        view.focus_panel.use_a.click()
    assert torch.equal(blocker.args[1].z, lat.z[10] + 1) and blocker.args[1].seed is None


def test_offset_applies_to_grid(view, session, requests, qtbot):
    offset = torch.full((8,), 0.5)
    with qtbot.waitSignal(view.grid_shown, timeout=10000):
        session.set_offset(offset, applies_to_grid=True)
    req = [r for r in requests if r.tag == "grid"][-1]
    assert torch.equal(req.z, view.latents.z + offset)
    with qtbot.waitSignal(view.grid_shown, timeout=10000):
        session.set_offset(None)  # taken off again
    assert torch.equal([r for r in requests if r.tag == "grid"][-1].z, view.latents.z)


def test_export_equals_cli(view, readonly_run, tmp_path, qtbot, monkeypatch):
    gui, cli = tmp_path / "gui.png", tmp_path / "cli.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(gui), ""))
    with qtbot.waitSignal(view.grid_shown, timeout=10000):
        set_mode(view, ONE_CLASS)
    view.seed.setValue(5)
    view.n.setValue(6)
    view.truncation.setValue(0.8)
    with qtbot.waitSignal(view.grid_shown, timeout=10000):
        view.class_combo.setCurrentIndex(1)
    view.scale.setValue(3)
    view.pad.setValue(1)
    with qtbot.waitSignal(view.exported, timeout=20000) as blocker:
        view.export_button.click()
    assert blocker.args == [str(gui)]
    assert main(["sample", "--checkpoint", str(readonly_run), "--seed", "5", "--n", "6",
                 "--class", "1", "--truncation", "0.8", "--scale", "3", "--pad", "1",
                 "--out", str(cli)]) == 0
    a, b = np.asarray(Image.open(gui)), np.asarray(Image.open(cli))
    assert a.shape == (2 * 25 + 1, 3 * 25 + 1, 3)
    np.testing.assert_array_equal(a, b)
    # per-class too
    with qtbot.waitSignal(view.grid_shown, timeout=10000):
        set_mode(view, PER_CLASS)
    with qtbot.waitSignal(view.exported, timeout=20000):
        view.export_button.click()
    assert main(["sample", "--checkpoint", str(readonly_run), "--seed", "5", "--n", "8",
                 "--per-class", "--truncation", "0.8", "--scale", "3", "--pad", "1",
                 "--out", str(cli)]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(gui)), np.asarray(Image.open(cli)))


@pytest.fixture
def errors(monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "critical",
                        lambda parent, title, text, *a, **k: shown.append(text))
    return shown


def test_export_to_missing_folder(view, tmp_path, monkeypatch, errors):
    target = tmp_path / "missing" / "g.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    view.export_button.click()
    assert errors and "does not exist" in errors[0]
    assert not target.exists() and view.job is None


def test_export_write_failure_and_cancel(view, tmp_path, qtbot, monkeypatch, errors):
    target = tmp_path / "g.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))

    def disk_full(self, fp, *a, **k):
        fp.write(b"partial")
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(Image.Image, "save", disk_full)
        with qtbot.waitSignal(view.export_failed, timeout=20000):
            view.export_button.click()
    assert errors and "No space left" in errors[0]
    assert list(tmp_path.iterdir()) == []  # no partial file, no temp file
    view.export_button.click()
    with qtbot.waitSignal(view.job.cancelled, timeout=5000):
        view.job.cancel()
    qtbot.wait(200)
    assert not target.exists()


def test_no_model_empty_state(view, session, qtbot):
    session.set_focus(Focus(torch.zeros(8), None, 1))
    session.model_changed.emit(None)
    assert view.grid.message == EMPTY and view.latents is None
    assert not view.controls.isEnabled()
    with qtbot.waitSignal(view.grid_shown, timeout=10000):
        session.model_changed.emit(session.info)  # and back
    assert view.controls.isEnabled()
