"""Per-image attribute labels for an image folder, read from a CSV file.

One column names the file (a column called filename / file / image / image_id / path / name, else
the first column); every other column is a numeric attribute. Comma, semicolon and tab files are
read with the csv module; CelebA's own ``list_attr_celeba.txt`` (a count line, a header without
the file column, space-separated -1/1 values) is recognised too. Columns holding only -1 and 1
(CelebA style) become 0/1.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import torch

from trainer.data.base import DataError

_FILE_COLUMNS = ("filename", "file", "image", "image_id", "path", "name")


class AttributeTable:
    """names: attribute column names; values: (R, A) float32, one row per CSV data row."""

    def __init__(self, names: list[str], keys: list[str], values: torch.Tensor):
        self.names = names
        self.values = values
        self._row = {k: i for i, k in enumerate(keys)}

    def match(self, files: list[str]) -> list[int | None]:
        """CSV row index for each file (posix path relative to the folder), or None.

        A row matches by relative path, or by bare file name when that name is unique among
        ``files`` (so a flat CSV still works with class sub-folders).
        """
        counts: dict[str, int] = {}
        for f in files:
            name = f.rsplit("/", 1)[-1]
            counts[name] = counts.get(name, 0) + 1
        out: list[int | None] = []
        for f in files:
            name = f.rsplit("/", 1)[-1]
            row = self._row.get(f)
            if row is None and counts[name] == 1:
                row = self._row.get(name)
            out.append(row)
        return out


def read_attributes_csv(path: str | Path) -> AttributeTable:
    """Parse the CSV; raises DataError naming the row and column of anything malformed."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(
            f"attributes CSV {p} not found; choose an existing CSV file or leave the field empty"
        )
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read attributes CSV {p}: {e}; save it as UTF-8 text") from None
    header, body = _split_rows(text)
    if not header or not body:
        raise DataError(f"attributes CSV {p} needs a header row and at least one data row")
    lower = [h.lower() for h in header]
    file_col = next((lower.index(c) for c in _FILE_COLUMNS if c in lower), 0)
    attr_cols = [c for c in range(len(header)) if c != file_col]
    if not attr_cols:
        raise DataError(f"attributes CSV {p} has no attribute columns besides the file names")
    _check_column_names([header[c] for c in attr_cols], attr_cols, p)
    keys: list[str] = []
    rows: list[list[float]] = []
    for r, row in enumerate(body, start=1):
        where = f"attributes CSV {p}, data row {r}"
        if len(row) != len(header):
            raise DataError(f"{where} has {len(row)} columns but the header has {len(header)}")
        keys.append(_norm_key(row[file_col]))
        rows.append([_number(row[c], f"{where}, column '{header[c]}'") for c in attr_cols])
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise DataError(f"attributes CSV {p} lists {dup!r} more than once; keep one row per image")
    return AttributeTable([header[c] for c in attr_cols], keys, _celeba_to_01(torch.tensor(rows)))


def _check_column_names(names: list[str], cols: list[int], p: Path) -> None:
    """Every attribute column needs a name of its own: directions and sliders are named after
    them, and a second "Smiling" would silently shadow the first."""
    seen: dict[str, int] = {}
    for name, col in zip(names, cols, strict=True):
        if not name:
            raise DataError(f"attributes CSV {p}: column {col + 1} has no name in the header")
        key = name.casefold()
        if key in seen:
            raise DataError(f"attributes CSV {p} has the column '{name}' twice (columns "
                            f"{seen[key] + 1} and {col + 1}); give each attribute its own name")
        seen[key] = col


def _split_rows(text: str) -> tuple[list[str], list[list[str]]]:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if lines and lines[0].strip().isdigit():  # CelebA's first line is the image count
        lines = lines[1:]
    if not lines:
        return [], []
    first = lines[0]
    delim = next((d for d in (",", ";", "\t") if d in first), None)
    if delim is not None:
        rows = [[c.strip() for c in row] for row in csv.reader(lines, delimiter=delim)]
        return rows[0], rows[1:]
    rows = [ln.split() for ln in lines]
    header, body = rows[0], rows[1:]
    if body and len(header) == len(body[0]) - 1:  # CelebA's header leaves out the file column
        header = ["filename", *header]
    return header, body


def _norm_key(name: str) -> str:
    key = name.strip().replace("\\", "/")
    return key[2:] if key.startswith("./") else key


def _number(cell: str, where: str) -> float:
    try:
        v = float(cell)
    except ValueError:
        raise DataError(f"{where}: {cell!r} is not a number") from None
    if not math.isfinite(v):
        raise DataError(f"{where}: {cell!r} is not a finite number")
    return v


def _celeba_to_01(values: torch.Tensor) -> torch.Tensor:
    """(R, A) float32: columns of only -1/1 become 0/1; other columns are kept as they are.

    A column needs a -1 to count as -1/1 (an all-1 column could equally be 0/1 style) unless
    every column of the table is -1/1.
    """
    pm = ((values == -1) | (values == 1)).all(0)
    convert = pm & ((values == -1).any(0) | pm.all())
    values[:, convert] = (values[:, convert] + 1) / 2
    return values.float()
