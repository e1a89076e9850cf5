"""The SN-GAN recipe (spectral norm, hinge, projection critic, class-conditional BatchNorm) and
adaptive differentiable augmentation: shapes, soft classes, gradients, resume, old configs."""

import json

import pytest
import torch

from trainer import augment
from trainer.checkpoint import load_generator, load_raw
from trainer.config import PRESETS, ConfigError, ModelConfig, RunConfig, apply_preset, augment_on
from trainer.events import Finished, Notice, StepStats, TrainControl
from trainer.loop import train
from trainer.models import build_critic, build_generator
from trainer.runlog import read_log


@pytest.mark.parametrize("size", [8, 16, 32, 64, 128])
@pytest.mark.parametrize("n_classes", [0, 3])
def test_sngan_shapes_and_soft_classes(size, n_classes):
    m = ModelConfig(arch="sngan", z_dim=5, width=4, conditional=n_classes > 0)
    G = build_generator(m, size, 3, n_classes).eval()
    D = build_critic(m, size, 3, n_classes)
    y = torch.eye(3)[[0, 2]] if n_classes else None
    x = G(torch.randn(2, 5), y)
    assert x.shape == (2, 3, size, size) and x.abs().max() <= 1
    assert D(x, y).shape == (2,)
    assert G.stem[0].in_channels == 5 + n_classes  # what SeFa and GANSpace read
    if n_classes:
        z = torch.randn(2, 5)
        assert torch.allclose(G(z, torch.tensor([0, 2])), G(z, torch.eye(3)[[0, 2]]))
        assert G(z, torch.full((2, 3), 1 / 3)).shape == (2, 3, size, size)


def test_projection_critic_uses_the_class():
    torch.manual_seed(0)
    m = ModelConfig(arch="sngan", z_dim=4, width=4)
    D = build_critic(m, 8, 3, 3)
    x = torch.randn(2, 3, 8, 8)
    # the class enters as an inner product with the features: another class, another score
    assert not torch.allclose(D(x, torch.eye(3)[[0, 0]]), D(x, torch.eye(3)[[1, 1]]))


def test_augment_identity_at_p0_and_moves_at_p1():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 3, 16, 16) * 2 - 1
    q0 = augment.draw(6, 16, torch.tensor(0.0), g)
    assert torch.allclose(augment.apply(x, q0), x, atol=1e-6)
    q1 = augment.draw(6, 16, torch.tensor(1.0), g)
    y = augment.apply(x, q1)
    assert y.shape == x.shape and not torch.allclose(y, x)
    # cutout zeroes a square of ~half the side in every image
    assert ((y == 0).flatten(1).sum(1) >= 16).all()


def test_translation_moves_pixels_exactly():
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 3, 4] = 1.0
    moved = augment._translate(x, torch.tensor([[2, -1]]))
    assert moved[0, 0, 5, 3] == 1.0 and moved.sum() == 1.0
    gone = augment._translate(x, torch.tensor([[5, 0]]))  # shifted out of the image
    assert gone.sum() == 0


def test_augment_is_differentiable_for_the_generator():
    x = torch.randn(4, 3, 8, 8, requires_grad=True)
    q = augment.draw(4, 8, torch.tensor(1.0), torch.Generator().manual_seed(1))
    augment.apply(x, q).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_adjust_moves_p_toward_the_target():
    p = torch.tensor(0.5)
    up = augment.adjust(p, torch.tensor(0.9), 0.6, images=1000)
    down = augment.adjust(p, torch.tensor(0.1), 0.6, images=1000)
    assert up > p > down
    assert augment.adjust(torch.tensor(1.0), torch.tensor(1.0), 0.6, 10**9) == 1.0


def test_augment_rule_and_old_configs_stay_unaugmented():
    assert augment_on("auto", 500) and not augment_on("auto", 20000)
    assert augment_on("ada", 20000) and not augment_on("off", 10)
    old = RunConfig().to_dict()
    del old["train"]["augment"], old["train"]["augment_target"], old["train"]["lr_critic"]
    cfg = RunConfig.from_dict(old)  # a config written before these fields existed
    assert cfg.train.augment == "off" and cfg.train.lr_critic is None
    with pytest.raises(ConfigError, match="augment"):
        RunConfig().with_changes(train={"augment": "sometimes"})
    with pytest.raises(ConfigError, match="lr_critic"):
        RunConfig().with_changes(train={"lr_critic": -1.0})


def test_presets_name_their_whole_recipe():
    for name in PRESETS:
        cfg = apply_preset(apply_preset(RunConfig(), "sngan"), name)
        want = name if name in ("sngan", "vae") else "dcgan"
        assert cfg.model.arch == want
        assert cfg.train.loss == ("hinge" if name == "sngan" else "wgan-gp")


def _sngan(tiny_cfg, **train_changes):
    return apply_preset(tiny_cfg, "sngan").with_changes(
        model={"z_dim": 8, "width": 4},
        train={"steps": 6, "batch_size": 8, "log_every": 2, "preview_every": 3,
               "checkpoint_every": 4, **train_changes})


def test_sngan_with_augmentation_trains_logs_r_and_p_and_explores(tmp_path, tiny_cfg):
    cfg = _sngan(tiny_cfg, augment="ada")
    events = list(train(tmp_path / "r", cfg))
    assert isinstance(events[-1], Finished), events[-1]
    notes = [e.message for e in events if isinstance(e, Notice)]
    assert any("adaptive augmentation on" in n for n in notes)
    stats = [e for e in events if isinstance(e, StepStats)]
    assert all(len(s.r) == len(s.steps) == len(s.aug_p) for s in stats)
    assert all(-1 <= r <= 1 for s in stats for r in s.r)
    log = read_log(tmp_path / "r" / "log.jsonl")
    # p follows ADA's rule step by step from 0: up while r is above the target, else down
    p = 0.0
    for r, logged in zip(log["r"], log["aug_p"], strict=True):
        p = min(1.0, max(0.0, p + (1 if r > 0.6 else -1 if r < 0.6 else 0) * 8 / 100_000))
        assert logged == pytest.approx(p, abs=1e-6)
    model = load_generator(tmp_path / "r")
    assert model.generator(torch.randn(2, 8), torch.eye(5)[[0, 1]]).shape == (2, 3, 8, 8)


def test_sngan_with_augmentation_resumes_exactly(tmp_path, tiny_cfg):
    cfg = _sngan(tiny_cfg, augment="ada", steps=8, checkpoint_every=100)
    list(train(tmp_path / "one", cfg))
    # Stopped part-way (not trained to a smaller target: the preset's lr decay follows the
    # target), then resumed.
    control = TrainControl()
    for ev in train(tmp_path / "two", cfg, control):
        if isinstance(ev, StepStats) and ev.steps[-1] >= 4:
            control.stop()
    list(train(tmp_path / "two", resume=True))
    a, b = load_raw(tmp_path / "one" / "checkpoint.pt"), load_raw(tmp_path / "two" /
                                                                  "checkpoint.pt")
    assert a["aug_p"] == b["aug_p"]
    for key in ("G", "D", "G_ema"):
        for k in a[key]:
            assert torch.equal(a[key][k], b[key][k]), (key, k)


def test_logs_without_r_and_p_still_read(tmp_path):
    p = tmp_path / "log.jsonl"
    p.write_text(json.dumps({"step": 1, "critic_loss": 1, "gen_loss": 2, "gp": 0, "wdist": 1})
                 + "\n")
    log = read_log(p)
    assert log["step"].tolist() == [1.0] and torch.isnan(torch.tensor(log["r"])).all()


def test_two_time_scales_set_the_critic_lr(tiny_cfg):
    from trainer.gan import GAN

    cfg = _sngan(tiny_cfg, lr=1e-4, lr_critic=4e-4)
    gan = GAN(cfg, 8, 3, 5, torch.device("cpu"))
    assert gan.opt_G.param_groups[0]["lr"] == 1e-4
    assert gan.opt_D.param_groups[0]["lr"] == 4e-4


def test_auxiliary_class_head_learns_only_when_asked(tiny_cfg):
    from trainer.data import load_dataset
    from trainer.gan import GAN

    data = load_dataset(tiny_cfg.data, "cpu")
    with_head = GAN(_sngan(tiny_cfg, class_loss=1.0), 8, 3, 5, torch.device("cpu"))
    before = with_head.D.classify.weight.detach().clone()
    with_head.train_step(data)
    assert not torch.equal(before, with_head.D.classify.weight)  # the critic learnt classes
    plain = GAN(_sngan(tiny_cfg, class_loss=0.0), 8, 3, 5, torch.device("cpu"))
    assert plain.D.classify is None  # no unused parameters (DDP would wait for their grads)
    unconditional = _sngan(tiny_cfg, class_loss=1.0).with_changes(model={"conditional": False})
    assert GAN(unconditional, 8, 3, 0, torch.device("cpu")).D.classify is None


def test_default_recipe_per_device_and_the_cli_uses_it():
    from trainer.cli import config_from_args
    from trainer.config import DEFAULT_PRESET_WHY, default_preset

    assert default_preset("cpu") == default_preset("mps") == "sngan"
    assert default_preset("cuda") == "reference"  # until the SN-GAN recipe is measured there
    assert "measured" in DEFAULT_PRESET_WHY["cpu"]
    import argparse

    from trainer.cli import add_arguments

    p = argparse.ArgumentParser()
    add_arguments(p)
    cfg = config_from_args(p.parse_args(["--device", "cpu"]))
    assert (cfg.train.preset, cfg.model.arch, cfg.train.loss) == ("sngan", "sngan", "hinge")
    cfg = config_from_args(p.parse_args(["--device", "cpu", "--preset", "cpu-fast"]))
    assert (cfg.model.arch, cfg.train.loss, cfg.train.class_loss) == ("dcgan", "wgan-gp", 0.0)
