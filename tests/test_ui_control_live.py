"""The Control view while a run trains: each hand-off of the live model (newer weights of the
same run) keeps the user's directions, their slider values and the marked examples; opening
another model, or a new run, replaces them."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("PySide6")

from explorer.core.directions.direction import (  # noqa: E402
    Direction,
    directions_save_path,
    save_directions,
)
from explorer.ui.control.view import ControlView  # noqa: E402
from explorer.ui.shell.session import ModelSession  # noqa: E402
from explorer.ui.train.live_model import LiveModelShare  # noqa: E402
from trainer.events import Preview, Started  # noqa: E402
from trainer.loop import train  # noqa: E402


@pytest.fixture
def live(qtbot, tmp_path, tiny_cfg):
    """A session, a Control view on it, and a live-model share that hands over at once, with the
    Started event and Previews of a tiny run."""
    events = list(train(tmp_path / "live", tiny_cfg))
    started = next(e for e in events if isinstance(e, Started))
    previews = [e for e in events if isinstance(e, Preview)]
    assert len(previews) >= 2 and previews[0].generator_state
    session = ModelSession("cpu")
    share = LiveModelShare(session, interval_s=0.0)
    view = ControlView(session)
    qtbot.addWidget(view)
    yield session, share, view, started, previews
    session.close()


def _names(view) -> list[str]:
    return [d.name for d in view.directions]


def _user_directions(view) -> None:
    """What a user does on the live model: two directions, one slider moved, two marks."""
    view.add_directions([Direction("smile", torch.eye(8)[0], "example"),
                         Direction("light", torch.eye(8)[3], "example", (-2.0, 2.0))])
    view.rows[1].set_alpha(1.5)  # as the user drags it: the row reports the change
    view.examples.refresh()
    view.examples.toggle(0)
    view.examples.toggle(2)
    view.examples.toggle(2)


def test_directions_and_alphas_survive_hand_offs_of_the_same_run(live):
    session, share, view, started, previews = live
    share.begin(started)
    share.offer(previews[0])
    assert session.info is not None and session.info.path is None
    _user_directions(view)
    alphas = view.alphas
    assert alphas[1] == pytest.approx(1.5)
    offset = view.offset().clone()
    for pv in (previews[1], previews[-1]):  # two more hand-offs of the same run
        share.offer(pv)
        assert session.info.step == pv.step
        assert _names(view) == ["smile", "light"] and len(view.rows) == 2
        assert view.alphas == alphas
        assert view.rows[1].alpha == pytest.approx(1.5)
        assert view.examples.states[:3] == ["has", "", "lacks"]
        assert torch.equal(session.offset, offset)  # the grid's offset stays applied too
    assert view.examples.z is not None


def test_a_new_run_clears_the_live_directions(live):
    session, share, view, started, previews = live
    share.begin(started)
    share.offer(previews[0])
    _user_directions(view)
    share.begin(started)  # the next run (even in the same folder): another model
    share.offer(previews[1])
    assert _names(view) == [] and view.rows == []


def test_opening_another_checkpoint_replaces_the_live_directions(live, trained_run):
    session, share, view, started, previews = live
    save_directions(directions_save_path(trained_run / "checkpoint.pt"),
                    [Direction("saved", torch.eye(8)[5], "sefa")])
    share.begin(started)
    share.offer(previews[0])
    _user_directions(view)
    session.open_checkpoint(trained_run / "checkpoint.pt")
    assert _names(view) == ["saved"] and view.alphas == (0.0,)
    assert view.examples.z is None
