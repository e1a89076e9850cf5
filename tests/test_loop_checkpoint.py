import json
import threading

import pytest
import torch

from trainer.checkpoint import CheckpointError, load_generator, load_raw, save_checkpoint
from trainer.events import (
    CheckpointSaved,
    Failed,
    Finished,
    Notice,
    Paused,
    Preview,
    Resumed,
    Started,
    StepStats,
    TrainControl,
)
from trainer.loop import train
from trainer.runlog import read_log


def test_events_and_run_folder(tmp_path, tiny_cfg):
    run = tmp_path / "run"
    events = list(train(run, tiny_cfg))
    assert isinstance(events[0], Started) and events[0].class_names[0] == "circle"
    stats = [e for e in events if isinstance(e, StepStats)]
    assert [s for e in stats for s in e.steps] == list(range(1, 7))
    previews = [e for e in events if isinstance(e, Preview)]
    assert [p.step for p in previews] == [0, 3, 6]
    assert previews[-1].grid.dtype.name == "uint8" and previews[-1].grid.ndim == 3
    assert "net.0.weight" in previews[-1].generator_state
    assert isinstance(events[-1], Finished) and events[-1].reason == "completed"
    assert any(isinstance(e, CheckpointSaved) and e.step == 4 for e in events)
    assert (run / "config.json").is_file() and (run / "checkpoint.pt").is_file()
    assert sorted(p.name for p in (run / "snapshots").iterdir()) == [
        "step_0000004.pt", "step_0000006.pt"]
    log = read_log(run / "log.jsonl")
    assert log["step"].tolist() == [1, 2, 3, 4, 5, 6]


def test_log_readable_with_partial_last_line(tmp_path):
    p = tmp_path / "log.jsonl"
    p.write_text(json.dumps({"step": 1, "critic_loss": 1, "gen_loss": 2, "gp": 0, "wdist": 1})
                 + "\n{\"step\": 2, \"crit")
    assert read_log(p)["step"].tolist() == [1.0]


def _weights(run):
    d = load_raw(run / "checkpoint.pt")
    return d["G"], d["D"], d["G_ema"], d["opt_D"]["state"]


def test_resume_continues_exactly(tmp_path, tiny_cfg):
    cfg = tiny_cfg.with_changes(train={"steps": 8, "checkpoint_every": 100})
    one = tmp_path / "one"
    list(train(one, cfg))
    two = tmp_path / "two"
    list(train(two, cfg, total_steps=4))
    events = list(train(two, resume=True, total_steps=8))
    assert events[0].resumed and events[0].start_step == 4
    for a, b in zip(_weights(one)[:3], _weights(two)[:3], strict=True):
        for k in a:
            assert torch.equal(a[k], b[k]), k
    assert read_log(two / "log.jsonl")["step"].tolist() == list(range(1, 9))


def test_resume_of_a_run_saved_on_another_device_kind(tmp_path, tiny_cfg):
    """A run trained on a GPU box resumes on a laptop: its CUDA generator state (16 bytes of
    Philox seed and offset) does not fit a CPU generator, so the data stream is reseeded."""
    run = tmp_path / "run"
    list(train(run, tiny_cfg.with_changes(train={"steps": 4, "checkpoint_every": 100})))
    d = load_raw(run / "checkpoint.pt")
    d["rng"]["loop"] = torch.zeros(16, dtype=torch.uint8)  # the shape a CUDA state has
    save_checkpoint(run / "checkpoint.pt", d)
    events = list(train(run, resume=True, total_steps=6))
    assert events[0].resumed and type(events[-1]).__name__ == "Finished"
    notes = [e.message for e in events if isinstance(e, Notice)]
    assert any("another kind of device" in m for m in notes)
    assert read_log(run / "log.jsonl")["step"].tolist() == list(range(1, 7))


def test_pause_resume_stop_from_another_thread(tmp_path, tiny_cfg):
    cfg = tiny_cfg.with_changes(train={"steps": 100000})
    control = TrainControl()
    seen = []
    for ev in train(tmp_path / "run", cfg, control):
        seen.append(ev)
        if isinstance(ev, StepStats) and ev.step >= 4 and not any(
                isinstance(e, Paused) for e in seen):
            control.pause()
        elif isinstance(ev, Paused):
            threading.Timer(0.05, control.resume).start()
        elif isinstance(ev, Resumed):
            control.stop()
    paused = next(e for e in seen if isinstance(e, Paused))
    resumed = next(e for e in seen if isinstance(e, Resumed))
    assert paused.step == resumed.step
    assert isinstance(seen[-1], Finished) and seen[-1].reason == "stopped"
    assert load_raw(tmp_path / "run" / "checkpoint.pt")["step"] == seen[-1].step


def test_nan_rolls_back_to_last_checkpoint(tmp_path, tiny_cfg, monkeypatch):
    from trainer import gan as gan_mod

    real_step = gan_mod.GAN.train_step

    def poisoned(self, data):
        out = real_step(self, data)
        if self.step >= 6:
            out["gen_loss"] = torch.tensor(float("nan"))
        return out

    monkeypatch.setattr(gan_mod.GAN, "train_step", poisoned)
    cfg = tiny_cfg.with_changes(train={"steps": 10})
    events = list(train(tmp_path / "run", cfg))
    assert isinstance(events[-1], Failed)
    assert "NaN" in events[-1].message and "step 4" in events[-1].message
    assert load_raw(tmp_path / "run" / "checkpoint.pt")["step"] == 4
    assert read_log(tmp_path / "run" / "log.jsonl")["step"].max() <= 4


def test_existing_run_not_overwritten(trained_run, tiny_cfg):
    before = (trained_run / "checkpoint.pt").read_bytes()
    events = list(train(trained_run, tiny_cfg))
    assert isinstance(events[0], Failed) and "already holds a run" in events[0].message
    assert (trained_run / "checkpoint.pt").read_bytes() == before


def test_resume_without_checkpoint_is_clear(tmp_path):
    events = list(train(tmp_path / "nothing", resume=True))
    assert isinstance(events[0], Failed) and "nothing to resume" in events[0].message


def test_unconditional_model_on_unlabelled_data_and_conditional_refused(tmp_path, tiny_cfg):
    from trainer.data.base import ImageData

    data = ImageData(torch.zeros(16, 3, 8, 8, dtype=torch.uint8), name="blank")
    events = list(train(tmp_path / "a", tiny_cfg, data=data))
    assert isinstance(events[0], Failed) and "no classes" in events[0].message
    cfg = tiny_cfg.with_changes(model={"conditional": False}, train={"loss": "bce"})
    events = list(train(tmp_path / "b", cfg, data=data))
    assert isinstance(events[-1], Finished)


@pytest.mark.parametrize("loss", ["wgan-clip", "bce"])
def test_other_losses_train(tmp_path, tiny_cfg, loss):
    cfg = tiny_cfg.with_changes(train={"loss": loss, "steps": 3})
    assert isinstance(list(train(tmp_path / "r", cfg))[-1], Finished)


def test_mlp_trains(tmp_path, tiny_cfg):
    cfg = tiny_cfg.with_changes(model={"arch": "mlp"}, train={"steps": 3})
    assert isinstance(list(train(tmp_path / "r", cfg))[-1], Finished)


# --- checkpoint safety ------------------------------------------------------------------------

def test_load_generator_from_checkpoint_snapshot_and_folder(trained_run):
    for p in (trained_run / "checkpoint.pt", trained_run / "snapshots" / "step_0000004.pt",
              trained_run):
        m = load_generator(p)
        assert m.class_names[:2] == ["circle", "square"] and m.size == 8
        x = m.generator(torch.randn(2, m.z_dim), torch.eye(5)[:2])
        assert x.shape == (2, 3, 8, 8)


def test_truncated_checkpoint_refused(trained_run, tmp_path):
    data = (trained_run / "checkpoint.pt").read_bytes()
    bad = tmp_path / "trunc.pt"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_raw(bad)


def test_malicious_checkpoint_refused_without_running_code(tmp_path):
    import os

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    p = tmp_path / "evil.pt"
    torch.save({"format": "latent-lab-checkpoint", "x": Evil()}, p)
    with pytest.raises(CheckpointError, match="refused"):
        load_raw(p)
    assert not marker.exists()


def test_foreign_files_refused(tmp_path):
    p = tmp_path / "other.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, p)
    with pytest.raises(CheckpointError, match="not a Latent Lab checkpoint"):
        load_raw(p)
    txt = tmp_path / "notes.pt"
    txt.write_text("hello")
    with pytest.raises(CheckpointError):
        load_raw(txt)
    with pytest.raises(CheckpointError, match="not found"):
        load_raw(tmp_path / "missing.pt")


def test_atomic_save_keeps_previous_on_failure(tmp_path, monkeypatch):
    p = tmp_path / "c.pt"
    save_checkpoint(p, {"a": torch.ones(1)})
    before = p.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
        save_checkpoint(p, {"a": torch.zeros(1)})
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["c.pt"]


def test_is_resumable_tells_full_checkpoints_from_snapshots(trained_run, tmp_path):
    from trainer.checkpoint import is_resumable

    assert is_resumable(trained_run / "checkpoint.pt")
    assert not is_resumable(trained_run / "snapshots" / "step_0000004.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert not is_resumable(bad) and not is_resumable(tmp_path / "missing.pt")
