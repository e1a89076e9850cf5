"""The learning-rate decay: its schedule, exact resume under it, and changing it on resume."""

import json

import pytest
import torch

from main import main
from trainer.events import CheckpointSaved, TrainControl
from trainer.gan import lr_factor
from trainer.loop import train


def test_the_schedule_is_flat_then_falls_linearly_to_zero():
    assert lr_factor(0, 100, 0.0) == 1.0 and lr_factor(99, 100, 0.0) == 1.0
    assert lr_factor(59, 100, 0.4) == 1.0  # decay starts at 60 of 100
    assert lr_factor(60, 100, 0.4) == 1.0
    assert lr_factor(80, 100, 0.4) == pytest.approx(0.5)
    assert lr_factor(100, 100, 0.4) == 0.0
    assert lr_factor(130, 100, 0.4) == 0.0  # past its steps: never negative
    assert lr_factor(0, 100, 1.0) == 1.0 and lr_factor(50, 100, 1.0) == pytest.approx(0.5)


def test_the_decay_can_stop_at_a_fraction_of_the_rate():
    assert lr_factor(60, 100, 0.4, 0.3) == 1.0
    assert lr_factor(80, 100, 0.4, 0.3) == pytest.approx(0.65)  # halfway from 1 to 0.3
    assert lr_factor(100, 100, 0.4, 0.3) == pytest.approx(0.3)
    assert lr_factor(130, 100, 0.4, 0.3) == pytest.approx(0.3)
    assert lr_factor(80, 100, 0.0, 0.3) == 1.0  # no decay: the floor does nothing


def _weights(run):
    d = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)
    return d["G"], d["D"], d["opt_G"]["param_groups"][0]["lr"]


def test_a_stopped_and_resumed_run_equals_one_straight_run(tmp_path, tiny_cfg):
    cfg = tiny_cfg.with_changes(train={"steps": 8, "checkpoint_every": 4, "lr_decay": 0.5,
                                       "lr_critic": 4e-4})
    straight = tmp_path / "straight"
    list(train(straight, cfg))
    stopped = tmp_path / "stopped"
    control = TrainControl()
    for ev in train(stopped, cfg, control):
        if isinstance(ev, CheckpointSaved) and ev.step == 4:
            control.stop()
    list(train(stopped, resume=True))
    a, b = _weights(straight), _weights(stopped)
    for x, y in zip(a[:2], b[:2], strict=True):
        for k in x:
            assert torch.equal(x[k], y[k]), k
    # The last step (8) ran at 1/4 of the rate: steps 4..8 fall linearly from 1 to 0.
    assert a[2] == b[2] == pytest.approx(cfg.train.lr * lr_factor(7, 8, 0.5))


def test_resume_may_change_the_steps_and_decay_but_nothing_else(tmp_path, capsys):
    run = tmp_path / "run"
    tiny = ["--size", "8", "--n-images", "64", "--width", "4", "--z-dim", "8",
            "--batch-size", "8", "--device", "cpu"]
    assert main(["train", "--out", str(run), "--steps", "2", *tiny]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "4", "--lr", "0.1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "only --steps, --lr-decay, --lr-decay-to and --device can change (got --lr)" in err
    assert len(err.splitlines()) == 1
    assert main(["train", "--resume", str(run), "--lr-decay", "1.5"]) == 2
    assert "lr_decay must be" in capsys.readouterr().err
    assert main(["train", "--resume", str(run), "--steps", "4", "--lr-decay", "0.5",
                 "--lr-decay-to", "0.25"]) == 0
    saved = json.loads((run / "config.json").read_text())["train"]
    assert saved["steps"] == 4 and saved["lr_decay"] == 0.5 and saved["lr_decay_to"] == 0.25
    d = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert json.loads(d["config"])["train"]["lr_decay"] == 0.5


def test_old_configs_load_with_a_constant_rate(tiny_cfg):
    d = tiny_cfg.to_dict()
    del d["train"]["lr_decay"], d["train"]["lr_decay_to"]
    old = type(tiny_cfg).from_dict(d).train
    assert old.lr_decay == 0.0 and old.lr_decay_to == 0.0
