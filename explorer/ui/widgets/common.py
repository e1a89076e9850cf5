"""Small widget helpers shared by the views."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

MAX_SEED = 2_000_000_000  # leaves room for seed + i (a grid's later samples) in a 32-bit box
MUTED = "color: gray; font-size: 8pt;"  # captions and hints beside a control
PLOT_BACKGROUND = "#1e1e1e"  # every plot of the window: dark grey, like the sample canvases


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


def seed_spin(value: int = 0, maximum: int = MAX_SEED, prefix: str = "") -> QSpinBox:
    """A seed box that never gets narrower than its largest seed (ten digits): a layout short of
    room used to squeeze it until "1392963012" showed as "13929630"."""
    box = QSpinBox()
    box.setRange(0, maximum)
    box.setValue(value)
    box.setPrefix(prefix)
    box.setMinimumWidth(box.sizeHint().width())
    return box


def compact_combo(box: QComboBox, chars: int = 12) -> None:
    """Let a combo with long item texts shrink to about ``chars`` characters (the closed box
    elides; its popup still shows whole texts), so it cannot hold a form wider than the window."""
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(chars)


def scroll_column(widget: QWidget) -> QScrollArea:
    """``widget`` in a vertical scroll area as wide as it needs to be: a column of controls that
    stays whole (scrolls instead of overlapping its neighbours) when the window is short."""
    scroll = QScrollArea()
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    fit_scroll_width(scroll)
    return scroll


def fit_scroll_width(scroll: QScrollArea) -> None:
    """Make a vertical-only scroll area at least as wide as its widget's minimum (plus the scroll
    bar) and no wider than the widget wants; call again when the widget's contents change."""
    w = scroll.widget()
    extra = scroll.verticalScrollBar().sizeHint().width() + 2 * scroll.frameWidth()
    scroll.setMinimumWidth(w.minimumSizeHint().width() + extra)
    scroll.setMaximumWidth(max(w.sizeHint().width(), w.minimumSizeHint().width()) + extra)


def elide_to(widget: QWidget, text: str, room: int) -> str:
    """``text`` cut to ``room`` pixels of ``widget``'s font, ending in "…", with the whole text
    in the widget's tooltip while it is cut (no tooltip when it fits)."""
    shown = widget.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, room)
    widget.setToolTip(text if shown != text else "")
    return shown


class ElidedLabel(QLabel):
    """A one-line label that ends in "…" when its width cuts it, with the whole text in the
    tooltip (a plain QLabel with an Ignored width policy cut "fixed noise, a row per class"
    mid-word under the checkbox beside it). ``full_text()`` is the text as set."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        self._full = text
        self._fit()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        room = self.contentsRect().width()  # 0 until laid out: show it whole until then
        super().setText(elide_to(self, self._full, room) if room > 0 else self._full)
