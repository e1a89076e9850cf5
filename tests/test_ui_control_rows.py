"""The Control view renders its DirectionSet: edits update only the rows they touch, and a slider
tick computes the offset once (the session's offset and the preview's z are the same sum)."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("PySide6")

from explorer.core.directions import direction as dmath  # noqa: E402
from explorer.core.directions.direction import Direction  # noqa: E402
from explorer.ui.control.view import TAG, ControlView  # noqa: E402
from explorer.ui.shell.session import ModelSession  # noqa: E402


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
    monkeypatch.setattr(session, "request", lambda req: requests.append(req) or original(req))
    v = ControlView(session)
    v.requests = requests
    qtbot.addWidget(v)
    v.set_directions([Direction(n, torch.eye(8)[i], "sefa") for i, n in enumerate("abc")])
    return v


def _row_names(view) -> list[str]:
    return [view.rows_box.itemAt(i).widget().name_edit.text() for i in range(len(view.rows))]


def test_one_offset_computation_per_slider_tick(view, session, monkeypatch):
    calls = []
    real = dmath.offset
    monkeypatch.setattr(dmath, "offset", lambda d, a: calls.append(1) or real(d, a))
    before = len(view.requests)
    view.rows[1].set_alpha(1.25)
    assert len(calls) == 1
    req = [r for r in view.requests[before:] if r.tag == TAG]
    assert len(req) == 1
    assert session.offset is view.dirs.offset()  # one source of truth
    assert torch.allclose(req[0].z[0], view.base()[0] + 1.25 * torch.eye(8)[1])
    view.rows[1].set_alpha(1.25)  # no change: nothing recomputed, nothing requested
    assert len(calls) == 1 and len([r for r in view.requests if r.tag == TAG]) - before == 1


def test_move_and_delete_keep_the_other_row_widgets(view, session):
    a, b, c = view.rows
    b.set_alpha(2.0)
    b.move_requested.emit(-1)  # "b" up: the same widget moves, with its slider value
    assert view.rows == [b, a, c] and _row_names(view) == ["b", "a", "c"]
    assert [d.name for d in view.directions] == ["b", "a", "c"] and view.alphas == (2.0, 0, 0)
    assert b.alpha == 2.0 and torch.allclose(session.offset, 2.0 * torch.eye(8)[1])

    a.set_alpha(-1.0)  # "a" is now row 1: its α lands on direction "a", not on "b"
    assert view.alphas == (2.0, -1.0, 0.0)

    a.delete_requested.emit()
    assert view.rows == [b, c] and [d.name for d in view.directions] == ["b", "c"]
    assert torch.allclose(session.offset, 2.0 * torch.eye(8)[1])
    c.renamed.emit("cc")
    assert view.directions[1].name == "cc" and view.cosine.rowCount() == 2


def test_reset_and_orthogonalise_keep_rows_and_request_once(view, session):
    rows = list(view.rows)
    view.rows[0].set_alpha(1.0)
    view.rows[2].set_alpha(-2.0)
    before = len(view.requests)
    view.reset_all.click()
    assert view.rows == rows and [r.alpha for r in rows] == [0, 0, 0]
    assert [r.value_label.text() for r in rows] == ["+0.00"] * 3
    assert session.offset is None and len(view.requests) - before == 1

    view.add_directions([Direction("ad", torch.eye(8)[0] + torch.eye(8)[3], "sefa"),
                         Direction("a again", -torch.eye(8)[0], "sefa")])
    assert view.rows[:3] == rows and len(view.rows) == 4  # one row appended, none rebuilt
    view.rows[3].set_alpha(1.0)
    view.orthogonalise()
    assert view.rows[:3] == rows and view.rows[3].alpha == 1.0
    assert abs(view.cosine.value(0, 3)) < 0.01 and "orthogonalised" in view.status.text()
    assert torch.allclose(view.directions[3].vector, torch.eye(8)[3], atol=1e-6)
    assert torch.allclose(session.offset, torch.eye(8)[3], atol=1e-6)
