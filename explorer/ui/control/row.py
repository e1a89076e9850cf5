"""One slider row of the Control view: name (editable), slider, value, range, and row actions.

The row only shows plain values (α and its range) and reports the user's changes; the view's
``DirectionSet`` owns the directions and their α and turns them into an offset.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QToolButton,
    QWidget,
)

TICKS_PER_UNIT = 100  # slider resolution: α in steps of 0.01, and α = 0 is always a tick


class DirectionRow(QWidget):
    value_changed = Signal(float)  # α
    range_changed = Signal(float, float)
    renamed = Signal(str)
    move_requested = Signal(int)  # -1 up, +1 down
    delete_requested = Signal()
    sweep_requested = Signal()

    def __init__(self, name: str, source: str, lo: float, hi: float,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name_edit = QLineEdit(name)
        self.name_edit.setCursorPosition(0)  # show the start of a long name, not its end
        self.name_edit.setToolTip(f"{name}\nsource: {source}. Edit to rename.")
        self.name_edit.setMinimumWidth(120)  # its tooltip holds the whole name
        self.name_edit.editingFinished.connect(self._on_name_edited)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimumWidth(90)
        self.slider.valueChanged.connect(self._on_slider_moved)
        self.value_label = QLabel("+0.00")
        self.value_label.setMinimumWidth(44)
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.lo_spin, self.hi_spin = self._spin(lo, "lowest α"), self._spin(hi, "highest α")
        buttons = [("⟲", "reset this slider to 0", self.reset),
                   ("▲", "move up", lambda: self.move_requested.emit(-1)),
                   ("▼", "move down", lambda: self.move_requested.emit(1)),
                   ("GIF", "export a sweep of this slider as GIF…", self.sweep_requested.emit),
                   ("✕", "delete this direction", self.delete_requested.emit)]
        lay = QHBoxLayout(self)
        lay.setContentsMargins(2, 1, 2, 1)
        lay.addWidget(self.name_edit)
        lay.addWidget(self.lo_spin)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.hi_spin)
        lay.addWidget(self.value_label)
        for text, tip, slot in buttons:
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            lay.addWidget(b)
        self._apply_range()

    def _spin(self, value: float, tip: str) -> QDoubleSpinBox:
        s = QDoubleSpinBox()
        s.setRange(-20.0, 20.0)
        s.setDecimals(1)
        s.setSingleStep(0.5)
        s.setValue(value)
        s.setToolTip(tip)
        s.setFixedWidth(62)
        s.valueChanged.connect(self._on_range_edited)
        return s

    @property
    def alpha(self) -> float:
        return self.slider.value() / TICKS_PER_UNIT

    def set_alpha(self, alpha: float) -> None:
        """Move the slider as the user would: ``value_changed`` is emitted if α changed."""
        self.slider.setValue(round(alpha * TICKS_PER_UNIT))

    def show_alpha(self, alpha: float) -> None:
        """Show α the view already holds (no ``value_changed``: the view updates itself once)."""
        self.slider.blockSignals(True)
        self.slider.setValue(round(alpha * TICKS_PER_UNIT))
        self.slider.blockSignals(False)
        self.value_label.setText(f"{self.alpha:+.2f}")

    @property
    def range(self) -> tuple[float, float]:
        return self.lo_spin.value(), self.hi_spin.value()

    def reset(self) -> None:
        self.set_alpha(0.0)

    def _apply_range(self) -> None:
        lo, hi = self.range
        self.slider.setRange(round(lo * TICKS_PER_UNIT), round(hi * TICKS_PER_UNIT))
        self.slider.setPageStep(max(1, (self.slider.maximum() - self.slider.minimum()) // 10))

    def _on_range_edited(self) -> None:
        lo, hi = self.range
        if lo >= hi:  # keep the pair valid: push the other bound out of the way
            other = self.hi_spin if self.sender() is self.lo_spin else self.lo_spin
            other.blockSignals(True)
            other.setValue(lo + 0.5 if other is self.hi_spin else hi - 0.5)
            other.blockSignals(False)
        self._apply_range()  # clamps the slider value, which re-emits value_changed if it moved
        self.range_changed.emit(*self.range)

    def _on_slider_moved(self, _: int) -> None:
        self.value_label.setText(f"{self.alpha:+.2f}")
        self.value_changed.emit(self.alpha)

    def _on_name_edited(self) -> None:
        text = self.name_edit.text().strip()
        if text:
            self.renamed.emit(text)
