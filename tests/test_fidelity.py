"""Precision / recall (k-NN manifolds), memorisation, and the best snapshot of a run."""

import json

import pytest
import torch
from torch import nn

from explorer.core.quality import eval_classifier as ec
from explorer.core.quality.best_snapshot import best_row
from explorer.core.quality.evaluate import evaluate_generator, manifold_floor, real_set
from explorer.core.quality.fidelity import knn_radii, memorisation, nearest, precision_recall
from main import main
from trainer.checkpoint import CheckpointError, load_generator
from trainer.data.shapes import make_shapes


def _cloud(n=400, d=8, seed=0, shift=0.0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed)) + shift


def test_identical_sets_have_full_precision_and_recall():
    x = _cloud()
    assert precision_recall(x, x.clone()) == {"precision": 1.0, "recall": 1.0}


def test_disjoint_far_sets_have_none():
    assert precision_recall(_cloud(), _cloud(seed=1, shift=100.0)) == {"precision": 0.0,
                                                                       "recall": 0.0}


def test_a_collapsed_fake_set_is_precise_but_recalls_little():
    real = _cloud()
    fake = real[:3].repeat(134, 1)[:400] + 1e-3 * _cloud(seed=2)  # three real points, jittered
    pr = precision_recall(real, fake)
    assert pr["precision"] == 1.0 and pr["recall"] < 0.05
    fresh = precision_recall(real, _cloud(seed=3))  # another draw of the same distribution
    assert fresh["precision"] > 0.6 and fresh["recall"] > 0.6


def test_knn_radii_leave_the_point_itself_out():
    x = torch.tensor([[0.0], [1.0], [3.0], [6.0], [10.0]])
    assert knn_radii(x, k=1).tolist() == [1.0, 1.0, 2.0, 3.0, 4.0]
    assert knn_radii(x, k=3).tolist() == [6.0, 5.0, 3.0, 5.0, 9.0]
    with pytest.raises(ValueError):
        knn_radii(x[:3], k=3)


def test_nearest_can_exclude_each_query_itself():
    ref = torch.tensor([[0.0], [1.0], [5.0]])
    d, i = nearest(ref, ref, exclude=torch.tensor([0, 1, -1]))
    assert i[:, 0].tolist() == [1, 0, 2] and d[:, 0].tolist() == [1.0, 1.0, 0.0]


def test_memorisation_figures_on_made_up_distances():
    real_nn = torch.linspace(1, 2, 101)
    copies = memorisation(torch.zeros(50), real_nn)
    assert copies["near_copy_share"] == 1.0 and copies["median_ratio"] == 0.0
    fresh = memorisation(torch.linspace(1.5, 3, 50), real_nn)
    assert fresh["near_copy_share"] == 0.0 and fresh["median_ratio"] > 1


class _Fixed(nn.Module):
    """A stand-in "generator" that returns the given images in order, whatever z is."""

    def __init__(self, images: torch.Tensor):
        super().__init__()
        self.images = images
        self.w = nn.Parameter(torch.zeros(1))
        self.at = 0

    def forward(self, z, y=None):
        out = self.images[self.at:self.at + len(z)]
        self.at += len(z)
        return out


@pytest.fixture(scope="module")
def shapes_real():
    data = make_shapes(256, 16)
    clf = ec.train_classifier(data, "k", steps=20)
    return data, clf, real_set(data, clf, n=64)


def test_a_generator_that_copies_training_images_is_flagged(shapes_real):
    data, clf, real = shapes_real
    train = ec.as_float(data.images[-64:])  # training images the real set did not start with
    copies = evaluate_generator(_Fixed(train), clf, real, z_dim=4, conditional=False)
    assert copies["memorisation"]["near_copy_share"] > 0.95
    assert copies["memorisation"]["median_ratio"] < 0.05
    noise = torch.rand(64, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    fresh = evaluate_generator(_Fixed(noise), clf, real, z_dim=4, conditional=False)
    assert fresh["memorisation"]["near_copy_share"] == 0.0
    assert fresh["memorisation"]["median_ratio"] > 1
    assert fresh["precision"] < 0.1 and 0 <= fresh["recall"] <= 1


def test_real_vs_real_manifold_floor(shapes_real):
    _, _, real = shapes_real
    pr = manifold_floor(real)
    assert pr is not None and 0.5 < pr["precision"] <= 1 and 0.5 < pr["recall"] <= 1


def test_best_row_is_lowest_fd_then_precision_recall():
    rows = [{"step": 2, "fd": 5.0, "precision": 0.5, "recall": 0.5},
            {"step": 4, "fd": 3.0, "precision": 0.2, "recall": 0.2},
            {"step": 6, "fd": 3.0, "precision": 0.6, "recall": 0.3},
            {"snapshot": "x", "error": "damaged"}]
    assert best_row(rows)["step"] == 6
    assert best_row([{"snapshot": "x", "error": "damaged"}]) is None


def test_eval_over_steps_marks_the_best_and_every_command_opens_it(trained_run, tmp_path,
                                                                    capsys, monkeypatch):
    out = tmp_path / "eval.json"
    best = trained_run / "best"
    assert main(["sample", "--checkpoint", str(best), "--out", str(tmp_path / "a.png")]) != 0
    err = capsys.readouterr().err
    assert "no best checkpoint marked yet" in err and "Traceback" not in err

    assert main(["eval", "--checkpoint", str(trained_run), "--n", "16", "--classifier-steps",
                 "3", "--device", "cpu", "--over-steps", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["best"]["step"] in (4, 6) and r["best"]["marker"] == str(trained_run / "best.json")
    assert 0 <= r["pr_real_vs_real"]["precision"] <= 1
    for m in r["models"].values():
        assert 0 <= m["precision"] <= 1 and 0 <= m["recall"] <= 1
        assert 0 <= m["memorisation"]["near_copy_share"] <= 1
    for row in r["over_steps"]:
        assert {"precision", "recall", "near_copy_share"} <= set(row)
    printed = capsys.readouterr().out
    assert "<- best" in printed and "best snapshot: step" in printed

    assert load_generator(best).step == r["best"]["step"]
    monkeypatch.chdir(trained_run)
    assert load_generator("best").path.name == f"step_{r['best']['step']:07d}.pt"
    assert main(["sample", "--checkpoint", "best", "--out", str(tmp_path / "b.png")]) == 0
    assert main(["eval", "--checkpoint", "best", "--n", "8", "--device", "cpu",
                 "--out", str(out)]) == 0
    assert json.loads(out.read_text())["step"] == r["best"]["step"]

    (trained_run / "best.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="unreadable"):
        load_generator(best)


def test_stop_advice_after_patience_evaluations_without_gain():
    from explorer.core.quality.best_snapshot import stop_advice

    rows = [{"step": 2, "fd": 9.0}, {"step": 4, "fd": 5.0}, {"step": 6, "fd": 6.0}]
    assert stop_advice(rows, patience=2) is None
    rows.append({"step": 8, "fd": 5.5})
    advice = stop_advice(rows, patience=2)
    assert "no gain in the last 2 evaluations" in advice and "step 4" in advice
    rows.append({"step": 10, "fd": 4.0})  # a new best resets the count
    assert stop_advice(rows, patience=2) is None
    assert stop_advice([], patience=1) is None


def test_eval_watch_evaluates_each_snapshot_and_advises(trained_run, tmp_path, capsys):
    out = tmp_path / "watch.json"
    assert main(["eval", "--checkpoint", str(trained_run), "--watch", "--patience", "1",
                 "--stop-after-idle", "0", "--poll", "0.01", "--n", "16",
                 "--classifier-steps", "3", "--device", "cpu", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert [row["step"] for row in r["over_steps"]] == [4, 6]
    assert (trained_run / "best.json").is_file() and r["best"]["step"] in (4, 6)
    printed = capsys.readouterr().out
    assert printed.count("step ") >= 2 and "<- best" in printed
    if r["best"]["step"] == 4:  # step 6 brought no gain: with patience 1, advice
        assert r["advice"] and "advice: no gain" in printed
    else:
        assert r["advice"] is None
    empty = tmp_path / "empty"
    (empty / "snapshots").mkdir(parents=True)
    for f in ("checkpoint.pt", "config.json"):
        (empty / f).write_bytes((trained_run / f).read_bytes())
    assert main(["eval", "--checkpoint", str(empty), "--watch", "--stop-after-idle", "0",
                 "--poll", "0.01", "--n", "16", "--classifier-steps", "3", "--device", "cpu",
                 "--out", str(out)]) == 1
    assert "no snapshot" in capsys.readouterr().err


@pytest.mark.parametrize("channels,size", [(1, 8), (3, 128)])
def test_unlabelled_folders_of_any_size_get_every_figure(channels, size):
    """No classes or attributes (a random-feature classifier), grey or colour, 8 to 128 px."""
    from trainer.data import ImageData

    g = torch.Generator().manual_seed(0)
    data = ImageData(torch.randint(0, 256, (40, channels, size, size), dtype=torch.uint8,
                                   generator=g))
    clf = ec.train_classifier(data, "k", steps=1)
    real = real_set(data, clf, n=16)
    assert real.train_pixels.shape == (40, channels * min(size, 16) ** 2)
    r = evaluate_generator(_Fixed(ec.as_float(data.images[:16])), clf, real, z_dim=4,
                           conditional=False)
    assert r["memorisation"]["near_copy_share"] == 1.0  # it returned training images
    assert 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 and "accuracy" not in r
    assert manifold_floor(real) is not None


def test_over_steps_result_carries_the_stop_advice_into_the_summary():
    from explorer.core.quality.evaluate import summary_lines

    r = {"step": 6, "n": 16, "classifier": {"kind": "classes", "cache": "", "held_out": {
        "metric": None}}, "fd_real_vs_real": 1.0, "class_names": [], "models": {},
        "best": {"step": 2, "path": "run/snapshots/step_0000002.pt"},
        "advice": "no gain in the last 3 evaluations"}
    lines = summary_lines(r)
    assert "advice: no gain in the last 3 evaluations" in lines
    assert any("--checkpoint run/best" in x for x in lines)
