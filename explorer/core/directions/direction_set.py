"""The Control view's state without Qt: the listed directions, each with its slider value α.

``DirectionSet`` is the one source of truth for the sliders: the view renders it and forwards
the user's edits to it. The offset Σ αᵢ·dᵢ is computed here only, once per change (it is cached
until the next edit), so the session's offset and the preview's z can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from explorer.core.directions import direction as dmath
from explorer.core.directions.direction import Direction

DUPLICATE_COSINE = 0.9999  # |cos| above this: the same direction (either sign), not added twice


class DirectionSet:
    """Directions in list order with their α. Index-based edits raise IndexError when out of
    range; ``orthogonalise`` raises DirectionsError (and changes nothing) when it cannot."""

    def __init__(self, directions: Sequence[Direction] = (),
                 alphas: Sequence[float] | None = None) -> None:
        self._dirs: list[Direction] = []
        self._alphas: list[float] = []
        self._offset: torch.Tensor | None = None
        self._offset_valid = False
        self.replace(directions, alphas)

    # --- reading --------------------------------------------------------------------------------
    @property
    def directions(self) -> tuple[Direction, ...]:
        return tuple(self._dirs)

    @property
    def alphas(self) -> tuple[float, ...]:
        return tuple(self._alphas)

    def __len__(self) -> int:
        return len(self._dirs)

    def __getitem__(self, i: int) -> Direction:
        return self._dirs[i]

    def alpha(self, i: int) -> float:
        return self._alphas[i]

    def offset(self) -> torch.Tensor | None:
        """Σ αᵢ·dᵢ as (z_dim,), or None when no slider is off zero. Computed once per change."""
        if not self._offset_valid:
            self._offset = dmath.offset(self._dirs, self._alphas)
            self._offset_valid = True
        return self._offset

    def apply(self, z: torch.Tensor) -> torch.Tensor:
        """z (…, z_dim) moved by the offset (z itself when there is none)."""
        off = self.offset()
        return z if off is None else z + off

    def is_duplicate(self, d: Direction) -> bool:
        return any(abs(float(d.vector @ o.vector)) > DUPLICATE_COSINE for o in self._dirs)

    # --- editing --------------------------------------------------------------------------------
    def replace(self, directions: Sequence[Direction],
                alphas: Sequence[float] | None = None) -> None:
        """The whole list anew; α default to 0."""
        dirs = list(directions)
        al = [float(a) for a in alphas] if alphas is not None else [0.0] * len(dirs)
        if len(al) != len(dirs):
            raise ValueError(f"{len(dirs)} directions but {len(al)} slider values")
        self._dirs, self._alphas = dirs, al
        self._changed()

    def add(self, directions: Sequence[Direction]) -> list[Direction]:
        """Append at α = 0, skipping any that duplicate one listed (or one added before it in
        the same call); returns those added."""
        added = []
        for d in directions:
            if not self.is_duplicate(d):
                self._dirs.append(d)
                self._alphas.append(0.0)
                added.append(d)
        if added:
            self._changed()
        return added

    def move(self, i: int, step: int) -> int | None:
        """Move direction i (with its α) by ``step`` places; returns where it went, or None when
        that is outside the list (nothing changes)."""
        self._check(i)
        j = i + step
        if not 0 <= j < len(self._dirs) or j == i:
            return None
        d, a = self._dirs.pop(i), self._alphas.pop(i)
        self._dirs.insert(j, d)
        self._alphas.insert(j, a)
        # The sum does not depend on the order, but floating-point rounding may: recompute.
        self._changed()
        return j

    def delete(self, i: int) -> Direction:
        self._check(i)
        self._alphas.pop(i)
        d = self._dirs.pop(i)
        self._changed()
        return d

    def set_alpha(self, i: int, alpha: float) -> bool:
        """Returns whether the value changed."""
        self._check(i)
        if self._alphas[i] == float(alpha):
            return False
        self._alphas[i] = float(alpha)
        self._changed()
        return True

    def reset(self) -> list[int]:
        """Every α to 0; returns the indices whose α changed."""
        moved = [i for i, a in enumerate(self._alphas) if a != 0.0]
        if moved:
            self._alphas = [0.0] * len(self._dirs)
            self._changed()
        return moved

    def set_range(self, i: int, lo: float, hi: float) -> None:
        """The slider range of direction i (its α is the view's to clamp; the offset is not
        affected)."""
        self._check(i)
        self._dirs[i] = self._dirs[i].with_vector(self._dirs[i].vector, range=(lo, hi))

    def rename(self, i: int, name: str) -> None:
        self._check(i)
        self._dirs[i] = self._dirs[i].with_vector(self._dirs[i].vector, name=name)

    def orthogonalise(self) -> None:
        """Gram–Schmidt in list order: the first direction is kept, each later one loses what it
        shares with those above it. Names, ranges and α are kept."""
        self._dirs = dmath.orthogonalize(self._dirs)  # raises before anything changed
        self._changed()

    # --- internals ------------------------------------------------------------------------------
    def _check(self, i: int) -> None:
        if not 0 <= i < len(self._dirs):
            raise IndexError(f"no direction {i} (there are {len(self._dirs)})")

    def _changed(self) -> None:
        self._offset_valid = False
        self._offset = None

