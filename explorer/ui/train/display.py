"""What the Train view shows of a run, wherever its data comes from (a training thread or a run
folder on disk): progress strip, error banner, loss curves beside the sample grid (and, for a
VAE, under it a grid of real images each beside its reconstruction), message line, and the
run's notes (a compile fallback, say), which stay while later messages replace each other.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.train.progress import TrainProgress
from explorer.ui.widgets.common import ElidedLabel
from explorer.ui.widgets.loss_plot import SERIES, LossPlot
from explorer.ui.widgets.sample_grid import SampleGrid


class TrainDisplay(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.progress = TrainProgress()
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setStyleSheet("background: #5c1f22; color: #ffd9d9; padding: 6px;"
                                  "border-radius: 3px;")
        self.banner.hide()
        self.plot = LossPlot()
        self.grid = SampleGrid("Samples from a fixed noise batch appear here once training "
                               "starts: watch noise turn into images.")
        self.grid_title = ElidedLabel("Samples")
        # With augmentation on, the grid can show real images as the critic sees them instead.
        self.critic_box = QCheckBox("What the critic sees")
        self.critic_box.setToolTip("Real images with the augmentation the critic trains on at "
                                   "the current strength p (colour, translation, cutout)")
        self.critic_box.toggled.connect(self._on_critic_view_toggled)
        self.critic_box.hide()
        # A VAE's fixed real images, each beside its reconstruction (shown while a run has them).
        self.recon_grid = SampleGrid("")
        self.recon_title = QLabel("Reconstructions")
        self.recon_title.setToolTip("Fixed training images, each followed by the VAE's "
                                    "reconstruction of it (the decoder's image of the "
                                    "encoder's mean)")
        self.recon_box = QWidget()
        recon_lay = QVBoxLayout(self.recon_box)
        recon_lay.setContentsMargins(0, 0, 0, 0)
        recon_lay.addWidget(self.recon_title)
        recon_lay.addWidget(self.recon_grid, 1)
        self.recon_box.hide()
        self._samples: tuple[int, np.ndarray | None, str] = (0, None, "")
        self._critic_view: np.ndarray | None = None
        self.message = QLabel("Choose a dataset and press Start.")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes.setStyleSheet("color: palette(placeholder-text);")
        self.notes.hide()

        grid_box = QWidget()
        grid_lay = QVBoxLayout(grid_box)
        grid_lay.setContentsMargins(0, 0, 0, 0)
        title_row = QHBoxLayout()
        title_row.addWidget(self.grid_title, 1)
        title_row.addWidget(self.critic_box)
        grid_lay.addLayout(title_row)
        grid_lay.addWidget(self.grid, 1)
        grid_lay.addWidget(self.recon_box, 1)  # under the samples: the column keeps its width
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.plot)
        self.splitter.addWidget(grid_box)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([1000, 1000])  # the grid gets as much room as the curves
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.progress)
        lay.addWidget(self.banner)
        lay.addWidget(self.splitter, 1)
        lay.addWidget(self.message)
        lay.addWidget(self.notes)

    def clear(self) -> None:
        self.plot.clear()
        self._samples, self._critic_view = (0, None, ""), None
        self.critic_box.setChecked(False)
        self.critic_box.hide()
        self.grid.set_image(None)
        self.grid_title.setText("Samples")
        self.recon_grid.set_image(None)
        self.recon_box.hide()
        self.progress.reset()
        self.notes.clear()
        self.notes.hide()

    def add_points(self, steps: np.ndarray | list[int], cols: object) -> None:
        """``cols``: anything with the loss series as keys (a dict) or attributes (StepStats)."""
        get = cols.__getitem__ if isinstance(cols, dict) else lambda k: getattr(cols, k)
        self.plot.append(steps, **{k: get(k) for k in SERIES})

    def show_grid(self, step: int, grid: np.ndarray | None, note: str = "",
                  critic_view: np.ndarray | None = None,
                  reconstructions: np.ndarray | None = None) -> None:
        """The sample grid of ``step``; ``critic_view``: the same step's augmented real images
        (the check box to show them appears while a run has them); ``reconstructions``: a
        VAE's real | reconstruction pairs, shown beside the samples."""
        self._samples, self._critic_view = (step, grid, note), critic_view
        self.critic_box.setVisible(critic_view is not None)
        self._show_current()
        if reconstructions is not None:
            self.recon_grid.set_image(reconstructions)
            self.recon_title.setText(f"Real | reconstruction at step {step}")
            self.recon_box.show()

    def _show_current(self) -> None:
        step, grid, note = self._samples
        if self._critic_view is not None and self.critic_box.isChecked():
            self.grid.set_image(self._critic_view)
            self.grid_title.setText(f"Real images as the critic sees them at step {step}")
            return
        self.grid.set_image(grid)
        self.grid_title.setText(f"Samples at step {step}{note}" if grid is not None
                                else "Samples")

    def _on_critic_view_toggled(self, _on: bool) -> None:
        self._show_current()

    def show_error(self, message: str) -> None:
        self.banner.setText(message)
        self.banner.show()

    def hide_error(self) -> None:
        self.banner.hide()

    def say(self, text: str) -> None:
        """Show ``text`` on the message line, replacing what was there."""
        self.message.setText(text)

    def note(self, text: str) -> None:
        """Add a line to the run's notes, which stay until the next run is shown."""
        old = self.notes.text()
        self.notes.setText(f"{old}\n{text}" if old else text)
        self.notes.show()
