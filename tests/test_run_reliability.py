"""Run folders under faults: NaN after a checkpoint, two writers, kill -9 and resume, a resumed
run's new step target. Each test injects the fault and checks what is left on disk."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from trainer.checkpoint import load_generator, load_raw, save_checkpoint
from trainer.config import RunConfig
from trainer.events import (
    CheckpointSaved,
    Failed,
    Finished,
    Notice,
    Started,
    StepStats,
    TrainControl,
)
from trainer.gan import GAN
from trainer.loop import train
from trainer.runlock import RunLock, holder
from trainer.runlog import read_log

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--size", "8", "--n-images", "64", "--width", "4", "--z-dim", "8", "--batch-size", "8",
        "--n-critic", "1", "--device", "cpu", "--preview-every", "5"]


def _cfg(tiny_cfg, **train):
    """Checkpoints every 7 steps, losses read back every 10: the two never line up."""
    return tiny_cfg.with_changes(train={"steps": 20, "log_every": 10, "checkpoint_every": 7,
                                        "preview_every": 5, **train})


def _all_finite(obj) -> bool:
    if isinstance(obj, torch.Tensor):
        return not obj.is_floating_point() or bool(torch.isfinite(obj).all())
    if isinstance(obj, dict):
        return all(_all_finite(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return all(_all_finite(v) for v in obj)
    return True


def _log_steps(run: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()]


def _temp_files(run: Path) -> list[Path]:
    return sorted(run.rglob("*.tmp"))


# --- NaN must never reach a checkpoint -------------------------------------------------------

@pytest.mark.parametrize("module, loss", [("G", "wgan-gp"), ("G_ema", "bce")])
def test_nan_weights_after_a_checkpoint_are_never_saved(tmp_path, tiny_cfg, monkeypatch, module,
                                                        loss):
    """Weights turn NaN at step 12, after the checkpoint of step 7 and the log check of step 10:
    the checkpoint of step 14 must not be written (G_ema's NaN shows in no loss at all)."""
    real_step = GAN.train_step

    def poisoned(self, data):
        out = real_step(self, data)
        if self.step == 12:
            with torch.no_grad():
                for p in getattr(self, module).parameters():
                    p.fill_(float("nan"))
        return out

    monkeypatch.setattr(GAN, "train_step", poisoned)
    run = tmp_path / "run"
    events = list(train(run, _cfg(tiny_cfg, loss=loss)))
    fail = events[-1]
    assert isinstance(fail, Failed), fail
    assert "rolled back to its checkpoint of step 7" in fail.message
    assert [e.step for e in events if isinstance(e, CheckpointSaved)] == [7]
    ckpt = load_raw(run / "checkpoint.pt")
    assert ckpt["step"] == 7 and _all_finite(ckpt)
    for snap in (run / "snapshots").glob("step_*.pt"):
        assert _all_finite(load_raw(snap)), snap
    assert _log_steps(run) == list(range(1, 8))
    # The advice fits the loss: a WGAN-GP run is not told to use WGAN-GP.
    assert ("WGAN-GP" in fail.message) == (loss != "wgan-gp")


def test_rollback_onto_a_nonfinite_checkpoint_says_there_is_none(tmp_path, tiny_cfg):
    run = tmp_path / "run"
    assert isinstance(list(train(run, _cfg(tiny_cfg, steps=7)))[-1], Finished)
    state = load_raw(run / "checkpoint.pt")  # as an older version could have written it
    for v in state["G_ema"].values():
        if v.is_floating_point():
            v.fill_(float("nan"))
    save_checkpoint(run / "checkpoint.pt", state)
    before = (run / "checkpoint.pt").read_bytes()
    events = list(train(run, resume=True, total_steps=20))
    assert isinstance(events[-1], Failed)
    assert "no good checkpoint" in events[-1].message
    assert (run / "checkpoint.pt").read_bytes() == before


# --- one writer per run folder -----------------------------------------------------------------

def test_second_writer_refused_until_the_first_ends(tmp_path, tiny_cfg):
    run = tmp_path / "run"
    first = train(run, _cfg(tiny_cfg, steps=100_000))
    for ev in first:  # up to its first checkpoint
        if isinstance(ev, CheckpointSaved):
            break
    assert f"process {os.getpid()}" in holder(run)
    for second in (list(train(run, _cfg(tiny_cfg))), list(train(run, resume=True))):
        assert len(second) == 1 and isinstance(second[0], Failed)
        assert f"being trained by process {os.getpid()}" in second[0].message
    assert load_generator(run).step == 7  # readers keep working
    first.close()  # the first run ends (its lock goes with it)
    assert holder(run) is None
    events = list(train(run, resume=True, total_steps=9))
    assert isinstance(events[-1], Finished) and events[-1].step == 9


def test_lock_of_a_killed_process_never_blocks(tmp_path, tiny_cfg):
    run = tmp_path / "run"
    run.mkdir()
    code = ("import sys, time; from trainer.runlock import RunLock; "
            "l = RunLock(sys.argv[1]); l.acquire(); print('locked', flush=True); time.sleep(600)")
    p = subprocess.Popen([sys.executable, "-c", code, str(run)], cwd=ROOT, text=True,
                         stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline().strip() == "locked"
        refused = list(train(run, tiny_cfg))
        assert isinstance(refused[-1], Failed) and f"process {p.pid}" in refused[-1].message
        assert not (run / "config.json").exists()  # nothing written by the refused run
    finally:
        p.kill()
        p.wait()
    assert (run / "train.lock").exists() and holder(run) is None  # stale file, no lock
    assert isinstance(list(train(run, tiny_cfg))[-1], Finished)


def test_refusal_is_the_train_views_failure_message(qtbot, tmp_path, trained_run, session):
    from explorer.ui.train.view import TrainView

    view = TrainView(session, tmp_path / "runs")
    qtbot.addWidget(view)
    with RunLock(trained_run):
        view.open_run(trained_run)
        assert f"process {os.getpid()}" in view.display.message.text()  # who is training it
        assert view.resume_run(trained_run)
        qtbot.waitUntil(lambda: not view.is_running(), timeout=10_000)
    text = view.banner.text()
    assert not view.banner.isHidden() and f"being trained by process {os.getpid()}" in text


# --- the log matches the checkpoint after a crash ----------------------------------------------

def test_log_is_flushed_before_each_checkpoint(tmp_path, tiny_cfg):
    run = tmp_path / "run"
    gen = train(run, _cfg(tiny_cfg))
    for ev in gen:
        if isinstance(ev, CheckpointSaved):
            break
    assert ev.step == 7 and _log_steps(run) == list(range(1, 8))
    gen.close()


def _wait_for(cond, proc, timeout=120.0):
    end = time.monotonic() + timeout
    while not cond():
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def _ckpt_step(run: Path) -> int:
    try:
        return int(load_raw(run / "checkpoint.pt")["step"])
    except Exception:  # not written yet
        return 0


def test_kill_9_mid_run_then_resume_logs_each_step_once(tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, str(ROOT / "main.py"), "train"]
    p = subprocess.Popen([*cmd, "--out", str(run), "--steps", "100000", "--checkpoint-every",
                          "7", *TINY], cwd=ROOT, env=env, text=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: _ckpt_step(run) >= 14, p)
        # A second train process into the same folder, fresh or resuming, is refused.
        for args in (["--out", str(run), "--steps", "50", *TINY], ["--resume", str(run)]):
            r = subprocess.run([*cmd, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=120)
            assert r.returncode == 1 and f"being trained by process {p.pid}" in r.stderr
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    at = _ckpt_step(run)
    steps = _log_steps(run)
    assert steps[:at] == list(range(1, at + 1))  # nothing up to the checkpoint is missing
    # Partial files a kill can leave mid-write (planted: the kill's timing is not ours to pick).
    (run / ".checkpoint.pt.k1.tmp").write_bytes(b"PK\x03")
    (run / "snapshots" / ".step_0000099.pt.k2.tmp").write_bytes(b"PK")
    (run / "previews" / ".step_0000099.png.k3.tmp").write_bytes(b"\x89PNG")
    (run / ".log.jsonl.k4.tmp").write_text('{"step": 1')
    events = list(train(run, resume=True, total_steps=at + 5))
    assert isinstance(events[-1], Finished) and events[-1].step == at + 5
    assert _log_steps(run) == list(range(1, at + 6))  # every step exactly once
    assert _temp_files(run) == []


def test_new_run_into_a_folder_killed_before_its_first_checkpoint(tmp_path, tiny_cfg):
    run = tmp_path / "run"
    gen = train(run, _cfg(tiny_cfg, steps=1000, checkpoint_every=1000, log_every=2))
    for ev in gen:
        if isinstance(ev, StepStats) and ev.steps[-1] >= 6:
            break
    gen.close()  # ends with no checkpoint, like a kill before the first one
    assert not (run / "checkpoint.pt").exists() and len(_log_steps(run)) >= 6
    events = list(train(run, _cfg(tiny_cfg, steps=8)))
    assert isinstance(events[-1], Finished)
    assert any(isinstance(e, Notice) and "starts over" in e.message for e in events)
    assert _log_steps(run) == list(range(1, 9))
    assert read_log(run / "log.jsonl")["step"].tolist() == list(range(1, 9))


# --- a resumed run keeps its new step target ---------------------------------------------------

def test_resume_with_more_steps_stores_the_target(tmp_path, tiny_cfg, qtbot, session):
    from explorer.ui.train.view import TrainView

    run = tmp_path / "run"
    assert isinstance(list(train(run, tiny_cfg))[-1], Finished)  # 6 steps
    control = TrainControl()
    events = []
    for ev in train(run, resume=True, total_steps=1000, control=control):
        events.append(ev)
        if isinstance(ev, StepStats) and ev.steps[-1] >= 8:
            control.stop()
    assert isinstance(events[0], Started) and events[0].config.train.steps == 1000
    stopped = events[-1]
    assert isinstance(stopped, Finished) and stopped.reason == "stopped"
    assert RunConfig.load(run / "config.json").train.steps == 1000
    assert json.loads(load_raw(run / "checkpoint.pt")["config"])["train"]["steps"] == 1000
    # Opened again, the run is not finished: its target is 1000, and Resume trains on.
    view = TrainView(session, tmp_path / "runs")
    qtbot.addWidget(view)
    view.open_run(run)
    assert view.form.total_steps() == 1000 and view.display.progress.bar.maximum() == 1000
