"""ImageGrid: a crisp grid of small generated images that maps clicks to sample indices.

Why a plain QWidget and not a pyqtgraph ImageItem: the grid is never panned or zoomed, and
painting each tile into an integer-scaled rectangle with nearest-neighbour sampling keeps every
image pixel the same size on screen (an 8 px sample stays sharp at any window size), while click
and highlight geometry stay trivial. Where the whole multiple would leave the tiles much smaller
than the canvas allows (1x where 1.6x fits), they fill it, filtered (``tile_scale``). Also
used with one tile as the large focus/preview image.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QHelpEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from trainer.images import grid_shape

LABEL_GAP = 8  # px between row labels and the first column
CANVAS = QColor(38, 38, 40)  # a dark canvas, like an image viewer's: samples read better on it
CANVAS_TEXT = QColor(200, 200, 200)


# A whole multiple is kept when it loses at most this share of the size that fits.
WHOLE_SCALE_KEEPS = 0.8


def tile_scale(fit: float) -> float:
    """Screen pixels per image pixel for tiles that fit at ``fit``: the whole multiple below it
    (every image pixel an equal square, crisp) unless that shrinks the tiles by more than a
    fifth, as 1x does at 1.6 (eight 32 px samples in a 420 px canvas), then ``fit`` itself."""
    whole = float(int(fit))
    return whole if whole >= 1 and whole / fit >= WHOLE_SCALE_KEEPS else fit


class ImageGrid(QWidget):
    """Shows (N, H, W, 3) uint8 images in rows; ``tile_clicked(i)`` when tile i is clicked."""

    tile_clicked = Signal(int)
    tile_menu_requested = Signal(int, QPoint)  # tile index, global position

    def __init__(self, gap: int = 4, clickable: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.gap = gap
        self.clickable = clickable
        self._images: np.ndarray | None = None  # (N*H, W, 3) uint8, kept alive for _qimage
        self._n = 0
        self._qimage: QImage | None = None  # all tiles stacked: (N*H, W) RGB888
        self._cols = 1
        self._row_labels: list[str] = []
        self._focused: int | None = None
        self._hover: int | None = None
        self._message = ""
        self._tooltips: list[str] = []
        self.setMouseTracking(clickable)
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    # --- state ------------------------------------------------------------------------------
    @property
    def count(self) -> int:
        return self._n

    def set_images(self, images: np.ndarray | None, cols: int | None = None,
                   row_labels: Sequence[str] | None = None) -> None:
        """``images`` (N, H, W, 3) uint8; ``cols`` None: as square as possible."""
        if images is None or not len(images):
            self._images, self._qimage, self._n = None, None, 0
        else:
            n, h, w, _ = images.shape
            self._images = np.ascontiguousarray(images).reshape(n * h, w, 3)
            self._qimage = QImage(self._images.data, w, n * h, 3 * w, QImage.Format.Format_RGB888)
            self._tile_hw, self._n = (h, w), n
            self._cols = grid_shape(n, cols)[1]
            self._message = ""
        self._row_labels = list(row_labels or [])
        if self._focused is not None and self._focused >= self.count:
            self._focused = None
        self._hover = None
        self.update()

    def set_tooltips(self, tips: Sequence[str]) -> None:
        """One hover text per tile (e.g. its seed and class)."""
        self._tooltips = list(tips)

    def set_focused(self, index: int | None) -> None:
        self._focused = index
        self.update()

    @property
    def focused(self) -> int | None:
        return self._focused

    def set_message(self, text: str) -> None:
        """Clear the images and show ``text`` (the empty state)."""
        self.set_images(None)
        self._message = text
        self.update()

    @property
    def message(self) -> str:
        return self._message

    # --- geometry ---------------------------------------------------------------------------
    def _label_width(self) -> int:
        if not self._row_labels:
            return 0
        fm = self.fontMetrics()
        return min(max(fm.horizontalAdvance(t) for t in self._row_labels) + LABEL_GAP + 4,
                   self.width() // 4)

    def tile_rects(self) -> list[QRect]:
        """Screen rectangle of every tile, in sample order."""
        if self._qimage is None:
            return []
        n, (h, w) = self.count, self._tile_hw
        rows, cols = grid_shape(n, self._cols)
        lw, gap = self._label_width(), self.gap
        avail_w = self.width() - lw - gap * (cols + 1)
        avail_h = self.height() - gap * (rows + 1)
        scale = tile_scale(min(avail_w / (cols * w), avail_h / (rows * h)))
        tw, th = max(1, int(w * scale)), max(1, int(h * scale))
        grid_w, grid_h = cols * tw + (cols - 1) * gap, rows * th + (rows - 1) * gap
        x0 = lw + (self.width() - lw - grid_w) // 2
        y0 = (self.height() - grid_h) // 2
        return [QRect(x0 + (i % cols) * (tw + gap), y0 + (i // cols) * (th + gap), tw, th)
                for i in range(n)]

    def tile_at(self, pos: QPointF | QPoint) -> int | None:
        p = QPoint(int(pos.x()), int(pos.y()))
        for i, r in enumerate(self.tile_rects()):
            if r.contains(p):
                return i
        return None

    def sizeHint(self) -> QSize:
        return QSize(480, 480)

    # --- events -----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(self.rect(), CANVAS)
        if self._qimage is None:
            if self._message:
                p.setPen(CANVAS_TEXT)
                p.drawText(self.rect().adjusted(12, 12, -12, -12),
                           Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message)
            return
        h, w = self._tile_hw
        rects = self.tile_rects()
        if rects and rects[0].width() % w:
            # A fraction of a screen pixel per image pixel: nearest neighbour would draw some
            # pixels one wider than others, so this scale is filtered. Whole multiples are not:
            # nearest neighbour keeps small samples sharp.
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        for i, r in enumerate(rects):
            p.drawImage(r, self._qimage, QRect(0, i * h, w, h))
        if self._row_labels:
            p.setPen(CANVAS_TEXT)
            lw = self._label_width()
            cols = self._cols
            for row, text in enumerate(self._row_labels):
                if row * cols >= len(rects):
                    break
                r = rects[row * cols]
                box = QRect(r.left() - lw, r.top(), lw - LABEL_GAP + 2, r.height())
                elided = p.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, box.width())
                p.drawText(box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, elided)
        if self._hover is not None and self._hover != self._focused and self._hover < len(rects):
            p.setPen(QPen(QColor(255, 255, 255, 140), 1))
            p.drawRect(rects[self._hover].adjusted(-1, -1, 0, 0))
        if self._focused is not None and self._focused < len(rects):
            p.setPen(QPen(pal.color(pal.ColorRole.Highlight), 3))
            p.drawRect(rects[self._focused].adjusted(-2, -2, 1, 1))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not self.clickable:
            return
        hover = self.tile_at(event.position())
        if hover != self._hover:
            self._hover = hover
            self.setCursor(Qt.CursorShape.PointingHandCursor if hover is not None
                           else Qt.CursorShape.ArrowCursor)
            self.update()

    def leaveEvent(self, event: object) -> None:
        self._hover = None
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.clickable and event.button() == Qt.MouseButton.LeftButton:
            i = self.tile_at(event.position())
            if i is not None:
                self.tile_clicked.emit(i)

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.ToolTip and isinstance(e, QHelpEvent):
            i = self.tile_at(e.pos())
            if i is not None and i < len(self._tooltips):
                QToolTip.showText(e.globalPos(), self._tooltips[i], self)
            else:
                QToolTip.hideText()
            return True
        return super().event(e)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        i = self.tile_at(event.pos()) if self.clickable else None
        if i is not None:
            self.tile_menu_requested.emit(i, event.globalPos())
