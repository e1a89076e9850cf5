"""The Quality tab's hue strip: each hue's share of the real images' colour (pale bar) beside
its share of the samples' (solid bar), each bar in its own hue, so a missing colour shows as a
pale bar with nothing beside it."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtGui import QColor

from explorer.core.quality.colour import HUE_BINS, HUE_NAMES
from explorer.ui.widgets.common import PLOT_BACKGROUND


def hue_colour(i: int, alpha: int = 255) -> QColor:
    """The colour of hue bin i (bins centred every 30 degrees from red)."""
    c = QColor.fromHsvF(i / HUE_BINS, 0.8, 0.95)
    c.setAlpha(alpha)
    return c


class HueBars(pg.PlotWidget):
    """Real against generated hue shares (``hue_shares`` of an eval result's model)."""

    def __init__(self) -> None:
        super().__init__()
        self.setBackground(PLOT_BACKGROUND)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setLabel("left", "share of colour (%)")
        self.getAxis("left").enableAutoSIPrefix(False)
        # Named ticks at the six primaries and secondaries, bare ones between: twelve names
        # overlap in a quarter of a small window.
        self.getAxis("bottom").setTicks([[(i, HUE_NAMES[i]) for i in range(0, HUE_BINS, 2)],
                                         [(i, "") for i in range(1, HUE_BINS, 2)]])
        self.setXRange(-0.6, HUE_BINS - 0.4, padding=0)
        self.setToolTip("Each hue's share of the colour in the real images (pale bars) and in "
                        "the samples (solid bars, beside them); a pale bar alone is a colour "
                        "the model does not draw. Greys count for nothing.")
        self.real_bars: pg.BarGraphItem | None = None
        self.generated_bars: pg.BarGraphItem | None = None

    def show_shares(self, shares: dict[str, Any], model: str) -> bool:
        """Draw them; False (and nothing drawn) when either side has no colour."""
        self.clear()
        self.real_bars = self.generated_bars = None
        real, gen = shares.get("real"), shares.get("generated")
        if not isinstance(real, list) or not isinstance(gen, list):
            return False
        xs = list(range(HUE_BINS))
        self.real_bars = pg.BarGraphItem(
            x=[x - 0.2 for x in xs], height=[100 * v for v in real], width=0.38,
            brushes=[hue_colour(i, 70) for i in xs], pens=[pg.mkPen(hue_colour(i)) for i in xs])
        self.generated_bars = pg.BarGraphItem(
            x=[x + 0.2 for x in xs], height=[100 * v for v in gen], width=0.38,
            brushes=[hue_colour(i) for i in xs], pens=[pg.mkPen(None) for _ in xs])
        self.addItem(self.real_bars)
        self.addItem(self.generated_bars)
        self.setTitle(f"hue: real · {model}")  # short: the strip may get a quarter of 1024 px
        self.setYRange(0, 100 * max(max(real), max(gen)) * 1.08, padding=0)
        return True
