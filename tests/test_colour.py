"""The hue distance: chroma-weighted hue histograms, their total variation, the real-vs-real
floor, and the collapse it exists to flag (a generator drawing one hue)."""

import json

import pytest
import torch
from torch import nn

from explorer.core.quality import eval_classifier as ec
from explorer.core.quality.colour import (
    HUE_BINS,
    HueHistogram,
    hue_distance,
    missing_hues,
    pixel_hue_chroma,
    why_no_hue,
)
from explorer.core.quality.evaluate import (
    _hue_header,
    evaluate_generator,
    hue_floor,
    real_set,
    summary_lines,
)
from trainer.data import ImageData
from trainer.data.shapes import FACTOR_NAMES, make_shapes, render, sample_factors

HUE = FACTOR_NAMES.index("hue")


def solid(rgb: tuple[float, float, float], n: int = 4, size: int = 8) -> torch.Tensor:
    """n images of one colour, RGB in [0, 1] -> (n, 3, size, size) in [-1, 1]."""
    x = torch.tensor(rgb, dtype=torch.float32).view(1, 3, 1, 1) * 2 - 1
    return x.expand(n, 3, size, size).clone()


@pytest.mark.parametrize("rgb,expected", [
    ((1, 0, 0), 0), ((1, 0.5, 0), 1), ((1, 1, 0), 2), ((0, 1, 0), 4), ((0, 1, 1), 6),
    ((0, 0, 1), 8), ((1, 0, 1), 10), ((0.6, 0.3, 0.3), 0), ((1, 0, 0.05), 0)])
def test_each_colour_votes_for_its_hue_with_its_chroma(rgb, expected):
    bins, chroma = pixel_hue_chroma(solid(rgb, n=1, size=2))
    assert (bins == expected).all()
    assert torch.allclose(chroma, torch.full_like(chroma, max(rgb) - min(rgb)), atol=1e-6)


def test_red_and_blue_have_no_hue_in_common():
    red, blue = HueHistogram.of(solid((1, 0, 0))), HueHistogram.of(solid((0, 0, 1)))
    assert hue_distance(red, blue) == pytest.approx(1.0)
    assert hue_distance(red, red) == 0.0


def test_a_set_against_itself_reads_zero_and_batches_add_up():
    x = make_shapes(64, 16).images.float() / 127.5 - 1
    whole = HueHistogram.of(x)
    parts = HueHistogram()
    for i in range(0, 64, 10):
        parts.add(x[i:i + 10])
    assert parts.pixels == whole.pixels == 64 * 16 * 16
    assert torch.allclose(parts.weights, whole.weights, rtol=1e-9)
    assert hue_distance(whole, parts) == pytest.approx(0.0, abs=1e-9)
    assert whole.shares().sum().item() == pytest.approx(1.0)


def test_greys_count_for_nothing_and_a_grey_set_has_no_figure():
    # A red shape on grey reads as pure red whatever the grey: the background casts no vote.
    on_dark, on_light = solid((0.1, 0.1, 0.1)), solid((0.8, 0.8, 0.8))
    on_dark[:, :, :2, :2] = on_light[:, :, :2, :2] = solid((1, 0, 0), size=2)
    assert hue_distance(HueHistogram.of(on_dark), HueHistogram.of(on_light)) == 0.0
    greys = HueHistogram.of(torch.rand(8, 1, 8, 8).expand(8, 3, 8, 8) * 2 - 1)
    assert greys.weights.sum() == 0 and greys.shares() is None
    red = HueHistogram.of(solid((1, 0, 0)))
    assert hue_distance(red, greys) is None and hue_distance(greys, greys) is None
    assert "the generated images have (almost) no colour" in why_no_hue(real=red,
                                                                        generated=greys)
    assert why_no_hue(real=red, generated=red) is None
    # A grey photograph's faint tint (a JPEG's) is no colour mix either.
    tint = torch.tensor([0.004, 0, 0]).view(1, 3, 1, 1)
    tinted = torch.rand(8, 1, 8, 8).expand(8, 3, 8, 8) * 0.99 + tint
    assert HueHistogram.of(tinted * 2 - 1).shares() is None


def test_single_channel_images_have_no_hue_figure():
    with pytest.raises(ValueError, match="RGB"):
        HueHistogram.of(torch.zeros(2, 1, 8, 8))
    g = torch.Generator().manual_seed(0)
    data = ImageData(torch.randint(0, 256, (40, 1, 8, 8), dtype=torch.uint8, generator=g))
    clf = ec.train_classifier(data, "k", steps=1)
    real = real_set(data, clf, n=16)
    assert real.hue is None and _hue_header(real) == {}
    r = evaluate_generator(_Fixed(ec.as_float(data.images[:16])), clf, real, z_dim=4,
                           conditional=False)
    assert not any(k.startswith("hue") for k in r)


class _Fixed(nn.Module):
    """A stand-in generator returning the given images in order, whatever z is."""

    def __init__(self, images: torch.Tensor):
        super().__init__()
        self.images, self.at = images, 0
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, z, y=None):
        out = self.images[self.at:self.at + len(z)]
        self.at += len(z)
        return out


def one_hue_shapes(n: int, size: int, hue: float, seed: int) -> torch.Tensor:
    """Shapes of every class, size and place, all drawn in one hue; (n, 3, S, S) in [-1, 1]."""
    labels, factors = sample_factors(n, torch.Generator().manual_seed(seed))
    factors[:, HUE] = hue
    return ec.as_float(render(labels, factors, size))


@pytest.fixture(scope="module")
def shapes16():
    data = make_shapes(256, 16)
    clf = ec.train_classifier(data, "k", steps=20)
    return data, clf, real_set(data, clf, n=64)


def test_a_generator_drawing_one_hue_reads_far_above_the_real_floor(shapes16):
    _, clf, real = shapes16
    floor, note = hue_floor(real)
    assert note is None and 0 <= floor < 0.35
    green = evaluate_generator(_Fixed(one_hue_shapes(64, 16, 0.33, seed=5)), clf, real, z_dim=4,
                               conditional=False)
    fresh = evaluate_generator(_Fixed(ec.as_float(make_shapes(64, 16, seed=9).images)), clf,
                               real, z_dim=4, conditional=False)
    assert green["hue_distance"] > 0.7 and green["hue_distance"] > 2.5 * floor
    assert fresh["hue_distance"] < 0.45  # new real-like images: near the floor (0.17 here)
    shares = green["hue_shares"]
    assert len(shares["real"]) == len(shares["generated"]) == len(shares["bins"]) == HUE_BINS
    assert max(shares["generated"]) > 0.9 and "hue_note" not in green
    lacking = {name for name, _, _ in missing_hues(shares)}
    assert {"red", "blue", "violet"} <= lacking and "green" not in lacking
    json.dumps(green)  # the report stays plain JSON


def test_grey_samples_of_colour_data_say_why_they_have_no_hue_figure(shapes16):
    _, clf, real = shapes16
    grey = one_hue_shapes(64, 16, 0.0, seed=5).mean(1, keepdim=True).expand(64, 3, 16, 16)
    r = evaluate_generator(_Fixed(grey), clf, real, z_dim=4, conditional=False)
    assert r["hue_distance"] is None and "generated images" in r["hue_note"]
    assert r["hue_shares"]["generated"] is None and r["fd"] > 0


def test_floor_without_spare_images_compares_the_two_halves():
    data = make_shapes(64, 8)
    clf = ec.train_classifier(data, "k", steps=2)
    real = real_set(data, clf, n=64)  # every image: no baseline set, the floor splits it
    assert real.baseline_features is None
    x = ec.as_float(data.images)
    train_idx, held_idx = ec.split_indices(len(data), 0)
    idx = torch.cat([held_idx, train_idx])
    first, second = HueHistogram.of(x[idx[:32]]), HueHistogram.of(x[idx[32:]])
    floor, _ = hue_floor(real)
    assert floor == pytest.approx(hue_distance(first, second), abs=1e-6)


def test_summary_and_table_show_the_hue_floor_and_column(shapes16):
    from explorer.cli.eval import format_table

    _, clf, real = shapes16
    r = {"checkpoint": "c.pt", "step": 6, "n": 64, "classifier": {
        "kind": "classes", "cache": "", "held_out": {"metric": None}},
        "fd_real_vs_real": 1.0, "class_names": [], **_hue_header(real),
        "models": {"G_ema": evaluate_generator(_Fixed(one_hue_shapes(64, 16, 0.33, seed=5)),
                                               clf, real, z_dim=4, conditional=False)},
        "over_steps": [{"step": 4, "snapshot": "s.pt", "fd": 3.0, "hue_distance": 0.5}]}
    assert any(x.startswith("hue distance real vs real") for x in summary_lines(r))
    table = format_table(r)
    assert "hue dist." in table and f"{r['models']['G_ema']['hue_distance']:.3f}" in table
    assert "0.500" in table  # the snapshot row's
    assert "G_ema draws too little of" in table and "blue" in table


def test_grey_photographs_stored_as_rgb_get_a_reason_instead_of_a_floor():
    g = torch.Generator().manual_seed(0)
    grey = torch.randint(0, 256, (40, 1, 8, 8), dtype=torch.uint8, generator=g)
    data = ImageData(grey.expand(40, 3, 8, 8).contiguous())
    clf = ec.train_classifier(data, "k", steps=1)
    real = real_set(data, clf, n=16)
    header = _hue_header(real)
    assert header["hue_distance_real_vs_real"] is None
    assert "the real images have (almost) no colour" in header["hue_note"]
    r = {"step": 1, "n": 16, "classifier": {"kind": "random-features", "cache": "",
                                             "held_out": {"metric": None}},
         "fd_real_vs_real": 1.0, "class_names": [], "models": {}, **header}
    assert header["hue_note"] in summary_lines(r)
    out = evaluate_generator(_Fixed(ec.as_float(data.images[:16])), clf, real, z_dim=4,
                             conditional=False)
    assert out["hue_distance"] is None and "real images" in out["hue_note"]


def test_the_hue_figure_leaves_every_other_figure_bit_for_bit_unchanged(shapes16):
    from dataclasses import replace

    _, clf, real = shapes16
    images = one_hue_shapes(64, 16, 0.5, seed=3)
    with_hue = evaluate_generator(_Fixed(images), clf, real, z_dim=4, conditional=False)
    without = evaluate_generator(_Fixed(images), clf, replace(real, hue=None, baseline_hue=None),
                                 z_dim=4, conditional=False)
    assert "hue_distance" in with_hue and not any(k.startswith("hue") for k in without)
    assert {k: v for k, v in with_hue.items() if not k.startswith("hue")} == without
