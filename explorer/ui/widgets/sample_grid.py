"""The live sample grid: a uint8 RGB image drawn crisp (nearest neighbour, no smoothing) at the
largest scale that fits, aspect kept."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


class SampleGrid(QWidget):
    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self.placeholder = placeholder
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, rgb: np.ndarray | None) -> None:
        """(H, W, 3) uint8, or None to clear. The array is copied (the caller may reuse it)."""
        if rgb is None:
            self._image = None
        else:
            a = np.ascontiguousarray(rgb, dtype=np.uint8)
            h, w = a.shape[:2]
            self._image = QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        self.update()

    @property
    def image_size(self) -> tuple[int, int] | None:
        return None if self._image is None else (self._image.width(), self._image.height())

    def target_rect(self) -> QRect:
        """Where the image is drawn: centred, as large as fits, aspect kept."""
        assert self._image is not None
        iw, ih = self._image.width(), self._image.height()
        scale = min(self.width() / iw, self.height() / ih)
        if scale >= 8:
            scale = int(scale)  # large factors: whole pixels, every sample pixel an equal square
        w, h = max(1, int(iw * scale)), max(1, int(ih * scale))
        return QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#1e1e1e"))
        if self._image is None:
            p.setPen(QColor("#888"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       self.placeholder)
        else:
            # No SmoothPixmapTransform hint: Qt scales with nearest neighbour, so 8 px samples
            # stay sharp blocks instead of a blur.
            p.drawImage(self.target_rect(), self._image)
        p.end()
