"""Projecting images into z: the math on a tiny run, image loading, files, bad input, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.core.latent.projection import (
    ProjectionError,
    SavedProjection,
    as_saved,
    load_image,
    load_latent,
    load_saved,
    pixel_mse,
    project,
    save_latent,
    save_saved,
)
from main import main
from trainer.checkpoint import load_generator
from trainer.images import to_uint8


def _made_image(model, seed=3, cls=1):
    """An image the generator itself made from a known z (so a perfect projection exists)."""
    z = torch.randn(1, model.z_dim, generator=torch.Generator().manual_seed(seed))
    y = torch.nn.functional.one_hot(torch.tensor([cls]), model.n_classes).float()
    with torch.no_grad():
        return to_uint8(model.generator(z, y))[0].numpy()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from tests.conftest import _tiny_cfg
    from trainer.loop import train

    run = tmp_path_factory.mktemp("proj") / "run"
    list(train(run, _tiny_cfg()))
    m = load_generator(run)
    # Six training steps leave a nearly constant grey generator (DCGAN init is small), where
    # every z gives the same image; a louder last layer makes the output depend on z.
    with torch.no_grad():
        last = [x for x in m.generator.modules() if isinstance(x, torch.nn.ConvTranspose2d)][-1]
        last.weight.mul_(40)
    return m


def test_projection_recovers_a_generated_image_better_than_random_z(model):
    target = _made_image(model)
    p = project(model, target, restarts=2, steps=40, feature="none", candidates=16)
    g = torch.Generator().manual_seed(11)
    z = torch.randn(1, model.z_dim, generator=g)
    with torch.no_grad():
        rand = to_uint8(model.generator(z, p.y[None]))[0].numpy()
    assert p.error < pixel_mse(rand, target)
    assert p.error <= p.random_error
    assert p.error < 0.01
    assert p.z.shape == (model.z_dim,) and p.y.shape == (model.n_classes,)
    assert torch.isclose(p.y.sum(), torch.tensor(1.0))
    assert p.recon.shape == target.shape and p.recon.dtype == np.uint8


def test_critic_features_and_fixed_class(model):
    target = _made_image(model)
    p = project(model, target, cls=1, restarts=2, steps=10, feature="critic", candidates=8)
    assert p.features == "critic features"
    assert torch.equal(p.y, torch.nn.functional.one_hot(torch.tensor(1), model.n_classes).float())


def test_progress_and_cancel(model):
    from explorer.core.jobs import Cancelled

    seen = []
    project(model, _made_image(model), restarts=2, steps=6, feature="none", candidates=4,
            progress=lambda f, t: seen.append(f))
    assert seen[-1] == 1.0 and seen == sorted(seen)
    calls = []
    with pytest.raises(Cancelled):
        project(model, _made_image(model), restarts=2, steps=50, feature="none",
                cancel=lambda: len(calls.append(1) or calls) > 3)


def test_snapshot_has_no_critic(readonly_run):
    snap = sorted((readonly_run / "snapshots").glob("step_*.pt"))[0]
    m = load_generator(snap)
    with pytest.raises(ProjectionError, match="snapshot .* no critic"):
        project(m, _made_image(m), feature="critic", steps=1)
    # auto falls back quietly (no classifier cached in a fresh tiny run: pixels only)
    p = project(m, _made_image(m), feature="auto", steps=1, restarts=1, candidates=2)
    assert p.features in ("pixels only", "eval classifier features")


def test_classifier_asked_without_one(model):
    with pytest.raises(ProjectionError, match="no eval classifier"):
        project(model, _made_image(model), feature="classifier", steps=1)


def test_image_modes(tmp_path):
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[:, :, 0] = 200
    Image.fromarray(rgb).save(tmp_path / "wide.png")
    im = load_image(tmp_path / "wide.png", 8, 3)
    assert im.pixels.shape == (8, 8, 3) and any("centre-cropped" in n for n in im.notes)
    assert im.pixels[..., 0].min() > 190
    # RGBA: transparent pixels take the given background
    rgba = np.zeros((16, 16, 4), np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "clear.png")
    im = load_image(tmp_path / "clear.png", 8, 3, background=(10, 20, 30))
    assert tuple(im.pixels[0, 0]) == (10, 20, 30) and any("transparent" in n for n in im.notes)
    # grayscale, palette, 16-bit
    Image.fromarray(np.full((9, 9), 128, np.uint8), "L").save(tmp_path / "g.png")
    assert tuple(load_image(tmp_path / "g.png", 8, 3).pixels[4, 4]) == (128, 128, 128)
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png", 8, 3).pixels.shape == (8, 8, 3)
    Image.fromarray(np.full((8, 8), 65535, np.uint16)).save(tmp_path / "w16.png")
    assert load_image(tmp_path / "w16.png", 8, 3).pixels.min() == 255
    # a colour image for a 1-channel model: converted to grey with a note
    im = load_image(tmp_path / "wide.png", 8, 1)
    assert np.all(im.pixels[..., 0] == im.pixels[..., 1])
    assert any("converted to grey" in n for n in im.notes)


def test_bad_images(tmp_path):
    with pytest.raises(ProjectionError, match="folder"):
        load_image(tmp_path, 8, 3)
    with pytest.raises(ProjectionError, match="not found"):
        load_image(tmp_path / "nope.png", 8, 3)
    (tmp_path / "bad.png").write_bytes(b"not an image at all")
    with pytest.raises(ProjectionError, match="not a readable image"):
        load_image(tmp_path / "bad.png", 8, 3)


def test_latent_and_saved_files(model, tmp_path):
    p = project(model, _made_image(model), restarts=1, steps=2, feature="none", candidates=2)
    save_latent(tmp_path / "r.pt", p, model.class_names)
    d = torch.load(tmp_path / "r.pt", weights_only=True)
    assert d["format"] == "latent-lab-latent"
    z, y = load_latent(tmp_path / "r.pt", model.z_dim, model.n_classes)
    assert torch.equal(z, p.z) and torch.equal(y, p.y)
    with pytest.raises(ProjectionError, match="z_dim"):
        load_latent(tmp_path / "r.pt", model.z_dim + 1, model.n_classes)
    with pytest.raises(ProjectionError, match="class vector"):
        load_latent(tmp_path / "r.pt", model.z_dim, model.n_classes + 1)
    # saved with the run, reopened
    ckpt = model.path
    assert load_saved(ckpt, model.z_dim, model.n_classes) == []
    items: list[SavedProjection] = [as_saved(p), as_saved(p)]
    path = save_saved(ckpt, items)
    assert path.parent == ckpt.parent
    back = load_saved(ckpt, model.z_dim, model.n_classes)
    assert len(back) == 2 and torch.equal(back[1].z, p.z)
    assert np.array_equal(back[0].target, p.target)
    with pytest.raises(ProjectionError, match="another model"):
        load_saved(ckpt, model.z_dim + 1, model.n_classes)


def test_demo_is_never_written(monkeypatch, tmp_path):
    from explorer.core import demo

    monkeypatch.setattr(demo.Path, "home", lambda: tmp_path)
    bundled = demo.demo_run_folder()
    if bundled is None:
        pytest.skip("no bundled demo")
    m = load_generator(bundled / "checkpoint.pt")
    z = torch.zeros(m.z_dim)
    y = torch.full((m.n_classes,), 1 / m.n_classes)
    img = np.zeros((m.size, m.size, 3), np.uint8)
    path = save_saved(bundled / "checkpoint.pt",
                      [SavedProjection("x", z, y, img, img, 0.1)])
    assert tmp_path in path.parents and not (bundled / "projections.pt").exists()


def test_cli_project_then_sample_and_morph(readonly_run, tmp_path, capsys):
    m = load_generator(readonly_run)
    Image.fromarray(_made_image(m)).resize((20, 24)).convert("RGBA").save(tmp_path / "me.png")
    out = tmp_path / "recon.png"
    rc = main(["project", "--checkpoint", str(readonly_run), "--image", str(tmp_path / "me.png"),
               "--steps", "10", "--restarts", "2", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "pixel error" in err and "centre-cropped" in err
    assert Image.open(out).size == (m.size, m.size)
    assert (tmp_path / "recon.pt").is_file()
    rc = main(["sample", "--checkpoint", str(readonly_run), "--latent", str(tmp_path / "recon.pt"),
               "--out", str(tmp_path / "s.png")])
    assert rc == 0, capsys.readouterr().err
    assert Image.open(tmp_path / "s.png").size[0] >= m.size
    rc = main(["morph", "--checkpoint", str(readonly_run), "--a-latent",
               str(tmp_path / "recon.pt"), "--b", "4", "--frames", "3",
               "--out", str(tmp_path / "m.gif")])
    assert rc == 0, capsys.readouterr().err


@pytest.mark.parametrize("case", ["folder", "unreadable", "snapshot-critic", "class-range"])
def test_cli_bad_input(readonly_run, tmp_path, capsys, case):
    (tmp_path / "bad.png").write_bytes(b"garbage")
    m = load_generator(readonly_run)
    Image.fromarray(_made_image(m)).save(tmp_path / "ok.png")
    args = ["project", "--checkpoint", str(readonly_run), "--image", str(tmp_path / "ok.png"),
            "--steps", "1", "--restarts", "1", "--out", str(tmp_path / "r.png")]
    expect = {"folder": "is a folder", "unreadable": "not a readable image",
              "snapshot-critic": "no critic", "class-range": "out of range"}[case]
    if case == "folder":
        args[4] = str(tmp_path)
    elif case == "unreadable":
        args[4] = str(tmp_path / "bad.png")
    elif case == "snapshot-critic":
        args[2] = str(sorted((readonly_run / "snapshots").glob("step_*.pt"))[0])
        args += ["--feature", "critic"]
    else:
        args += ["--class", "99"]
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ") and expect in err and "Traceback" not in err
    assert not (tmp_path / "r.png").exists() and not (tmp_path / "r.pt").exists()
