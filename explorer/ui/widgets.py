"""Small widget helpers shared by the views."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QComboBox


def refill_combo(combo: QComboBox, items: Sequence[str]) -> None:
    """Replace a combo's items without emitting change signals, keeping the current text if it
    is still there (switching to a model with the same classes keeps the user's pick)."""
    combo.blockSignals(True)
    old = combo.currentText()
    combo.clear()
    if items:
        combo.addItems(list(items))
        combo.setCurrentIndex(max(0, combo.findText(old)))
    combo.blockSignals(False)
