"""EndpointEditor: one end of a morph, from a seed (and a class), or picked in the Generate view.

A picked sample keeps its exact z (it may be truncated or edited with sliders, so its seed alone
would not re-make it) until the user types another seed. Changing the class keeps the z: "same
z, class A -> class B" is the way to morph between classes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QWidget,
)

from explorer.core.latent.morph import Endpoint, endpoint_from_seed
from explorer.core.latent.render import ModelInfo
from explorer.ui.shell.session import Focus
from explorer.ui.widgets.common import MAX_SEED, refill_combo, seed_spin
from explorer.ui.widgets.image_grid import ImageGrid


@dataclass(frozen=True)
class EndpointState:
    seed: int
    class_index: int
    z: torch.Tensor | None  # a picked sample's exact z, (z_dim,)
    y: torch.Tensor | None  # a picked class mix, (n_classes,)


class EndpointEditor(QGroupBox):
    changed = Signal()

    def __init__(self, title: str, seed: int = 0, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.info: ModelInfo | None = None
        self._z: torch.Tensor | None = None  # (z_dim,) a picked sample's exact z
        self._y: torch.Tensor | None = None  # (n_classes,) a picked class mix, if not one-hot
        self.seed = seed_spin(seed)
        self.dice = QPushButton("New")
        self.dice.setToolTip("A random seed")
        self.class_combo = QComboBox()
        self.origin = QLabel("picked in Generate")
        self.origin.setToolTip("The exact sample picked (truncation and slider edits included); "
                               "type a seed to use that seed's sample instead")
        self.origin.setStyleSheet("color: palette(dark)")
        self.origin.setVisible(False)
        self.thumb = ImageGrid(gap=0, clickable=False)  # the endpoint's frame, once rendered
        self.thumb.setFixedSize(56, 56)
        self.class_label = QLabel("Class")
        # A grid, not a QFormLayout: hiding its last rows collapsed the label column to 0 px.
        grid = QGridLayout(self)
        grid.addWidget(QLabel("Seed"), 0, 0)
        grid.addWidget(self.seed, 0, 1)
        grid.addWidget(self.dice, 0, 2)
        grid.addWidget(self.class_label, 1, 0)
        grid.addWidget(self.class_combo, 1, 1, 1, 2)
        grid.addWidget(self.origin, 2, 0, 1, 3)
        grid.addWidget(self.thumb, 0, 3, 3, 1, Qt.AlignmentFlag.AlignTop)
        grid.setColumnStretch(1, 1)
        self.seed.valueChanged.connect(self._on_seed_changed)
        self.dice.clicked.connect(lambda: self.seed.setValue(random.randrange(MAX_SEED)))
        self.class_combo.currentIndexChanged.connect(self._on_class_changed)
        self.set_model(None)

    def set_model(self, info: ModelInfo | None) -> None:
        """Rebuild the class choice; a picked z is dropped (it belongs to the old model)."""
        self.info = info
        self._z = self._y = None
        conditional = info is not None and info.conditional
        self.class_label.setVisible(conditional)
        self.class_combo.setVisible(conditional)
        refill_combo(self.class_combo, info.class_names if conditional else [])
        self.thumb.set_images(None)
        self._show_origin()

    def set_focus(self, focus: Focus) -> None:
        """Take a sample picked in the Generate view (session.endpoint_picked)."""
        self._z = focus.z.detach().clone().float()
        self._y = None
        for w in (self.seed, self.class_combo):
            w.blockSignals(True)
        if focus.seed is not None:
            self.seed.setValue(focus.seed)
        if focus.y is not None and self.class_combo.count():
            self.class_combo.setCurrentIndex(int(focus.y.argmax()))
            if float(focus.y.max()) < 0.999:  # a class mix: keep it as it is
                self._y = focus.y.detach().clone().float()
        for w in (self.seed, self.class_combo):
            w.blockSignals(False)
        self._show_origin()
        self.changed.emit()

    def endpoint(self, truncation: float) -> Endpoint:
        info = self.info
        if info is None:
            raise ValueError("no model")
        index = max(0, self.class_combo.currentIndex()) if info.conditional else None
        end = endpoint_from_seed(self.seed.value(), info.z_dim, truncation, index, info.n_classes)
        z = self._z if self._z is not None else end.z
        y = self._y if self._y is not None and info.conditional else end.y
        return Endpoint(z, y)

    def state(self) -> EndpointState:
        return EndpointState(self.seed.value(), self.class_combo.currentIndex(), self._z, self._y)

    def restore(self, state: EndpointState) -> None:
        """Set everything at once (Swap A/B), then emit ``changed`` once."""
        for w in (self.seed, self.class_combo):
            w.blockSignals(True)
        self.seed.setValue(state.seed)
        self.class_combo.setCurrentIndex(state.class_index)
        self._z, self._y = state.z, state.y
        for w in (self.seed, self.class_combo):
            w.blockSignals(False)
        self._show_origin()
        self.changed.emit()

    @property
    def picked(self) -> bool:
        return self._z is not None

    def _show_origin(self) -> None:
        self.origin.setVisible(self._z is not None)

    def _on_seed_changed(self, seed: int) -> None:
        self._z = self._y = None  # a typed seed means that seed's sample
        self._show_origin()
        self.changed.emit()

    def _on_class_changed(self, index: int) -> None:
        self._y = None  # the combo's class from now on (a picked z is kept)
        self.changed.emit()
