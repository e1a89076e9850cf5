"""The window's status bar: temporary messages that fit, whatever the window's width."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QStatusBar, QWidget

from explorer.ui.widgets.common import elide_to

# Room kept between the message and the first permanent label (the bar's own margins).
GAP = 16


class StatusBar(QStatusBar):
    """A QStatusBar whose temporary messages end in "…" when the permanent labels on the right
    leave too little room, with the whole text in the tooltip. A plain QStatusBar paints the
    message under them, cut mid-word ("… Train your") at 1024 px. The message is fitted again
    when the bar is resized or a permanent label moves or changes size, and its timeout is kept
    by a timer of its own."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._permanent: list[QWidget] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clearMessage)

    def addPermanentWidget(self, widget: QWidget, stretch: int = 0) -> None:  # noqa: N802 (Qt)
        super().addPermanentWidget(widget, stretch)
        self._permanent.append(widget)
        widget.installEventFilter(self)  # a label that grows ("Training: completed at …")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if (event.type() in (QEvent.Type.Move, QEvent.Type.Resize, QEvent.Type.Show,
                             QEvent.Type.Hide) and self._text):
            QTimer.singleShot(0, self, self._fit)  # the room changed: fit the message again
        return False

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 (Qt's name)
        self._text = text
        self._timer.stop()
        if timeout > 0:
            self._timer.start(timeout)
        self._fit()

    def clearMessage(self) -> None:  # noqa: N802 (Qt's name)
        self._text = ""
        self._timer.stop()
        self.setToolTip("")
        super().clearMessage()

    def full_message(self) -> str:
        """The message as given, before any eliding ("" when none shows)."""
        return self._text

    def room(self) -> int:
        """Pixels the message may take: up to the first visible permanent label."""
        lefts = [w.geometry().left() for w in self._permanent if w.isVisible()]
        return max(0, (min(lefts) if lefts else self.width()) - GAP)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if self._text:
            # The permanent labels move after this event; fit once the layout has settled.
            QTimer.singleShot(0, self, self._fit)

    def _fit(self) -> None:
        if not self._text:
            return
        # No timeout here: self._timer clears it.
        super().showMessage(elide_to(self, self._text, self.room()))
