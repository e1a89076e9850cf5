"""The window's projection, as a user drives it: the progress dialog survives the job ending
inside its own event processing, and the focus says it is your image, not a "picked sample"."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QProgressDialog

from explorer.ui.generate.view import GenerateView
from explorer.ui.shell.session import ModelSession


@pytest.fixture
def view(trained_run, qtbot):
    s = ModelSession()
    s.open_checkpoint(trained_run)
    v = GenerateView(s)
    v.projector.steps, v.projector.restarts = 5, 1
    qtbot.addWidget(v)
    yield v
    v.projector.cancel()
    v.projector.wait()
    s.close()


def test_progress_after_the_dialog_closed_inside_set_value(view):
    """A window-modal QProgressDialog.setValue processes events, so the job's end can be
    handled inside it and close the dialog: the progress update must not then use it (it
    raised AttributeError on None, seen under Xvfb with the demo)."""
    proj = view.projector

    class ClosesInside(QProgressDialog):
        def setValue(self, value: int) -> None:  # noqa: N802 - Qt override
            super().setValue(value)
            proj._close_dialog()  # the job's end, handled in setValue's event processing

    proj.dialog = ClosesInside()
    proj._on_progressed(0.5, "step 50/100")  # raised before the fix
    assert proj.dialog is None
    proj._on_progressed(0.6, "step 60/100")  # and later updates are ignored
    assert proj.dialog is None


def test_focus_caption_names_your_image(view, tmp_path, qtbot):
    path = tmp_path / "drawing.png"
    a = np.zeros((10, 14, 3), np.uint8)
    a[2:8, 3:11] = (240, 140, 30)
    Image.fromarray(a).save(path)
    with qtbot.waitSignal(view.projector.projected, timeout=30000):
        assert view.project_image(str(path))
    qtbot.waitUntil(lambda: not view.projector.busy(), timeout=30000)
    cap = view.focus_panel.caption.text()
    assert cap.startswith("your image drawing.png"), cap
    assert "picked sample" not in cap
    # sent to Morph with a slider offset, it keeps saying what it is
    import torch

    with qtbot.waitSignal(view.session.endpoint_picked) as picked:
        view.session.set_offset(torch.ones(view.session.focus.z.numel()))
        view.focus_panel.pick("A")
    assert picked.args[1].label == "your image drawing.png"
