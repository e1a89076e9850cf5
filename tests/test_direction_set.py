"""The sliders' state without Qt: DirectionSet edits and its one offset Σ αᵢ·dᵢ."""

from __future__ import annotations

import pytest
import torch

from explorer.core.directions import direction as dmath
from explorer.core.directions.direction import Direction, DirectionsError
from explorer.core.directions.direction_set import DirectionSet


def _d(name: str, i: int, z_dim: int = 8, **kw: object) -> Direction:
    return Direction(name, torch.eye(z_dim)[i], "sefa", **kw)


def _random(n: int, seed: int = 0) -> list[Direction]:
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(8, generator=g)
    return [Direction(f"d{i}", base + 0.5 * torch.randn(8, generator=g), "sefa") for i in range(n)]


def test_offset_is_the_alpha_weighted_sum_and_none_at_zero():
    s = DirectionSet([_d("a", 0), _d("b", 3)])
    assert s.offset() is None and s.alphas == (0.0, 0.0)
    z = torch.randn(8)
    assert s.apply(z) is z
    assert s.set_alpha(0, 2.0) and s.set_alpha(1, -0.5)
    expected = 2.0 * torch.eye(8)[0] - 0.5 * torch.eye(8)[3]
    assert torch.allclose(s.offset(), expected)
    assert torch.allclose(s.apply(z), z + expected)
    assert not s.set_alpha(1, -0.5)  # unchanged: reported so the view requests nothing


def test_offset_is_computed_once_per_change(monkeypatch):
    calls = []
    real = dmath.offset

    def counting(dirs, alphas):
        calls.append(1)
        return real(dirs, alphas)

    monkeypatch.setattr(dmath, "offset", counting)
    s = DirectionSet([_d("a", 0)])
    s.set_alpha(0, 1.0)
    first = s.offset()
    assert s.offset() is first and s.apply(torch.zeros(8)) is not None
    assert len(calls) == 1  # the session's offset and the preview's z share one computation
    s.set_alpha(0, 2.0)
    assert torch.allclose(s.offset(), 2 * torch.eye(8)[0]) and len(calls) == 2


def test_add_skips_duplicates_either_sign_and_within_one_call():
    s = DirectionSet([_d("a", 0)])
    s.set_alpha(0, 1.5)
    flipped = Direction("minus a", -torch.eye(8)[0], "sefa")
    added = s.add([flipped, _d("b", 1), _d("b again", 1)])
    assert [d.name for d in added] == ["b"]
    assert [d.name for d in s.directions] == ["a", "b"] and s.alphas == (1.5, 0.0)
    assert s.add([_d("a twice", 0)]) == []


def test_move_carries_alpha_and_refuses_outside():
    s = DirectionSet([_d("a", 0), _d("b", 1), _d("c", 2)], [1.0, 2.0, 3.0])
    before = s.offset().clone()
    assert s.move(2, -1) == 1
    assert [d.name for d in s.directions] == ["a", "c", "b"] and s.alphas == (1.0, 3.0, 2.0)
    assert torch.allclose(s.offset(), before)  # order never changes the sum
    assert s.move(0, -1) is None and s.move(2, 1) is None
    assert [d.name for d in s.directions] == ["a", "c", "b"]
    with pytest.raises(IndexError):
        s.move(3, -1)


def test_delete_and_reset_update_the_offset():
    s = DirectionSet([_d("a", 0), _d("b", 1)], [1.0, 2.0])
    assert s.delete(0).name == "a"
    assert torch.allclose(s.offset(), 2 * torch.eye(8)[1])
    s.add([_d("c", 2)])
    assert s.reset() == [0]  # only the slider that was off zero
    assert s.offset() is None and s.alphas == (0.0, 0.0)
    assert s.reset() == []
    with pytest.raises(IndexError):
        s.delete(5)


def test_orthogonalise_keeps_names_ranges_alphas_and_refuses_dependent_sets():
    dirs = _random(3)
    s = DirectionSet(dirs, [0.5, 0.0, -1.0])
    s.rename(1, "renamed")
    s.set_range(2, -1.0, 2.0)
    assert abs(float(dmath.cosine_matrix(s.directions)[0, 1])) > 0.3
    s.orthogonalise()
    cos = dmath.cosine_matrix(s.directions)
    assert torch.allclose(cos, torch.eye(3), atol=1e-5)
    assert torch.equal(s[0].vector, dirs[0].vector)  # the top one is kept
    assert [d.name for d in s.directions] == ["d0", "renamed", "d2"]
    assert s[2].range == (-1.0, 2.0) and s.alphas == (0.5, 0.0, -1.0)
    expected = 0.5 * s[0].vector - 1.0 * s[2].vector
    assert torch.allclose(s.offset(), expected)  # recomputed for the new vectors

    dup = DirectionSet([_d("a", 0), Direction("a'", torch.eye(8)[0] + 1e-6, "sefa")], [1.0, 1.0])
    kept = dup.directions
    with pytest.raises(DirectionsError):
        dup.orthogonalise()
    assert dup.directions == kept  # nothing half-changed


def test_rename_and_range_do_not_move_the_offset():
    s = DirectionSet([_d("a", 0)], [1.0])
    before = s.offset()
    s.rename(0, "bigger")
    s.set_range(0, -5.0, 5.0)
    assert s[0].name == "bigger" and s[0].range == (-5.0, 5.0)
    assert torch.equal(s.offset(), before)


def test_replace_checks_lengths():
    with pytest.raises(ValueError):
        DirectionSet([_d("a", 0)], [1.0, 2.0])
    s = DirectionSet([_d("a", 0)], [1.0])
    s.replace([])
    assert len(s) == 0 and s.offset() is None
