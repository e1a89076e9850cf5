"""Render results delivered per view: a view's channel receives only the results of its own
requests, never another tag's, never a stale one, never one of the model open before."""

from __future__ import annotations

import threading

import numpy as np
import torch

from explorer.ui.shell.render_worker import RenderResult

TIMEOUT = 20000


def latent(session, n: int = 1) -> tuple[torch.Tensor, torch.Tensor | None]:
    info = session.info
    z = torch.randn(n, info.z_dim, generator=torch.Generator().manual_seed(n))
    y = torch.eye(info.n_classes)[torch.arange(n) % info.n_classes] if info.conditional else None
    return z, y


def collect(channel) -> list[RenderResult]:
    got: list[RenderResult] = []
    channel.rendered.connect(got.append)
    return got


def test_each_channel_receives_only_its_own(session, qtbot):
    grid, focus, twin = (session.channel("grid"), session.channel("focus"),
                         session.channel("grid"))
    got_grid, got_focus, got_twin = collect(grid), collect(focus), collect(twin)
    with qtbot.waitSignal(grid.rendered, timeout=TIMEOUT):
        focus.request(*latent(session, 1))
        grid.request(*latent(session, 3), meta={"mine": True})
    qtbot.waitUntil(lambda: len(got_focus) == 1, timeout=TIMEOUT)
    assert [r.images.shape[0] for r in got_grid] == [3] and got_grid[0].meta == {"mine": True}
    assert [r.tag for r in got_focus] == ["focus"]
    assert got_twin == []  # the same tag, but not its request


def test_stale_results_dropped_and_live_channels_show_anything_newer(session, qtbot):
    exact, live = session.channel("a"), session.channel("b", live=True)
    got_exact, got_live = collect(exact), collect(live)
    exact.latest, live.latest = 5, 5
    images = np.zeros((1, 8, 8, 3), np.uint8)
    for tag in ("a", "b"):
        for stamp in (4, 5, 3):
            session.rendered.emit(RenderResult(tag, stamp, images, 1.0, {}))
    assert [r.stamp for r in got_exact] == [5]  # only the newest request's answer
    assert [r.stamp for r in got_live] == [4, 5]  # newer than shown, in order; 3 is older


def test_results_of_the_previous_model_are_never_delivered(session, qtbot):
    worker = session._render.worker  # noqa: SLF001 - the fault goes in there
    renderer = worker._renderer  # noqa: SLF001
    real, inside, release = renderer.render, threading.Event(), threading.Event()

    def held(z, y):
        inside.set()
        release.wait(10)
        return real(z, y)

    renderer.render = held
    ch = session.channel("grid", live=True)
    got = collect(ch)
    ch.request(*latent(session, 2))
    qtbot.waitUntil(inside.is_set, timeout=TIMEOUT)
    session.set_renderer(renderer)  # the model changes while the render is under way
    renderer.render = real
    release.set()
    with qtbot.waitSignal(ch.rendered, timeout=TIMEOUT):
        ch.request(*latent(session, 4))
    assert [r.images.shape[0] for r in got] == [4]


def test_a_failure_goes_to_the_channel_that_asked(session, qtbot, monkeypatch):
    renderer = session._render.worker._renderer  # noqa: SLF001

    def broken(z, y):
        raise RuntimeError("device lost")

    monkeypatch.setattr(renderer, "render", broken)
    asked, other = session.channel("grid"), session.channel("grid")
    said_asked, said_other = [], []
    asked.failed.connect(said_asked.append)
    other.failed.connect(said_other.append)
    with qtbot.waitSignal(asked.failed, timeout=TIMEOUT):
        asked.request(*latent(session, 1))
    assert said_asked == ["render failed: internal error: RuntimeError: device lost"]
    assert said_other == []
