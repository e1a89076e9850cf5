"""A signal ends a headless run cleanly: Ctrl-C, a scheduler's SIGTERM and a closed terminal's
SIGHUP each write a checkpoint, say so, and exit with 128 + the signal's number."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainer.checkpoint import load_raw

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--size", "8", "--n-images", "64", "--width", "4", "--z-dim", "8", "--batch-size", "8",
        "--device", "cpu", "--n-critic", "1"]


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    """Poll until ``predicate()`` holds; fail (with the child's output) if it exits first."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"train exited early ({proc.returncode}): {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("train did not start logging steps in time")
        time.sleep(0.05)


def _logged_steps(log: Path) -> int:
    try:
        return log.read_text().count("\n")
    except OSError:
        return 0


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("sig,code,said", [
    (signal.SIGINT, 130, "Ctrl-C"),
    (signal.SIGTERM, 143, "SIGTERM"),
    (signal.SIGHUP, 129, "SIGHUP"),
])
def test_signal_checkpoints_and_exits_128_plus_n(tmp_path, sig, code, said):
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "main.py", "train", "--out", str(run), "--steps", "1000000",
         "--checkpoint-every", "1000000", "--preview-every", "1000000", *TINY],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _logged_steps(run / "log.jsonl") >= 1, proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert f"{said}: finishing this step and writing a checkpoint" in err
    assert "Traceback" not in err
    state = load_raw(run / "checkpoint.pt")
    assert state["kind"] == "full" and state["step"] >= 1
    assert f"stopped at step {state['step']}" in err
    assert not list(run.glob(".*.tmp"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pty hang-up semantics")
def test_sighup_after_the_terminal_is_gone_still_checkpoints(tmp_path):
    """A closed terminal: output goes to a pty whose other end is then closed (writes now fail
    with EIO), and SIGHUP arrives. The run must still write its checkpoint and exit 129."""
    import pty
    import threading

    run = tmp_path / "run"
    master, slave = pty.openpty()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "main.py", "train", "--out", str(run), "--steps", "1000000",
         "--checkpoint-every", "1000000", "--preview-every", "1000000", *TINY],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    reading = threading.Event()
    reading.set()

    def drain() -> None:  # keep the terminal's buffer from filling until it "closes"
        while reading.is_set():
            try:
                if not os.read(master, 4096):
                    return
            except OSError:
                return

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while _logged_steps(run / "log.jsonl") < 1:
            assert proc.poll() is None, f"train exited early ({proc.returncode})"
            assert time.monotonic() < deadline, "train did not start logging steps in time"
            time.sleep(0.05)
        reading.clear()
        os.close(master)  # the terminal is gone: the child's writes now fail
        proc.send_signal(signal.SIGHUP)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 129
    state = load_raw(run / "checkpoint.pt")
    assert state["kind"] == "full" and state["step"] >= 1
