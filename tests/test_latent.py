"""Latent math: edge cases of lerp/slerp/truncation, seeded grids, class vectors, morph latents."""

import pytest
import torch

from explorer.core.latent.latent_math import (
    class_mix,
    grid_z,
    interpolate_frames,
    lerp,
    one_hot,
    per_class_latents,
    random_labels,
    seed_label,
    seed_z,
    seeded_z,
    slerp,
    truncate,
)
from explorer.core.latent.morph import Endpoint, endpoint_from_seed, morph_latents, morph_length
from explorer.core.latent.sampling import (
    ONE_CLASS,
    PER_CLASS,
    RANDOM,
    GridSpec,
    grid_latents,
    resolve_class,
)

D = 16


def vec(seed: int) -> torch.Tensor:
    return seed_z(seed, D)


@pytest.mark.parametrize("fn", [lerp, slerp])
def test_endpoints_at_t0_t1(fn):
    a, b = vec(1), vec(2)
    torch.testing.assert_close(fn(a, b, 0.0), a)
    torch.testing.assert_close(fn(a, b, 1.0), b)
    out = fn(a, b, torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(out[0], a)
    torch.testing.assert_close(out[1], b)


@pytest.mark.parametrize("fn", [lerp, slerp])
def test_shapes(fn):
    a, b = vec(1), vec(2)
    assert fn(a, b, 0.3).shape == (D,)
    assert fn(a, b, torch.linspace(0, 1, 7)).shape == (7, D)


def test_lerp_midpoint():
    a, b = vec(1), vec(2)
    torch.testing.assert_close(lerp(a, b, 0.5), (a + b) / 2)


def test_slerp_keeps_norm_for_equal_norms():
    a = vec(1)
    b = vec(2)
    b = b / b.norm() * a.norm()
    out = slerp(a, b, torch.linspace(0, 1, 11))
    torch.testing.assert_close(out.norm(dim=1), a.norm().expand(11))
    # and a lerp midpoint is shorter: the reason slerp exists
    assert lerp(a, b, 0.5).norm() < a.norm() * 0.95


def test_slerp_parallel_vectors():
    a = vec(1)
    out = slerp(a, 2 * a, torch.linspace(0, 1, 5))
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, lerp(a, 2 * a, torch.linspace(0, 1, 5)))
    torch.testing.assert_close(slerp(a, a, 0.5), a)


def test_slerp_opposite_vectors():
    a = vec(1)
    out = slerp(a, -a, torch.linspace(0, 1, 9))
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0], a)
    torch.testing.assert_close(out[-1], -a)
    torch.testing.assert_close(out.norm(dim=1), a.norm().expand(9))
    # the midpoint is perpendicular to both ends (a half turn through a fixed perpendicular)
    assert abs(float(out[4] @ a)) < 1e-4


def test_slerp_zero_vector_falls_back_to_lerp():
    a, b = torch.zeros(D), vec(2)
    torch.testing.assert_close(slerp(a, b, 0.25), lerp(a, b, 0.25))


def test_truncation():
    z = seeded_z(0, 64, D) * 3
    assert truncate(z, 1.0) is z
    t = truncate(z, 0.5)
    assert t.abs().max() <= 2.0
    small = z.abs() < 2  # not clamped: exactly scaled
    torch.testing.assert_close(t[small], z[small] * 0.5)


def test_seeds_and_grids_are_deterministic():
    torch.testing.assert_close(seeded_z(5, 3, D), seeded_z(5, 3, D))
    assert not torch.equal(seed_z(5, D), seed_z(6, D))
    g = grid_z(40, 6, D)
    assert g.shape == (6, D)
    for i in range(6):
        assert torch.equal(g[i], seed_z(40 + i, D))
    # the global RNG does not matter
    torch.manual_seed(123)
    a = grid_z(7, 3, D)
    torch.manual_seed(456)
    assert torch.equal(a, grid_z(7, 3, D))


def test_class_vectors():
    y = one_hot([0, 2], 3)
    assert y.tolist() == [[1, 0, 0], [0, 0, 1]]
    z, y = per_class_latents(3, 4, D, 5)
    assert z.shape == (20, D) and y.shape == (20, 5)
    for r in range(5):
        for c in range(4):
            assert torch.equal(z[r * 4 + c], seed_z(3 + c, D))
            assert y[r * 4 + c].argmax() == r
    labels = random_labels(10, 50, 5)
    assert labels.shape == (50,) and labels.min() >= 0 and labels.max() < 5
    assert len(set(labels.tolist())) > 1
    assert labels[3] == seed_label(13, 5) and torch.equal(labels, random_labels(10, 50, 5))
    mix = class_mix(one_hot([0], 3)[0], one_hot([2], 3)[0], torch.linspace(0, 1, 5))
    torch.testing.assert_close(mix.sum(1), torch.ones(5))
    torch.testing.assert_close(mix[2], torch.tensor([0.5, 0.0, 0.5]))


def test_interpolate_frames_ping_pong():
    a, b = vec(1), vec(2)
    pts = interpolate_frames(a, b, 5, spherical=True, ping_pong=True)
    assert pts.shape == (8, D)  # 5 there, 3 back: the ends are not repeated when looping
    torch.testing.assert_close(pts[4], b)
    torch.testing.assert_close(pts[5], pts[3])
    with pytest.raises(ValueError):
        interpolate_frames(a, b, 1, spherical=False)


def test_morph_latents():
    a = endpoint_from_seed(1, D, class_index=0, n_classes=3)
    b = endpoint_from_seed(2, D, class_index=2, n_classes=3)
    z, y = morph_latents(a, b, 6, spherical=True, ping_pong=False)
    assert z.shape == (6, D) and y.shape == (6, 3)
    assert torch.equal(z[0], seed_z(1, D)) and torch.equal(z[-1], seed_z(2, D))  # exact ends
    assert y[0].tolist() == [1, 0, 0] and y[-1].tolist() == [0, 0, 1]
    z, y = morph_latents(a, b, 6, spherical=False, ping_pong=True)
    assert len(z) == len(y) == morph_length(6, True) == 10
    torch.testing.assert_close(y[6], y[4])
    torch.testing.assert_close(z[1], lerp(a.z, b.z, 0.2))
    zu, yu = morph_latents(Endpoint(vec(1)), Endpoint(vec(2)), 3)
    assert yu is None and zu.shape == (3, D)
    for bad in (1, 1001):
        with pytest.raises(ValueError, match="frames must be between 2 and 1000"):
            morph_latents(a, b, bad)
    with pytest.raises(ValueError):
        morph_latents(a, Endpoint(vec(2)), 4)


def test_grid_latents_modes():
    names = ("circle", "square", "star")
    lat = grid_latents(GridSpec(5, 4, truncation=0.7, mode=ONE_CLASS, class_index=2), D, names)
    assert lat.labels == [2] * 4 and lat.seeds == [5, 6, 7, 8]
    torch.testing.assert_close(lat.z[1], truncate(seed_z(6, D), 0.7))
    lat = grid_latents(GridSpec(5, 4, mode=PER_CLASS), D, names)
    assert len(lat) == 12 and lat.cols == 4 and lat.labels == [0] * 4 + [1] * 4 + [2] * 4
    assert lat.seeds[4:8] == [5, 6, 7, 8]
    lat = grid_latents(GridSpec(5, 4, mode=RANDOM), D, names)
    assert lat.labels == random_labels(5, 4, 3).tolist()
    lat = grid_latents(GridSpec(5, 4, mode=PER_CLASS), D, ())
    assert lat.y is None and len(lat) == 4
    with pytest.raises(ValueError, match="0 circle, 1 square, 2 star"):
        grid_latents(GridSpec(0, 4, mode=ONE_CLASS, class_index=3), D, names)
    with pytest.raises(ValueError):
        grid_latents(GridSpec(0, 0), D, names)


def test_resolve_class():
    names = ("circle", "square")
    assert resolve_class("Square", names) == 1
    assert resolve_class("0", names) == 0
    for bad in ("2", "-1", "hexagon"):
        with pytest.raises(ValueError, match="0 circle, 1 square"):
            resolve_class(bad, names)
    with pytest.raises(ValueError, match="unconditional"):
        resolve_class("0", ())
