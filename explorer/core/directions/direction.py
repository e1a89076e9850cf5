"""Feature directions in z-space: the ``Direction`` record, the math on sets of directions, and
their persistence (``directions.pt`` beside the checkpoint).

A direction d is a unit vector (z_dim,) float32; a slider at value α renders G(z + α·d). The
finders (SeFa, GANSpace, InterFaceGAN-style supervised) live in ``finders``; this module
holds what every source shares. Qt-free: used by the CLI and the Control view alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from explorer.core.demo import run_folder
from trainer.errors import UserError
from trainer.plainfile import PlainFileError, load_plain, save_plain
from trainer.runfolder import RunFolder

SOURCES = ("sefa", "ganspace", "supervised", "conditional", "example")
FORMAT = "latent-lab-directions"
VERSION = 1
_EPS = 1e-8


class DirectionsError(UserError):
    """Directions cannot be computed, loaded or saved; the message is meant for the user."""


@dataclass(frozen=True)
class Direction:
    """A named unit direction in z-space with the slider range that keeps samples plausible."""

    name: str
    vector: torch.Tensor  # (z_dim,) float32, unit norm, CPU
    source: str  # one of SOURCES
    range: tuple[float, float] = (-3.0, 3.0)  # suggested α range (z ~ N(0, I), so ±3 is wide)
    attribute: str | None = None  # the attribute it is meant to move (supervised / auto-named)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"direction source must be one of {', '.join(SOURCES)}")
        v = torch.as_tensor(self.vector, dtype=torch.float32).detach().cpu().flatten()
        object.__setattr__(self, "vector", unit(v))
        lo, hi = float(self.range[0]), float(self.range[1])
        if not lo < hi:
            raise ValueError(f"direction range must have lo < hi (got {lo}, {hi})")
        object.__setattr__(self, "range", (lo, hi))

    @property
    def z_dim(self) -> int:
        return self.vector.numel()

    def with_vector(self, vector: torch.Tensor, **changes: object) -> Direction:
        return replace(self, vector=vector, **changes)  # type: ignore[arg-type]


def unit(v: torch.Tensor) -> torch.Tensor:
    """v / ‖v‖; a (near) zero vector is an error rather than a silent NaN slider."""
    n = v.norm()
    if not torch.isfinite(n) or n < _EPS:
        raise DirectionsError("a direction vector is zero or not finite")
    return v / n


def _vec(d: Direction | torch.Tensor) -> torch.Tensor:
    return d.vector if isinstance(d, Direction) else torch.as_tensor(d, dtype=torch.float32)


def stack(directions: Sequence[Direction | torch.Tensor]) -> torch.Tensor:
    """(K, z_dim) matrix of the directions' vectors."""
    if not directions:
        raise DirectionsError("no directions")
    return torch.stack([_vec(d).float().flatten() for d in directions])


def cosine_matrix(directions: Sequence[Direction | torch.Tensor]) -> torch.Tensor:
    """(K, K) cosine similarities; the diagonal is 1. Large off-diagonal values = entanglement."""
    m = stack(directions)
    m = m / m.norm(dim=1, keepdim=True).clamp_min(_EPS)
    return m @ m.T


def orthogonalize(directions: Sequence[Direction], method: str = "gram-schmidt") -> list[Direction]:
    """Make the directions mutually orthogonal, keeping order, names and ranges.

    "gram-schmidt": the first direction is unchanged, each later one loses its components along
    the earlier ones (so put the most trusted direction first). "symmetric": Löwdin's M·(MᵀM)^-½,
    the orthonormal set closest to the originals overall, favouring none of them.
    """
    if not directions:
        return []
    m = stack(directions)  # (K, D)
    k, dim = m.shape
    if k > dim:
        raise DirectionsError(f"cannot orthogonalise {k} directions in a {dim}-dimensional z")
    if method == "gram-schmidt":
        out = []
        for v in m:
            for u in out:
                v = v - (v @ u) * u
            if v.norm() < 1e-4:
                raise DirectionsError("directions are linearly dependent; delete a duplicate "
                                      "before orthogonalising")
            out.append(v / v.norm())
        q = torch.stack(out)
    elif method == "symmetric":
        m = m / m.norm(dim=1, keepdim=True)
        u, s, vh = torch.linalg.svd(m.double(), full_matrices=False)
        if s.min() < 1e-4:
            raise DirectionsError("directions are linearly dependent; delete a duplicate "
                                  "before orthogonalising")
        q = (u @ vh).float()  # (K, D): the polar factor = (M Mᵀ)^-½ M
    else:
        raise ValueError("method must be 'gram-schmidt' or 'symmetric'")
    return [d.with_vector(v) for d, v in zip(directions, q, strict=True)]


def project_out(d: Direction | torch.Tensor,
                others: Sequence[Direction | torch.Tensor]) -> Direction | torch.Tensor:
    """Conditional manipulation (InterFaceGAN): remove from d its components in the span of
    ``others`` and renormalise, so moving along d leaves those attributes' linear scores unchanged.

    A Direction comes back as source "conditional" named e.g. "size ⊥ hue, background" (or
    "size ⊥ 4 others").
    """
    v = _vec(d).float().flatten()
    if others:
        basis = stack(others).T.double()  # (D, M)
        q, r = torch.linalg.qr(basis)
        # Keep only independent columns: a duplicate "other" must not zero out a basis vector.
        q = q[:, r.diagonal().abs() > 1e-6].float()
        v = v - q @ (q.T @ v)
    if v.norm() < 1e-4:
        raise DirectionsError("the direction lies in the span of the ones to project out")
    v = v / v.norm()
    if not isinstance(d, Direction):
        return v
    names = [o.attribute or o.name for o in others if isinstance(o, Direction)]
    # Short enough for a slider label: list up to two, count the rest.
    listed = ", ".join(names) if len(names) <= 2 else f"{len(names)} others"
    name = f"{d.name} ⊥ {listed}" if names else d.name
    return d.with_vector(v, source="conditional", name=name)


def example_direction(z_with: torch.Tensor, z_without: torch.Tensor) -> torch.Tensor:
    """Unit (z_dim,) from the mean z of samples lacking a feature to the mean of those having it.

    z_with: (A, z_dim), z_without: (B, z_dim), A, B >= 1.
    """
    if len(z_with) == 0 or len(z_without) == 0:
        raise DirectionsError("mark at least one sample that has the feature and one that lacks it")
    diff = z_with.float().mean(0) - z_without.float().mean(0)
    if diff.norm() < 1e-6:
        raise DirectionsError("the two groups have the same mean z; mark different samples")
    return diff / diff.norm()


def offset(directions: Sequence[Direction], alphas: Sequence[float]) -> torch.Tensor | None:
    """Σ αᵢ·dᵢ as (z_dim,), or None when every α is zero (no offset at all)."""
    if not directions or all(a == 0 for a in alphas):
        return None
    return (torch.as_tensor(list(alphas), dtype=torch.float32) @ stack(directions))


# --- persistence -----------------------------------------------------------------------------

def directions_path(checkpoint: Path | str) -> Path:
    """The ``directions.pt`` to load for a checkpoint (its run folder's, or a saved copy of the
    bundled demo's; see demo.write_dir). It may not exist."""
    return run_folder(checkpoint).directions


def directions_save_path(checkpoint: Path | str) -> Path:
    """Where saving the directions of a checkpoint writes ``directions.pt``."""
    return run_folder(checkpoint).side_save_path(RunFolder.DIRECTIONS)


def save_directions(path: Path | str, directions: Sequence[Direction]) -> None:
    """Write plain tensors, strings and lists (loadable with weights_only=True), atomically."""
    if not directions:
        raise DirectionsError("no directions to save")
    payload = {
        "z_dim": directions[0].z_dim,
        "names": [d.name for d in directions],
        "sources": [d.source for d in directions],
        "attributes": [d.attribute or "" for d in directions],
        "ranges": torch.tensor([list(d.range) for d in directions], dtype=torch.float32),
        "vectors": stack(directions).contiguous(),  # (K, z_dim)
    }
    try:
        save_plain(Path(path), FORMAT, VERSION, payload)
    except OSError as e:
        raise DirectionsError(f"cannot write {path}: {e.strerror or e}") from None


def load_directions(path: Path | str, z_dim: int | None = None) -> list[Direction]:
    """Read a directions file; never executes code from it. ``z_dim`` checks the model fits."""
    path = Path(path)
    name = path.name
    try:
        d = load_plain(path, FORMAT, VERSION, "directions file")
    except PlainFileError as e:
        raise DirectionsError(str(e)) from None
    try:
        vectors, ranges = d["vectors"], d["ranges"]
        names, sources, attrs = list(d["names"]), list(d["sources"]), list(d["attributes"])
        k = len(names)
        ok = (isinstance(vectors, torch.Tensor) and vectors.dim() == 2 and len(vectors) == k
              and isinstance(ranges, torch.Tensor) and tuple(ranges.shape) == (k, 2)
              and len(sources) == k and len(attrs) == k
              and all(isinstance(s, str) for s in names + sources + attrs))
        if not ok:
            raise DirectionsError(f"{name} is malformed (inconsistent names/vectors/ranges)")
        if z_dim is not None and vectors.shape[1] != z_dim:
            raise DirectionsError(f"{name} was made for z_dim {vectors.shape[1]}, but this model "
                                  f"has z_dim {z_dim}")
        return [Direction(n, v, s, (float(r[0]), float(r[1])), a or None)
                for n, v, s, r, a in zip(names, vectors, sources, ranges.tolist(), attrs,
                                         strict=True)]
    except (KeyError, TypeError, ValueError) as e:
        raise DirectionsError(f"{name} is malformed: {str(e)[:120]}") from None


def find_direction(directions: Sequence[Direction], key: str) -> Direction:
    """The direction a user means by ``key``: its exact name (any case), its index in the list,
    the start of one name only, or an attribute it moves (the first such, in list order, as
    the Control view lists them). Names like "size ⊥ 4 others" are awkward to type, so "size"
    finds it. A key that matches nothing is a DirectionsError naming the choices."""
    k = key.strip().lower()
    if not directions:
        raise DirectionsError("there are no directions to choose from")
    for d in directions:
        if d.name.lower() == k:
            return d
    if k.isdigit():
        if int(k) < len(directions):
            return directions[int(k)]
        raise DirectionsError(f"direction index {k} is out of range: there are "
                              f"{len(directions)} (0..{len(directions) - 1})")
    starts = [d for d in directions if d.name.lower().startswith(k)]
    if len(starts) == 1:
        return starts[0]
    by_attr = [d for d in directions if (d.attribute or "").lower() == k]
    if by_attr:
        return by_attr[0]
    if starts:
        return starts[0]
    choices = ", ".join(f"{i} '{d.name}'" for i, d in enumerate(directions))
    raise DirectionsError(f"no direction '{key}': choose by name, index or attribute among "
                          f"{choices}")
