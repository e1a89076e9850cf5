"""Small form pieces shared by the run form: a field that shows its own error, combo helpers."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

_RED = "QLineEdit { border: 1px solid #e5484d; border-radius: 2px; }"


class Field(QWidget):
    """An editor with its error message shown right under it (hidden while valid)."""

    def __init__(self, editor: QWidget, *extra: QWidget) -> None:
        super().__init__()
        self.editor = editor
        self.error = QLabel()
        self.error.setStyleSheet("color: #e5484d; font-size: 8pt;")
        self.error.setWordWrap(True)
        self.error.hide()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(editor, 1)
        for w in extra:
            row.addWidget(w)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        lay.addLayout(row)
        lay.addWidget(self.error)

    def set_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))
        self.editor.setStyleSheet(_RED if message else "")
        self.editor.setToolTip(message or self.editor.whatsThis())


def combo(items: dict[str, str]) -> QComboBox:
    """A combo box of ``{data: label}`` items."""
    c = QComboBox()
    for key, label in items.items():
        c.addItem(label, key)
    return c


def select(box: QComboBox, value: object) -> None:
    """Select the item whose data is ``value``; leave the box as it is if there is none."""
    i = box.findData(value)
    if i >= 0:
        box.setCurrentIndex(i)
