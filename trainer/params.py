"""What a config field accepts and how it is shown, declared once next to the field.

A config dataclass (trainer/config.py) declares each field with ``param(default, accepts, ...)``:
the rule its value must meet (``ints``, ``number``, ``pair``, ``one_of``, ``boolean``, ``text``),
its help text, and where it appears: a ``train`` command-line flag (derived from the name unless
``flag`` says otherwise; ``flag=None`` for none) and a row of the run form (``form`` = the form's
group: "data", "model" or "run"; ``label`` the row's label). ``first_bad`` finds the field that
breaks its rule (config.py raises the ConfigError); the CLI (trainer/cli.py) and the form
(explorer/ui/train/run_fields.py) generate their flags and rows from ``config.params()``, so a new
hyper-parameter is one ``param`` line plus the code that uses it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass(frozen=True)
class Accepts:
    """A field's rule. ``kind``: "int", "float", "pair" (two floats), "choice", "bool", "str";
    ``optional``: None is allowed too (the form shows it as an empty text)."""

    kind: str
    text: str  # what the error message says the field must be
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False

    def _in_range(self, v: float) -> bool:
        if self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo):
            return False
        return not (self.hi is not None and (v >= self.hi if self.hi_open else v > self.hi))

    def ok(self, v: Any) -> bool:
        if v is None:
            return self.optional
        if self.kind == "int":
            return _is_int(v) and self._in_range(v)
        if self.kind == "float":
            return _is_num(v) and self._in_range(v)
        if self.kind == "pair":
            return (isinstance(v, (list, tuple)) and len(v) == 2
                    and all(_is_num(x) and self._in_range(x) for x in v))
        if self.kind == "choice":
            return v in self.choices
        if self.kind == "bool":
            return isinstance(v, bool)
        return True  # "str": any text


def _interval(lo: float, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if hi is None:
        return f">= {lo:g}" if not lo_open else f"> {lo:g}"
    return f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def ints(lo: int, hi: int | None = None) -> Accepts:
    """An integer in [lo, hi] (hi None: no upper bound)."""
    where = f"in [{lo}, {hi}]" if hi is not None else f">= {lo}"
    return Accepts("int", f"an integer {where}", lo, hi)


def number(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False,
           or_none: str = "") -> Accepts:
    """A number in the interval; ``or_none`` (what None means) allows None too."""
    text = f"a number in {_interval(lo, hi, lo_open, hi_open)}"
    return Accepts("float", text + (f", or null for {or_none}" if or_none else ""), lo, hi,
                   lo_open, hi_open, optional=bool(or_none))


def pair(lo: float, hi: float, hi_open: bool = False) -> Accepts:
    return Accepts("pair", f"two numbers in {_interval(lo, hi, False, hi_open)}", lo, hi,
                   hi_open=hi_open)


def one_of(choices: tuple[str, ...], text: str = "") -> Accepts:
    return Accepts("choice", text or "one of " + ", ".join(map(str, choices)),
                   choices=tuple(choices))


def boolean() -> Accepts:
    return Accepts("bool", "true or false")


def text() -> Accepts:
    return Accepts("str", "text")


@dataclass(frozen=True)
class Param:
    """A field's metadata (see the module's docstring)."""

    accepts: Accepts
    help: str = ""
    flag: str | None = ""  # "" = derived from the name; None = no `train` flag
    off_flag: str = ""  # a bool's flag that sets it False (e.g. --unconditional)
    form: str = ""  # the run form's group ("data", "model", "run"), "" = not in the form
    label: str = ""  # the form row's label
    tip: str = ""  # the form's tooltip, where it must say more than ``help`` (empty = help)
    names: dict[str, str] | None = None  # the form's text for each choice


def param(default: Any, accepts: Accepts, **meta: Any) -> Any:
    """A dataclass field with its metadata (``Param``'s keywords)."""
    return dataclasses.field(default=default, metadata={"param": Param(accepts, **meta)})


@dataclass(frozen=True)
class Spec:
    """One config field: ``section`` ("data", "model", "train"), ``name`` and its ``Param``."""

    section: str
    name: str
    default: Any
    param: Param

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"

    @property
    def flag(self) -> str | None:
        if self.param.flag is None:
            return None
        return self.param.flag or "--" + self.name.replace("_", "-")

    @property
    def dest(self) -> str | None:
        """The argparse attribute the flag fills."""
        return self.flag[2:].replace("-", "_") if self.flag else None

    @property
    def tip(self) -> str:
        return self.param.tip or self.param.help


def specs_of(cls: type, section: str) -> Iterator[Spec]:
    for f in dataclasses.fields(cls):
        p = f.metadata.get("param")
        if p is not None:
            yield Spec(section, f.name, f.default, p)


def first_bad(obj: Any, section: str) -> tuple[Spec, Any] | None:
    """The first field of the dataclass ``obj`` that breaks its rule, with its value, or None;
    pairs are stored as tuples of floats on the way (config.py raises the error)."""
    for spec in specs_of(type(obj), section):
        v = getattr(obj, spec.name)
        if not spec.param.accepts.ok(v):
            return spec, v
        if spec.param.accepts.kind == "pair":
            object.__setattr__(obj, spec.name, (float(v[0]), float(v[1])))
    return None
