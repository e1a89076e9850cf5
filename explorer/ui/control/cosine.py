"""The cosine-similarity matrix of the directions, as a small table with coloured cells: large
off-diagonal values mean two sliders partly move the same thing (entanglement)."""

from __future__ import annotations

import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)


def cell_colour(c: float) -> QColor:
    """Grey-white for 0, saturating to red (positive) or blue (negative) at |c| = 1."""
    a = min(abs(c), 1.0)
    base = (245, 245, 245)
    tint = (214, 39, 40) if c > 0 else (31, 119, 180)
    return QColor(*(round(b + (t - b) * a) for b, t in zip(base, tint, strict=True)))


def _short(name: str, n: int = 18) -> str:
    return name if len(name) <= n else name[:n - 1] + "…"


class CosineTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        # Compact fixed cells, so a dozen directions fit without scrolling.
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.horizontalHeader().setDefaultSectionSize(46)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(20)
        self.setToolTip("cosine similarity between directions: 0 = independent, ±1 = the same")

    def set_matrix(self, names: list[str], cos: torch.Tensor | None) -> None:
        """names (K,), cos (K, K) or None to clear."""
        k = 0 if cos is None else len(names)
        self.setRowCount(k)
        self.setColumnCount(k)
        short = [str(i) for i in range(k)]
        self.setHorizontalHeaderLabels(short)
        self.setVerticalHeaderLabels([f"{i} {_short(n)}" for i, n in enumerate(names[:k])])
        for i in range(k):
            for j in range(k):
                c = float(cos[i, j])
                # No "+": the cell colour carries the sign, and the cells stay narrow.
                item = QTableWidgetItem("1" if i == j else "0.00" if abs(c) < 0.005 else
                                        f"{c:.2f}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                # The diagonal is always 1 and says nothing: keep it neutral so the eye goes to
                # the off-diagonal entanglement.
                bg = QColor("#d0d0d0") if i == j else cell_colour(c)
                item.setBackground(QBrush(bg))
                item.setForeground(QBrush(QColor("white" if i != j and abs(c) > 0.6
                                                 else "black")))
                self.setItem(i, j, item)

    def value(self, i: int, j: int) -> float:
        return float(self.item(i, j).text())
