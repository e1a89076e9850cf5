"""Quality metrics: Fréchet distance, class coverage, and the cached eval classifier."""

import json

import numpy as np
import pytest
import torch

from explorer.core.quality import eval_classifier as ec
from explorer.core.quality.evaluate import class_report, frechet_distance, frechet_distance_stats
from trainer.config import DataConfig
from trainer.data import ImageData
from trainer.data.shapes import make_shapes


def test_frechet_distance_of_identical_sets_is_zero():
    a = np.random.default_rng(0).normal(size=(500, 6))
    assert abs(frechet_distance(a, a)) < 1e-8


def test_frechet_distance_of_shifted_gaussians_matches_analytic_value():
    rng = np.random.default_rng(1)
    mu, s1, s2 = np.array([1.0, -2.0, 0.5]), np.array([1.0, 0.5, 2.0]), np.array([1.5, 0.5, 1.0])
    # Closed form for diagonal covariances: |mu1 - mu2|^2 + sum (sigma1 - sigma2)^2.
    analytic = (mu**2).sum() + ((s1 - s2) ** 2).sum()
    exact = frechet_distance_stats(np.zeros(3), np.diag(s1**2), mu, np.diag(s2**2))
    assert exact == pytest.approx(analytic, abs=1e-9)
    a = rng.normal(size=(200_000, 3)) * s1
    b = rng.normal(size=(200_000, 3)) * s2 + mu
    assert frechet_distance(a, b) == pytest.approx(analytic, rel=0.02)


def test_frechet_distance_is_rotation_invariant_for_full_covariances():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(3000, 4)) @ rng.normal(size=(4, 4))
    b = rng.normal(size=(3000, 4)) @ rng.normal(size=(4, 4)) + 0.3
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    assert frechet_distance(a @ q, b @ q) == pytest.approx(frechet_distance(a, b), rel=1e-6)


def test_class_report_flags_mode_collapse():
    real_share = torch.full((4,), 0.25)
    requested = torch.arange(100) % 4
    collapsed = class_report(torch.zeros(100, dtype=torch.long), 4, real_share, requested)
    assert collapsed["coverage"] == 0.25 and collapsed["accuracy"] == 0.25
    assert collapsed["per_class_accuracy"] == [1.0, 0.0, 0.0, 0.0]
    perfect = class_report(requested, 4, real_share, requested)
    assert perfect["coverage"] == 1.0 and perfect["accuracy"] == 1.0


@pytest.fixture
def shapes8():
    return DataConfig(size=8, n_images=64), make_shapes(64, 8)


def test_classifier_is_cached_and_not_retrained(tmp_path, shapes8, monkeypatch):
    cfg, data = shapes8
    clf, note = ec.classifier_for_run(tmp_path, cfg, data, steps=3)
    assert clf.kind == "classes" and clf.trained_now and "cached" in note
    assert (tmp_path / ec.CACHE_NAME).is_file()
    assert clf.held_out["metric"] == "accuracy" and 0 <= clf.held_out["value"] <= 1

    def no_training(*a, **k):
        raise AssertionError("the cached classifier should have been used")

    monkeypatch.setattr(ec, "train_classifier", no_training)
    again, note = ec.classifier_for_run(tmp_path, cfg, data, steps=3)
    assert not again.trained_now and "loaded" in note
    x = data.images[:5].float() / 127.5 - 1
    assert torch.equal(again.run(x)[0], clf.run(x)[0])


def test_classifier_retrains_for_other_data_or_a_damaged_cache(tmp_path, shapes8):
    cfg, data = shapes8
    ec.classifier_for_run(tmp_path, cfg, data, steps=2)
    other = DataConfig(size=8, n_images=64, seed=1)
    assert ec.classifier_for_run(tmp_path, other, data, steps=2)[0].trained_now
    (tmp_path / ec.CACHE_NAME).write_bytes(b"not a checkpoint")
    assert ec.classifier_for_run(tmp_path, other, data, steps=2)[0].trained_now


def test_classifier_without_classes_uses_attributes_else_random_features(shapes8):
    _, data = shapes8
    attrs = ImageData(data.images, attributes=data.attributes, attribute_names=["a"] * 6)
    clf = ec.train_classifier(attrs, "k", steps=2)
    assert clf.kind == "attributes" and clf.held_out["metric"] == "r2"
    bare = ec.train_classifier(ImageData(data.images), "k", steps=2)
    assert bare.kind == "random-features" and bare.held_out["metric"] is None
    assert bare.run(data.images[:3].float())[0].shape == (3, ec.FEATURES)


def test_random_features_asked_for_on_labelled_data_differ_by_seed(shapes8, tmp_path):
    """benchmarks/random_features.py: a fixed random CNN on data that has classes, one per
    seed, that `eval --classifier` loads as a feature space of its own (no class check)."""
    _, data = shapes8
    a, b = (ec.train_classifier(data, "k", seed=s, random_features=True) for s in (1, 2))
    assert a.kind == b.kind == "random-features" and a.held_out["metric"] is None
    x = ec.as_float(data.images[:8])
    assert not torch.equal(a.run(x)[0], b.run(x)[0])
    ec.save_classifier(tmp_path / "r.pt", a)
    again = ec.load_classifier(tmp_path / "r.pt")
    assert again is not None and again.kind == "random-features"
    assert torch.equal(again.run(x)[0], a.run(x)[0])


def test_random_features_vary_at_a_readable_scale_and_separate_noise(shapes8):
    """An image folder without labels gets a fixed random CNN, scaled so FD reads in units
    like a trained net's (unscaled, every FD printed as 0.000)."""
    _, data = shapes8
    clf = ec.train_classifier(ImageData(data.images), "k", steps=2)
    real = ec.as_float(data.images)
    feats, _ = clf.run(real)
    assert 0.5 < float(feats.std(0).mean()) < 2
    noise, _ = clf.run(torch.rand_like(real) * 2 - 1)
    half = len(feats) // 2
    floor = frechet_distance(feats[:half], feats[half:])
    assert floor > 1e-3 and frechet_distance(feats[:half], noise[:half]) > 5 * floor


def test_each_bundled_demo_has_its_own_write_dir_and_title(tmp_path, monkeypatch):
    from explorer.core import demo

    big, small, absent = (tmp_path / "resources" / n for n in ("demo64", "demo", "demo128"))
    for d, size, weights in ((big, 64, b"w64"), (small, 32, b"w32")):
        d.mkdir(parents=True)
        (d / "checkpoint.pt").write_bytes(weights)
        (d / "config.json").write_text(json.dumps({"data": {"dataset": "shapes", "size": size}}))
    monkeypatch.setattr(demo, "DEMO_DIRS", (absent, big, small))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert demo.demo_run_folders() == [big, small] and demo.demo_run_folder() == big
    assert [demo.demo_title(d) for d in (big, small)] == ["Shapes, 64 px", "Shapes, 32 px"]
    assert demo.write_dir(big) != demo.write_dir(small)  # one demo's directions never the other's
    assert tmp_path / "home" in demo.write_dir(small).parents
    (small / "config.json").write_text("{not json")
    assert demo.demo_title(small) == "demo"  # a damaged config still gives a menu entry


def test_the_bundled_demo_is_never_written_to(tmp_path, shapes8, monkeypatch):
    """Caches and saved directions of the demo go to ~/latent-lab/demo; it stays as shipped."""
    from explorer.core import demo
    from explorer.core.directions.direction import (
        Direction,
        directions_path,
        directions_save_path,
        load_directions,
        save_directions,
    )

    bundled = tmp_path / "resources" / "demo"
    bundled.mkdir(parents=True)
    monkeypatch.setattr(demo, "DEMO_DIRS", (bundled.resolve(),))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (bundled / "checkpoint.pt").write_bytes(b"weights v1")
    user = demo.write_dir(bundled)
    assert user.parent == tmp_path / "home" / "latent-lab" and user.name.startswith("demo-")
    other = tmp_path / "run"
    assert demo.write_dir(other) == other

    cfg, data = shapes8
    clf, note = ec.classifier_for_run(bundled, cfg, data, steps=2)
    assert (user / ec.CACHE_NAME).is_file() and str(user) in note
    assert "loaded" in ec.classifier_for_run(bundled, cfg, data, steps=2)[1]

    shipped = [Direction("x", torch.tensor([1.0, 0.0]), "sefa")]
    save_directions(bundled / "directions.pt", shipped)
    before = (bundled / "directions.pt").read_bytes()
    ckpt = bundled / "checkpoint.pt"
    assert directions_path(ckpt) == bundled / "directions.pt"
    mine = [*shipped, Direction("y", torch.tensor([0.0, 1.0]), "sefa")]
    save_directions(directions_save_path(ckpt), mine)
    assert directions_path(ckpt) == user / "directions.pt"  # the user's copy wins from now on
    assert [d.name for d in load_directions(directions_path(ckpt))] == ["x", "y"]
    assert sorted(p.name for p in bundled.iterdir()) == ["checkpoint.pt", "directions.pt"]
    assert (bundled / "directions.pt").read_bytes() == before
    # a later version ships another demo model: the directions saved for the old one stay apart
    (bundled / "checkpoint.pt").write_bytes(b"weights v2, retrained")
    assert demo.write_dir(bundled) != user
    assert directions_path(ckpt) == bundled / "directions.pt"
