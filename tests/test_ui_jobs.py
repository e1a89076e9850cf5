"""The GUI's one way to run a job (explorer/ui/shell/jobs.py): one error boundary, one cancel,
signals delivered in the GUI thread, the thread joined before ``finished``."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from PySide6.QtCore import QThread

from explorer.core.jobs import CancelToken, Progress
from explorer.core.latent.export import ExportError
from explorer.ui.shell.jobs import Job

TIMEOUT = 10000


def record(job: Job) -> dict[str, list]:
    """Every signal of ``job`` with the thread it arrived in."""
    seen: dict[str, list] = {"progressed": [], "completed": [], "failed": [], "cancelled": [],
                             "finished": [], "threads": []}
    for name in ("progressed", "completed", "failed", "cancelled", "finished"):
        def on(*args, _name=name):
            seen[_name].append(args)
            seen["threads"].append(QThread.currentThread())
        getattr(job, name).connect(on)
    return seen


def run(qtbot, job: Job) -> dict[str, list]:
    seen = record(job)
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT):
        job.start()
    assert not job.running
    return seen


def test_result_and_progress_arrive_in_the_gui_thread(qtbot) -> None:
    def fn(progress: Progress, cancel: CancelToken) -> int:
        for i in range(20_000):  # a flood: the throttle passes about one per percent
            progress(i / 19_999, f"step {i}")
        progress(None, "tidying up")
        return 42

    seen = run(qtbot, Job("test", fn))
    assert seen["completed"] == [(42,)] and not seen["failed"] and not seen["cancelled"]
    assert seen["progressed"][0] == (0.0, "step 0") and (1.0, "step 19999") in seen["progressed"]
    assert len(seen["progressed"]) < 200
    assert all(t is QThread.currentThread() for t in seen["threads"])
    assert len(seen["finished"]) == 1


def test_an_unexpected_exception_becomes_one_internal_error_line(qtbot, caplog) -> None:
    def fn(progress: Progress, cancel: CancelToken) -> None:
        raise KeyError("latent_dim")

    with caplog.at_level(logging.ERROR, logger="explorer.core.jobs"):
        seen = run(qtbot, Job("broken", fn))
    assert seen["failed"] == [("internal error: KeyError: 'latent_dim'",)]
    assert not seen["completed"] and len(seen["finished"]) == 1
    # The traceback goes to the log for whoever debugs it, never to the user.
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)
    assert "Traceback" not in seen["failed"][0][0]


def test_a_user_error_is_shown_whole(qtbot, caplog) -> None:
    message = "cannot write /x/y.png: Permission denied; " + "choose another folder " * 30

    def fn(progress: Progress, cancel: CancelToken) -> None:
        raise ExportError(message)

    with caplog.at_level(logging.ERROR, logger="explorer.core.jobs"):
        seen = run(qtbot, Job("export", fn))
    assert seen["failed"] == [(message,)]
    assert not caplog.records  # not a bug: no traceback


def test_cancel_mid_job(qtbot) -> None:
    inside, after_cancel = threading.Event(), []

    def fn(progress: Progress, cancel: CancelToken) -> str:
        inside.set()
        for _ in range(2000):  # ~10 s at most
            cancel.check()
            time.sleep(0.005)
        after_cancel.append("ran to the end")
        return "done"

    job = Job("slow", fn)
    seen = record(job)
    job.start()
    qtbot.waitUntil(inside.is_set, timeout=TIMEOUT)
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT):
        job.cancel()
    assert seen["cancelled"] == [()] and not seen["completed"] and not seen["failed"]
    assert not after_cancel


def test_a_job_runs_again_after_it_finished_but_not_twice_at_once(qtbot) -> None:
    gate = threading.Event()

    def fn(progress: Progress, cancel: CancelToken) -> str:
        gate.wait(5)
        return "ok"

    job = Job("again", fn)
    seen = record(job)
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT):
        job.start()
        with pytest.raises(RuntimeError, match="running already"):
            job.start()
        gate.set()
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT):
        job.start()  # a fresh token: the first run's state does not leak
    assert seen["completed"] == [("ok",), ("ok",)]


def test_a_slot_of_completed_may_join_the_job(qtbot) -> None:
    """The thread ends as soon as fn returns, so waiting for it in a GUI slot never blocks."""
    job = Job("join", lambda progress, cancel: "ok")
    joined: list[bool] = []
    job.completed.connect(lambda _r: joined.append(job.wait(2000)))
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT):
        job.start()
    assert joined == [True]
