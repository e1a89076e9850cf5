"""The Control view, driven with qtbot on a tiny trained run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("PySide6")

from explorer.core.directions.direction import Direction, load_directions  # noqa: E402
from explorer.core.latent.render import Renderer  # noqa: E402
from explorer.ui.control.view import TAG, ControlView  # noqa: E402
from explorer.ui.shell.session import ModelSession  # noqa: E402

TIMEOUT = 30000  # ms; the 2-core CI machine is shared


@pytest.fixture
def session(trained_run):
    s = ModelSession("cpu")
    s.open_checkpoint(trained_run / "checkpoint.pt")
    yield s
    s.close()


@pytest.fixture
def view(qtbot, session, monkeypatch):
    requests = []
    original = session.request

    def spy(req):
        requests.append(req)
        return original(req)

    monkeypatch.setattr(session, "request", spy)
    v = ControlView(session)
    v.requests = requests
    qtbot.addWidget(v)
    return v


def _latest(view) -> object:
    return [r for r in view.requests if r.tag == TAG][-1]


def _render_of_latest(qtbot, session, view, action) -> np.ndarray:
    """Run ``action`` and return the preview rendered for the newest "control" request."""
    with qtbot.waitSignal(session.rendered, timeout=TIMEOUT,
                          check_params_cb=lambda r: r.tag == TAG
                          and r.stamp == _latest(view).stamp) as blocker:
        action()
    return blocker.args[0].images[0].copy()


def test_slider_drives_offset_and_preview_and_reset_restores(qtbot, session, view, trained_run):
    renderer = Renderer.from_checkpoint(trained_run / "checkpoint.pt")
    d = Direction("d", torch.eye(8)[2], "sefa", (-3.0, 3.0))
    original = _render_of_latest(qtbot, session, view, lambda: view.set_directions([d]))
    base_z = view.base()[0]
    assert session.offset is None

    moved = _render_of_latest(qtbot, session, view, lambda: view.rows[0].set_alpha(2.5))
    req = _latest(view)
    assert torch.allclose(session.offset, 2.5 * d.vector)
    assert torch.allclose(req.z[0], base_z + 2.5 * d.vector)
    assert view.rows[0].value_label.text() == "+2.50"
    # What is shown is exactly G(z + α·d).
    assert np.array_equal(moved, renderer.render(req.z, req.y)[0])
    assert np.array_equal(view.preview.image_size, (8, 8))
    assert view.ms_label.text().startswith("render:") and "–" not in view.ms_label.text()

    reset = _render_of_latest(qtbot, session, view, view.reset_all.click)
    assert session.offset is None and view.rows[0].alpha == 0
    assert torch.allclose(_latest(view).z[0], base_z)
    assert np.array_equal(reset, original)


def test_compute_sefa_in_worker_adds_sliders_then_save_and_autoload(qtbot, session, view,
                                                                    trained_run):
    view.sources.select("sefa")
    view.sources.k_spin.setValue(3)
    view.sources.compute_button.click()
    assert view.sources.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: view.sources.task is None and len(view.rows) == 3, timeout=TIMEOUT)
    assert [d.source for d in view.directions] == ["sefa"] * 3
    assert view.cosine.rowCount() == 3 and abs(view.cosine.value(0, 0) - 1) < 1e-6
    # SeFa eigenvectors are orthogonal already; a second compute adds no duplicates.
    view.sources.compute_button.click()
    qtbot.waitUntil(lambda: view.sources.task is None, timeout=TIMEOUT)
    assert len(view.rows) == 3

    view.rows[1].name_edit.setText("my name")
    view.rows[1].name_edit.editingFinished.emit()
    view.move(1, -1)
    assert view.directions[0].name == "my name"
    view.delete(2)
    path = view.save()
    assert path == trained_run / "directions.pt"
    assert [d.name for d in load_directions(path)] == [d.name for d in view.directions]

    view.set_directions([])
    session.open_checkpoint(trained_run / "checkpoint.pt")  # model changed -> auto-load
    assert [d.name for d in view.directions][:1] == ["my name"] and len(view.rows) == 2


def test_cancel_stops_a_supervised_computation(qtbot, view):
    view.sources.select("supervised")
    view.sources.compute_button.click()
    view.sources.cancel_button.click()
    qtbot.waitUntil(lambda: view.sources.task is None, timeout=TIMEOUT)
    assert view.status.text() == "cancelled"
    assert view.rows == []


def test_orthogonalise_and_by_example(qtbot, session, view):
    g = torch.Generator().manual_seed(0)
    base = torch.randn(8, generator=g)
    view.set_directions([Direction(f"d{i}", base + 0.5 * torch.randn(8, generator=g), "sefa")
                         for i in range(3)])
    assert abs(view.cosine.value(0, 1)) > 0.3
    view.orth_button.click()
    assert abs(view.cosine.value(0, 1)) < 0.01 and abs(view.cosine.value(1, 2)) < 0.01

    with qtbot.waitSignal(session.rendered, timeout=TIMEOUT,
                          check_params_cb=lambda r: r.tag == "control-examples"):
        view.sources.select("example")
    assert view.examples.isVisibleTo(view)
    view.examples.toggle(0)
    view.examples.toggle(1)
    view.examples.toggle(1)  # -> lacks
    assert view.examples.states[:2] == ["has", "lacks"]
    view.examples.name.setText("bigger")
    view.sources.compute_button.click()  # "Add direction" for the example source
    assert view.directions[-1].name == "bigger" and view.directions[-1].source == "example"


def test_export_sweep_gif(qtbot, view, tmp_path):
    view.set_directions([Direction("d", torch.eye(8)[0], "sefa", (-2.0, 2.0))])
    out = tmp_path / "sweep.gif"
    with qtbot.waitSignal(view.sweeps.saved, timeout=TIMEOUT):
        view.export_sweep(0, out, frames=6)
    from PIL import Image

    with Image.open(out) as im:
        assert im.n_frames >= 2 and im.size[0] >= 128
