"""Faults injected into each background job of the window: an unexpected exception shows one
line and the window keeps working; a UserError's text is shown whole; a cancel mid-job ends in
the cancelled state with nothing written."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QMessageBox

from explorer.core.latent.export import ExportError, save_gif
from explorer.core.quality.evaluate import QualityError
from explorer.ui.control.view import ControlView
from explorer.ui.quality.view import QualityView
from explorer.ui.shell.export_job import ExportJob
from explorer.ui.shell.render_worker import RenderRequest
from explorer.ui.shell.session import ModelSession

TIMEOUT = 20000
LONG = "the eval classifier cache is from another dataset; " + "delete it and measure again " * 12


def boom(*args, **kwargs):
    raise KeyError("z_dim")


@pytest.fixture
def quality(session, qtbot):
    view = QualityView(session)
    qtbot.addWidget(view)
    yield view
    view.cancel()
    view.wait()


def measure(view: QualityView, qtbot) -> None:
    view.measure.click()
    qtbot.waitUntil(lambda: not view.running, timeout=TIMEOUT)


def test_quality_unexpected_exception_then_works_again(quality, qtbot, monkeypatch, caplog):
    monkeypatch.setattr("explorer.ui.quality.view.evaluate_checkpoint", boom)
    measure(quality, qtbot)
    assert quality.status.text() == "error: internal error: KeyError: 'z_dim'"
    assert quality.measure.isEnabled() and not quality.cancel_button.isEnabled()
    assert any(r.exc_info for r in caplog.records)  # the traceback went to the log

    def fine(*args, progress, **kwargs):
        raise QualityError(LONG)

    monkeypatch.setattr("explorer.ui.quality.view.evaluate_checkpoint", fine)
    measure(quality, qtbot)  # the view is alive: a second job runs
    assert quality.status.text() == f"error: {LONG}"  # whole, not cut


def test_quality_cancel_mid_job(quality, qtbot, monkeypatch):
    inside = threading.Event()

    def slow(*args, progress, **kwargs):
        inside.set()
        for i in range(2000):
            progress(f"step {i}")  # a step callback: the cancel is checked here
            time.sleep(0.005)
        raise AssertionError("not cancelled")

    monkeypatch.setattr("explorer.ui.quality.view.evaluate_checkpoint", slow)
    quality.measure.click()
    qtbot.waitUntil(inside.is_set, timeout=TIMEOUT)
    quality.cancel_button.click()
    qtbot.waitUntil(lambda: not quality.running, timeout=TIMEOUT)
    assert quality.status.text() == "cancelled" and quality.result is None


@pytest.fixture
def control(session, qtbot):
    view = ControlView(session)
    qtbot.addWidget(view)
    yield view
    view.sources.cancel()


def test_directions_unexpected_exception_keeps_the_view(control, qtbot, monkeypatch, caplog):
    monkeypatch.setattr("explorer.ui.control.source_bar.compute_directions", boom)
    said: list[str] = []
    control.sources.status.connect(said.append)
    control.sources.compute()
    qtbot.waitUntil(lambda: control.sources.task is None, timeout=TIMEOUT)
    assert said[-1] == "internal error: KeyError: 'z_dim'"
    assert control.status.text() == said[-1] and control.sources.compute_button.isEnabled()


def test_directions_user_error_shown_whole(control, qtbot, monkeypatch):
    from explorer.core.directions.direction import DirectionsError

    def refuse(*args, **kwargs):
        raise DirectionsError(LONG)

    monkeypatch.setattr("explorer.ui.control.source_bar.compute_directions", refuse)
    control.sources.compute()
    qtbot.waitUntil(lambda: control.sources.task is None, timeout=TIMEOUT)
    assert control.status.text() == LONG


def test_projection_unexpected_exception_shows_one_line(session, qtbot, monkeypatch, tmp_path):
    from explorer.ui.generate.view import GenerateView

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text))
    monkeypatch.setattr("explorer.ui.generate.projection_job.project_file", boom)
    view = GenerateView(session)
    qtbot.addWidget(view)
    image = tmp_path / "mine.png"
    from PIL import Image

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    assert view.projector.project(image)
    qtbot.waitUntil(lambda: not view.projector.busy(), timeout=TIMEOUT)
    assert shown == ["internal error: KeyError: 'z_dim'"]
    assert view.projector.dialog is None and session.focus is None


def test_render_unexpected_exception_keeps_the_render_thread(session, qtbot, monkeypatch):
    renderer = session._render.worker._renderer  # noqa: SLF001 - the fault goes in there
    real = renderer.render
    calls = [0]

    def flaky(z, y):
        calls[0] += 1
        if calls[0] == 1:
            raise KeyError("weights")
        return real(z, y)

    monkeypatch.setattr(renderer, "render", flaky)
    z = torch.zeros(1, session.info.z_dim)
    y = torch.eye(session.info.n_classes)[:1] if session.info.conditional else None
    with qtbot.waitSignal(session.failed, timeout=TIMEOUT) as failed:
        session.request(RenderRequest("grid", z, y))
    assert failed.args == ["render failed: internal error: KeyError: 'weights'"]
    with qtbot.waitSignal(session.rendered, timeout=TIMEOUT) as rendered:
        session.request(RenderRequest("grid", z, y))  # the thread still serves requests
    assert rendered.args[0].images.shape[0] == 1


def export_job(session: ModelSession, save) -> ExportJob:
    z = torch.randn(6, session.info.z_dim, generator=torch.Generator().manual_seed(0))
    y = torch.eye(session.info.n_classes)[torch.arange(6) % session.info.n_classes]
    return ExportJob(session, "export-test", z, y if session.info.conditional else None, save, 6)


def refuse_export(images: np.ndarray, steps) -> None:
    raise ExportError(LONG)


def test_export_unexpected_exception_and_user_error(session, qtbot, tmp_path):
    for fault, shown in ((boom, "internal error: KeyError: 'z_dim'"), (refuse_export, LONG)):
        job = export_job(session, fault)
        with qtbot.waitSignal(job.failed, timeout=TIMEOUT) as failed:
            job.start()
        assert failed.args == [shown] and job.done
    assert list(tmp_path.iterdir()) == []


def test_export_cancel_mid_save_writes_nothing(session, qtbot, tmp_path):
    out, inside = tmp_path / "sweep.gif", threading.Event()

    def save(images: np.ndarray, steps):
        def slow(done: int, total: int) -> None:
            inside.set()
            time.sleep(0.2)
            steps(done, total)  # raises Cancelled once the job is cancelled

        return save_gif(np.repeat(images, 20, axis=0), out, 10, progress=slow)

    job = export_job(session, save)
    cancelled, exported = [], []
    job.cancelled.connect(lambda: cancelled.append(True))
    job.exported.connect(exported.append)
    job.start()
    qtbot.waitUntil(inside.is_set, timeout=TIMEOUT)
    job.cancel()
    qtbot.waitUntil(lambda: job.done, timeout=TIMEOUT)
    assert cancelled == [True] and not exported
    assert list(tmp_path.iterdir()) == []  # no GIF, no temp file


def test_timelapse_cancel_on_quit_writes_nothing(qtbot, readonly_run, tmp_path, monkeypatch):
    from explorer.ui import main_window

    inside = threading.Event()
    real = main_window.export_run_timelapse

    def slow(run_dir, out, progress):
        def step(done, total):
            inside.set()
            time.sleep(0.2)
            progress(done, total)

        return real(run_dir, out, progress=step)

    monkeypatch.setattr(main_window, "export_run_timelapse", slow)
    exporter = main_window.TimelapseExporter()
    failed, exported = [], []
    exporter.failed.connect(failed.append)
    exporter.exported.connect(lambda *a: exported.append(a))
    job = exporter.export(readonly_run, tmp_path / "lapse.gif")
    cancelled = []
    job.cancelled.connect(lambda: cancelled.append(True))
    qtbot.waitUntil(inside.is_set, timeout=TIMEOUT)
    job.cancel()
    assert job.wait(TIMEOUT)
    qtbot.waitUntil(lambda: bool(cancelled), timeout=TIMEOUT)
    assert not failed and not exported and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fault, shown", [
    (KeyError("lr"), "training stopped: internal error: KeyError: 'lr'"),
    (ExportError(LONG), f"training stopped: {LONG}"),
], ids=["bug", "user-error"])
def test_training_thread_uses_the_same_boundary(qtbot, monkeypatch, tmp_path, tiny_cfg, caplog,
                                                fault, shown):
    from explorer.ui.train.worker import TrainThread, TrainWorker

    def broken(*args, **kwargs):
        raise fault
        yield

    monkeypatch.setattr("explorer.ui.train.worker.train", broken)
    worker = TrainWorker(tmp_path / "r", tiny_cfg)
    thread = TrainThread(worker)
    failures: list[str] = []
    worker.failed.connect(failures.append)
    with qtbot.waitSignal(worker.finished, timeout=TIMEOUT):
        thread.start()
    qtbot.waitUntil(thread.is_finished, timeout=TIMEOUT)
    assert failures == [shown]
    assert any(r.exc_info for r in caplog.records) == isinstance(fault, KeyError)
