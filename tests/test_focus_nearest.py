"""Nearest training images of the focused sample: the core look-up and the panel beside it."""

import numpy as np
import torch

from explorer.core.quality import nearest_train
from explorer.core.quality.nearest_train import TrainingImages
from explorer.ui.generate.focus_panel import N_NEAREST, FocusPanel
from explorer.ui.shell.session import Focus
from trainer.config import DataConfig
from trainer.data.shapes import make_shapes
from trainer.images import to_uint8


def test_a_copied_training_image_is_found_at_distance_zero():
    data = make_shapes(64, 16)
    index = TrainingImages(data)
    shown = to_uint8(data.images[17:18].float() / 127.5 - 1).numpy()[0]  # as the window draws it
    found = index.nearest(shown, k=3)
    assert found.distances[0] < 1e-3 and np.array_equal(found.images[0], shown)
    assert found.distances == sorted(found.distances) and found.n_searched == 64
    noise = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert index.nearest(noise).distances[0] > 1.0


def test_grey_images_compare_on_one_channel():
    images = torch.randint(0, 256, (10, 1, 8, 8), dtype=torch.uint8)
    from trainer.data import ImageData

    index = TrainingImages(ImageData(images))
    shown = to_uint8(images[3:4].float() / 127.5 - 1).numpy()[0]  # grey drawn as RGB
    found = index.nearest(shown, k=1)
    assert found.distances[0] < 1e-3 and found.images.shape == (1, 8, 8, 3)


def test_focus_panel_shows_the_nearest_training_images(session, qtbot):
    panel = FocusPanel(session)
    qtbot.addWidget(panel)
    info = session.info
    session.set_focus(Focus(torch.zeros(info.z_dim), torch.eye(info.n_classes)[0], 3))
    qtbot.waitUntil(lambda: panel.nearest_view.count == N_NEAREST, timeout=20000)
    assert "of 64 training images" in panel.nearest_note.text()
    assert nearest_train.is_cached(info.config.data)
    session.set_focus(None)
    assert panel.nearest_view.count == 0 and panel.nearest_note.text() == ""


def test_focus_panel_says_so_when_the_runs_data_is_missing(session, qtbot):
    panel = FocusPanel(session)
    qtbot.addWidget(panel)
    panel._nearest_stamp = 99  # noqa: SLF001 - a request as _on_rendered makes it
    missing = DataConfig(dataset="folder", path="/nonexistent/pictures", size=8)
    with qtbot.waitSignal(panel.finder.found, timeout=20000):
        panel.finder.request(99, missing, np.zeros((8, 8, 3), np.uint8))
    qtbot.waitUntil(lambda: "not available here" in panel.nearest_note.text(), timeout=5000)
    assert "does not exist" in panel.nearest_note.text() and panel.nearest_view.count == 0
