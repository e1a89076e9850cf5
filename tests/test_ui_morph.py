"""MorphView driven with qtbot: endpoints, preview, playback, exports equal to the CLI's."""

import numpy as np
import pytest
import torch
from gif_frames import read_gif
from PIL import Image
from PySide6.QtCore import Qt, QThread
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from explorer.core.latent.latent_math import one_hot, seed_z
from explorer.ui.morph.view import EMPTY, MorphView
from explorer.ui.shell.session import Focus
from main import main


@pytest.fixture
def view(session, qtbot):
    v = MorphView(session)
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.show()
    qtbot.waitUntil(lambda: v.frames is not None, timeout=10000)
    return v


@pytest.fixture
def errors(monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "critical",
                        lambda parent, title, text, *a, **k: shown.append(text))
    return shown


def configure(view, qtbot, a=3, b=4, class_a=0, class_b=2, frames=5, fps=10, ping_pong=True,
              spherical=False, scale=2):
    view.a.seed.setValue(a)
    view.b.seed.setValue(b)
    view.a.class_combo.setCurrentIndex(class_a)
    view.b.class_combo.setCurrentIndex(class_b)
    view.fps.setValue(fps)
    view.scale.setValue(scale)
    (view.slerp if spherical else view.lerp).setChecked(True)
    view.ping_pong.setChecked(ping_pong)
    with qtbot.waitSignal(view.preview_rendered, timeout=10000) as blocker:
        view.frame_count.setValue(frames)
    return blocker.args[0]


def test_preview_frame_count_and_scrubber(view, qtbot):
    assert len(view.frames) == 24  # defaults
    n = configure(view, qtbot, frames=5, ping_pong=True)
    assert n == 8 == len(view.frames) and view.scrubber.maximum() == 7
    view.scrubber.setValue(4)
    assert view.frame_label.text() == "frame 5 / 8"
    np.testing.assert_array_equal(view.preview._images, view.frames[4])
    assert view.strip.count == 8 and view.strip.focused == 4
    qtbot.mouseClick(view.strip, Qt.MouseButton.LeftButton,
                     pos=view.strip.tile_rects()[6].center())
    assert view.scrubber.value() == 6 and view.frame_label.text() == "frame 7 / 8"
    with qtbot.waitSignal(view.preview_rendered, timeout=10000) as blocker:
        view.ping_pong.setChecked(False)
    assert blocker.args[0] == 5


def test_class_morph_same_z(view, qtbot):
    configure(view, qtbot, a=3, b=3, class_a=1, class_b=4, frames=5, ping_pong=False)
    z, y = view.latents()
    assert torch.allclose(z, seed_z(3, 8).expand(5, -1))  # same z: only the class moves
    assert torch.equal(y[0], one_hot([1], 5)[0]) and torch.equal(y[-1], one_hot([4], 5)[0])
    torch.testing.assert_close(y[2], (one_hot([1], 5)[0] + one_hot([4], 5)[0]) / 2)


def test_endpoint_picked_from_generate(view, session, qtbot):
    z = torch.randn(8) * 0.3  # e.g. a truncated or slider-edited sample: not seed_z(seed)
    with qtbot.waitSignal(view.preview_rendered, timeout=10000):
        session.pick_endpoint("B", Focus(z, one_hot([2], 5)[0], 42))
    assert view.b.seed.value() == 42 and view.b.class_combo.currentIndex() == 2
    assert view.b.picked and view.b.origin.isVisibleTo(view)
    zs, ys = view.latents()
    assert torch.equal(zs[-1], z) and ys[-1].argmax() == 2
    with qtbot.waitSignal(view.preview_rendered, timeout=10000):
        view.swap.click()
    zs, _ = view.latents()
    assert torch.equal(zs[0], z) and view.a.seed.value() == 42 and view.b.seed.value() == 0
    with qtbot.waitSignal(view.preview_rendered, timeout=10000):
        view.a.seed.setValue(9)  # typing a seed drops the picked z
    assert not view.a.picked and torch.equal(view.latents()[0][0], seed_z(9, 8))


def test_play_pause(view, qtbot):
    view.fps.setValue(50)
    view.play.click()
    assert view.timer.isActive() and view.play.text() == "Pause"
    start = view.scrubber.value()
    qtbot.waitUntil(lambda: view.scrubber.value() != start, timeout=3000)
    view.play.click()
    assert not view.timer.isActive() and view.play.text() == "Play"


def test_gif_and_strip_equal_cli(view, readonly_run, tmp_path, qtbot, monkeypatch):
    configure(view, qtbot, a=3, b=4, class_a=0, class_b=2, frames=5, fps=10, ping_pong=True,
              spherical=False, scale=2)
    gui = tmp_path / "gui.gif"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(gui), ""))
    in_gui_thread = []
    with qtbot.waitSignal(view.exported, timeout=20000):
        view.export_gif.click()
        view.job.progressed.connect(lambda d, t: in_gui_thread.append(
            QThread.currentThread() == QApplication.instance().thread()))
    assert len(in_gui_thread) > 8 and all(in_gui_thread)  # the dialog is only touched there
    cli = tmp_path / "cli.gif"
    assert main(["morph", "--checkpoint", str(readonly_run), "--a", "3", "--b", "4",
                 "--class-a", "0", "--class-b", "2", "--frames", "5", "--fps", "10",
                 "--ping-pong", "--lerp", "--scale", "2", "--out", str(cli)]) == 0
    (gf, gim), (cf, _) = read_gif(gui), read_gif(cli)
    assert len(gf) == 8 and gim.size == (16, 16) and gim.info["duration"] == 100
    for a, b in zip(gf, cf, strict=True):
        np.testing.assert_array_equal(a, b)

    strip = tmp_path / "gui"  # no extension: the view adds .png
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(strip), ""))
    view.pad.setValue(0)
    with qtbot.waitSignal(view.exported, timeout=20000) as blocker:
        view.export_strip.click()
    assert blocker.args == [str(tmp_path / "gui.png")]
    assert main(["morph", "--checkpoint", str(readonly_run), "--a", "3", "--b", "4",
                 "--class-a", "0", "--class-b", "2", "--frames", "5", "--ping-pong", "--lerp",
                 "--scale", "2", "--pad", "0", "--out", str(tmp_path / "cli.png")]) == 0
    a = np.asarray(Image.open(tmp_path / "gui.png"))
    assert a.shape == (16, 8 * 16, 3)
    np.testing.assert_array_equal(a, np.asarray(Image.open(tmp_path / "cli.png")))


def test_export_bad_path_and_cancel(view, tmp_path, qtbot, monkeypatch, errors):
    target = tmp_path / "nope" / "m.gif"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    view.export_gif.click()
    assert errors and "does not exist" in errors[0] and not target.exists()
    target = tmp_path / "m.gif"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    view.export_gif.click()
    with qtbot.waitSignal(view.job.cancelled, timeout=5000):
        view.job.cancel()
    qtbot.wait(200)
    assert list(tmp_path.iterdir()) == []


def test_no_model_empty_state(view, session, qtbot):
    view.play.click()
    session.model_changed.emit(None)
    assert view.preview.message == EMPTY and not view.timer.isActive()
    assert not view.controls.isEnabled() and view.frames is None
    with qtbot.waitSignal(view.preview_rendered, timeout=10000):
        session.model_changed.emit(session.info)
