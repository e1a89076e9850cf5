"""ImageGrid's tile size: whole multiples where they cost little, the canvas filled where not."""

import numpy as np
import pytest

from explorer.ui.widgets.image_grid import ImageGrid, tile_scale


@pytest.mark.parametrize(("fit", "scale"), [
    (1.6, 1.6),  # 1x would leave the tiles at 62% of what fits: fill instead
    (1.1, 1.0),  # 1x keeps 91%: crisp whole pixels
    (2.3, 2.0),
    (3.7, 3.0),  # 3 / 3.7 keeps 81%
    (9.5, 9.0),
    (0.5, 0.5),  # larger than the canvas: shrink to fit
])
def test_tile_scale_keeps_whole_multiples_unless_they_waste_the_canvas(fit, scale):
    assert tile_scale(fit) == pytest.approx(scale)


def test_sixteen_32px_samples_fill_a_small_canvas(qtbot):
    """At 1024x640 the Generate canvas is about 480 px wide: eight 32 px columns fit at ~1.6x.
    Snapped to 1x they sat in the middle of a dark canvas two thirds empty."""
    grid = ImageGrid(gap=4)
    qtbot.addWidget(grid)
    grid.resize(484, 555)
    grid.set_images(np.zeros((16, 32, 32, 3), np.uint8), cols=8, row_labels=["ants", "bees"])
    rects = grid.tile_rects()
    assert rects[0].width() > 1.4 * 32
    assert max(r.right() for r in rects) < grid.width()  # still inside the canvas
    grid.resize(1000, 1000)  # room for 3x and more: whole multiples again
    assert grid.tile_rects()[0].width() % 32 == 0
    grid.show()
    qtbot.waitExposed(grid)
    grid.repaint()  # paints with the filtered path without error
