"""The VAE model type: training, checkpoints and exact resume, rendering, projection through the
encoder, quality, and clear messages for what a VAE has not got (a critic)."""

import json

import numpy as np
import pytest
import torch

from explorer.core.latent.projection import ProjectionError, encode, project, resolve_features
from explorer.core.latent.render import Renderer
from trainer.checkpoint import load_generator, load_raw
from trainer.config import PRESETS, RunConfig, apply_preset
from trainer.data.shapes import make_shapes
from trainer.events import Failed, Finished, Preview, Started, StepStats
from trainer.loop import train
from trainer.models import build_critic
from trainer.runlog import read_log, row_values
from trainer.vae import VAE, vae_loss

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _vae_cfg(**train):
    return apply_preset(RunConfig(), "vae").with_changes(
        data={"size": 8, "n_images": 64},
        model={"z_dim": 8, "width": 8},
        train={"steps": 6, "batch_size": 8, "log_every": 2, "preview_every": 3,
               "checkpoint_every": 4, "device": "cpu", **train})


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("vae") / "run"
    events = list(train(run, _vae_cfg()))
    assert isinstance(events[-1], Finished), events[-1]
    return run, events


def test_preset_and_config():
    cfg = apply_preset(RunConfig(), "vae")
    assert cfg.model.arch == "vae" and cfg.train.beta == 1.0 and cfg.train.preset == "vae"
    assert RunConfig.from_json(cfg.to_json()) == cfg
    assert "vae" in PRESETS
    with pytest.raises(ValueError, match="beta"):
        cfg.with_changes(train={"beta": -1.0})


def test_vae_loss_is_sum_of_squares_plus_beta_kl():
    x = torch.zeros(2, 3, 4, 4)
    recon = torch.full((2, 3, 4, 4), 0.5)
    mu, logvar = torch.ones(2, 5), torch.zeros(2, 5)
    loss, rec, kl = vae_loss(x, recon, mu, logvar, beta=2.0)
    assert rec.item() == pytest.approx(48 * 0.25)  # 48 pixels of 0.5^2 per image
    assert kl.item() == pytest.approx(0.5 * 5)  # 0.5 * (mu^2 + 1 - 1 - 0) per dimension
    assert loss.item() == pytest.approx(12 + 2 * 2.5)


def test_tiny_vae_trains_and_its_loss_falls(tmp_path):
    cfg = _vae_cfg(steps=60, checkpoint_every=1000, preview_every=1000, log_every=10, lr=2e-3)
    events = list(train(tmp_path / "run", cfg))
    stats = [e for e in events if isinstance(e, StepStats)]
    rec = [v for s in stats for v in s.recon]
    assert len(rec) == 60 and not any(v for s in stats for v in s.critic_loss)
    assert np.mean(rec[-10:]) < 0.7 * np.mean(rec[:10])  # 0.48 measured
    assert all(len(s.kl) == len(s.steps) for s in stats)


def test_events_log_checkpoint_and_snapshots(vae_run):
    run, events = vae_run
    started = events[0]
    assert isinstance(started, Started) and started.model.is_vae and started.model.arch == "vae"
    previews = [e for e in events if isinstance(e, Preview)]
    assert [p.step for p in previews] == [0, 3, 6]
    recon = previews[-1].reconstructions
    # 16 real | reconstruction pairs, 8 tiles a row: 4 rows of 8 px tiles with 2 px padding
    assert recon is not None and recon.shape == (4 * 10 + 2, 8 * 10 + 2, 3)
    log = read_log(run / "log.jsonl")
    assert log["step"].tolist() == [1, 2, 3, 4, 5, 6]
    assert np.isfinite(log["recon"]).all() and np.isnan(log["critic_loss"]).all()
    d = load_raw(run / "checkpoint.pt")
    assert {"E", "E_ema", "opt", "G", "G_ema"} <= set(d) and "D" not in d
    snap = load_raw(run / "snapshots" / "step_0000006.pt")
    assert snap["kind"] == "snapshot" and {"G_ema", "E_ema"} <= set(snap)


def test_log_rows_of_either_kind_and_bad_rows():
    keys = ("step", "critic_loss", "recon", "kl")
    assert np.isnan(row_values({"step": 1, "recon": 2.0, "kl": 3.0}, keys)[1])
    gan = row_values({"step": 1, "critic_loss": 1, "gen_loss": 2, "gp": 0, "wdist": 1}, keys)
    assert gan[1] == 1 and np.isnan(gan[2])
    with pytest.raises(KeyError):
        row_values({"step": 1, "recon": 2.0}, keys)  # half a VAE row
    with pytest.raises(KeyError):
        row_values({"recon": 2.0, "kl": 1.0}, keys)  # no step


def test_checkpoint_round_trip_loads_decoder_and_encoder(vae_run):
    run, _ = vae_run
    m = load_generator(run)
    assert m.info.is_vae and m.encoder is not None and not m.encoder.training
    snap = load_generator(run / "snapshots" / "step_0000006.pt")
    for a, b in zip(m.encoder.state_dict().values(), snap.encoder.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)


def test_resume_continues_exactly(tmp_path):
    cfg = _vae_cfg(steps=8, checkpoint_every=100)
    one, two = tmp_path / "one", tmp_path / "two"
    list(train(one, cfg))
    list(train(two, cfg, total_steps=4))
    events = list(train(two, resume=True, total_steps=8))
    assert events[0].resumed and events[0].start_step == 4
    assert isinstance(events[-1], Finished)
    a, b = load_raw(one / "checkpoint.pt"), load_raw(two / "checkpoint.pt")
    for key in ("G", "E", "G_ema", "E_ema"):
        for k in a[key]:
            assert torch.equal(a[key][k], b[key][k]), (key, k)
    assert read_log(two / "log.jsonl")["step"].tolist() == list(range(1, 9))


def test_a_gan_checkpoint_does_not_resume_as_a_vae(tmp_path, tiny_cfg):
    """A checkpoint whose weights are a GAN's under a VAE config is refused in one line."""
    run = tmp_path / "run"
    list(train(run, tiny_cfg.with_changes(train={"steps": 2})))
    from trainer.checkpoint import save_checkpoint

    d = load_raw(run / "checkpoint.pt")
    d["config"] = _vae_cfg().with_changes(model={"width": 4}).to_json()
    save_checkpoint(run / "checkpoint.pt", d)
    events = list(train(run, resume=True, total_steps=4))
    assert isinstance(events[-1], Failed) and "does not match its config" in events[-1].message


def test_decoder_renders_through_the_renderer(vae_run):
    run, events = vae_run
    r = Renderer.from_checkpoint(run)
    z = torch.randn(5, r.info.z_dim)
    y = torch.eye(r.info.n_classes)[:5]
    img = r.render(z, y)
    assert img.shape == (5, 8, 8, 3) and img.dtype == np.uint8
    # the live model handed over by a Preview renders the same way
    pv = [e for e in events if isinstance(e, Preview)][-1]
    live = Renderer.from_state(pv.generator_state, events[0].model).render(z, y)
    assert live.shape == img.shape


def test_projection_through_the_encoder(vae_run):
    run, _ = vae_run
    m = load_generator(run)
    img = make_shapes(1, 8, seed=5).images[0].permute(1, 2, 0).numpy()
    p = project(m, img)
    assert p.method == "encoder" and p.features == "encoder"
    e = encode(m, img)
    assert torch.equal(p.z, e.z) and p.error == pytest.approx(e.error)
    assert p.y is not None and float(p.y.max()) == 1.0  # the closest class, one-hot
    fixed = project(m, img, cls=2)
    assert int(fixed.y.argmax()) == 2
    refined = project(m, img, refine=True, steps=5, restarts=2, feature="none")
    assert refined.method == "encoder + optimiser"
    assert refined.error <= p.error + 1e-3  # the encoder's answer is one of its starts


def test_critic_features_on_a_vae_are_a_user_error(vae_run):
    run, _ = vae_run
    m = load_generator(run)
    with pytest.raises(ProjectionError, match="a VAE has no critic"):
        resolve_features(m, "critic")
    img = make_shapes(1, 8, seed=5).images[0].permute(1, 2, 0).numpy()
    with pytest.raises(ProjectionError, match="a VAE has no critic"):
        project(m, img, feature="critic")
    assert resolve_features(m, "auto")[1] == "pixels only"  # no classifier cached, no critic
    with pytest.raises(ValueError, match="no critic"):
        build_critic(m.config.model, 8, 3, 5)


def _main(monkeypatch, capsys, *argv):
    import main

    code = main.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_project_by_encoder_and_critic_message(vae_run, tmp_path, monkeypatch, capsys):
    from PIL import Image

    run, _ = vae_run
    img = tmp_path / "star.png"
    Image.fromarray(make_shapes(1, 8, seed=3).images[0].permute(1, 2, 0).numpy()).save(img)
    code, _, err = _main(monkeypatch, capsys, "project", "--checkpoint", str(run), "--image",
                         str(img), "--out", str(tmp_path / "r.png"))
    assert code == 0 and "the encoder (instant)" in err and (tmp_path / "r.pt").is_file()
    code, _, err = _main(monkeypatch, capsys, "project", "--checkpoint", str(run), "--image",
                         str(img), "--out", str(tmp_path / "r2.png"), "--feature", "critic")
    assert code == 2 and "a VAE has no critic" in err and "Traceback" not in err
    assert not (tmp_path / "r2.png").exists()


def test_cli_train_arch_vae_uses_the_vae_preset(monkeypatch, capsys):
    code, out, _ = _main(monkeypatch, capsys, "train", "--arch", "vae", "--dry-run")
    cfg = json.loads(out)
    assert code == 0 and cfg["model"]["arch"] == "vae" and cfg["train"]["preset"] == "vae"
    assert cfg["train"]["lr"] == PRESETS["vae"]["train"]["lr"]


def test_cli_eval_on_a_vae(vae_run, tmp_path, monkeypatch, capsys):
    run, _ = vae_run
    out = tmp_path / "eval.json"
    code, _, err = _main(monkeypatch, capsys, "eval", "--checkpoint", str(run), "--n", "32",
                         "--classifier-steps", "5", "--out", str(out))
    assert code == 0, err
    result = json.loads(out.read_text())
    assert {"G_ema", "G"} <= set(result["models"])
    assert np.isfinite(result["models"]["G_ema"]["fd"])


def test_vae_refuses_torchrun():
    from trainer.distributed import DistInfo
    from trainer.errors import UserError

    with pytest.raises(UserError, match="one process"):
        VAE(_vae_cfg(), 8, 3, 5, torch.device("cpu"), DistInfo(world_size=2))


def test_best_snapshot_of_a_vae_keeps_its_encoder(vae_run, tmp_path, monkeypatch, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(vae_run[0], run)
    code, _, err = _main(monkeypatch, capsys, "eval", "--checkpoint", str(run), "--n", "32",
                         "--classifier-steps", "5", "--over-steps", "--out",
                         str(tmp_path / "e.json"))
    assert code == 0, err
    best = load_generator(run / "best")
    assert best.info.is_vae and best.encoder is not None
    img = make_shapes(1, 8, seed=5).images[0].permute(1, 2, 0).numpy()
    assert project(best, img).method == "encoder"


def test_gan_checkpoints_load_and_project_as_before(trained_run):
    m = load_generator(trained_run)
    assert not m.info.is_vae and m.encoder is None
    img = make_shapes(1, 8, seed=5).images[0].permute(1, 2, 0).numpy()
    p = project(m, img, steps=2, restarts=1, candidates=4)
    assert p.method == "optimiser"
    with pytest.raises(ProjectionError, match="no encoder"):
        encode(m, img)
    demo = load_generator("resources/demo/checkpoint.pt")
    assert demo.encoder is None and demo.info.arch == "sngan"


def test_damaged_vae_checkpoints_are_one_line_errors(vae_run, tmp_path):
    from trainer.checkpoint import CheckpointError, save_checkpoint

    d = load_raw(vae_run[0] / "snapshots" / "step_0000006.pt")
    del d["E_ema"]
    save_checkpoint(tmp_path / "no_encoder.pt", d)
    with pytest.raises(CheckpointError, match="missing the VAE's encoder 'E_ema'"):
        load_generator(tmp_path / "no_encoder.pt")
    d = load_raw(vae_run[0] / "snapshots" / "step_0000006.pt")
    d["E_ema"]["head.weight"] = d["E_ema"]["head.weight"][:3]
    save_checkpoint(tmp_path / "bad_encoder.pt", d)
    with pytest.raises(CheckpointError, match="encoder's weights do not match its config"):
        load_generator(tmp_path / "bad_encoder.pt")


def test_unconditional_vae_trains_and_encodes(tmp_path):
    run = tmp_path / "run"
    events = list(train(run, _vae_cfg().with_changes(model={"conditional": False})))
    assert isinstance(events[-1], Finished)
    m = load_generator(run)
    assert m.n_classes == 0 and m.encoder.n_classes == 0
    p = project(m, make_shapes(1, 8, seed=5).images[0].permute(1, 2, 0).numpy())
    assert p.method == "encoder" and p.y is None


def test_cli_refine_on_a_gan_is_a_usage_error(trained_run, tmp_path, monkeypatch, capsys):
    from PIL import Image

    img = tmp_path / "i.png"
    Image.fromarray(make_shapes(1, 8, seed=3).images[0].permute(1, 2, 0).numpy()).save(img)
    code, _, err = _main(monkeypatch, capsys, "project", "--checkpoint", str(trained_run),
                         "--image", str(img), "--out", str(tmp_path / "r.png"), "--refine")
    assert code == 2 and "has no encoder" in err and "Traceback" not in err
