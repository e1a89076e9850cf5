"""GenerateView: a grid of samples from a seed, class selection, focus, PNG export.

Every control change builds the grid's latents with ``explorer.core.latent.sampling`` (the same
code as ``python main.py sample``) and asks the session for a render under the tag "grid"; only
the result of the newest request is shown.
"""

from __future__ import annotations

import random

import numpy as np
import torch
from PySide6.QtCore import QMimeData, QPoint, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.core.latent.export import save_grid_png
from explorer.core.latent.projection import IMAGE_TYPES
from explorer.core.latent.render import ModelInfo
from explorer.core.latent.sampling import (
    ONE_CLASS,
    PER_CLASS,
    RANDOM,
    GridLatents,
    GridSpec,
    grid_latents,
)
from explorer.ui.generate.focus_panel import FocusPanel
from explorer.ui.generate.projection_job import ImageProjector
from explorer.ui.generate.projection_panel import ProjectionPanel
from explorer.ui.shell.export_job import ExportJob, ask_save_path, start_export
from explorer.ui.shell.render_worker import RenderResult
from explorer.ui.shell.session import Focus, ModelSession
from explorer.ui.widgets.common import MAX_SEED, refill_combo, seed_spin
from explorer.ui.widgets.image_grid import ImageGrid

EMPTY = "Open a checkpoint or train a model"
MODES = ((PER_CLASS, "One row per class"), (ONE_CLASS, "One class"), (RANDOM, "Random classes"))


def dropped_file(mime: QMimeData) -> str | None:
    """The one local file a drag carries (any file: a folder or a non-image gets a message)."""
    urls = [u for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
    return urls[0].toLocalFile() if len(urls) == 1 else None


def default_scale(size: int) -> int:
    """Export upscale giving tiles of about 128 px: 8 px -> 16x, 32 px -> 4x, 128 px -> 1x."""
    return max(1, 128 // size)


class GenerateView(QWidget):
    grid_shown = Signal(object)  # the GridLatents now on screen
    exported = Signal(str)  # path of an exported PNG
    export_failed = Signal(str)

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.latents: GridLatents | None = None  # on screen
        self.images: np.ndarray | None = None  # (N, H, W, 3) uint8 on screen
        self._shown_z: torch.Tensor | None = None  # the z rendered (offset included)
        self._n = {False: 16, True: 8}  # sample count, and samples per class in per-class mode
        self.job: ExportJob | None = None
        self._focus_tile: int | None = None  # the grid position the user last focused
        self._build()
        session.model_changed.connect(self._on_model_changed)
        self.renders = session.channel("grid", view=self)
        self.renders.rendered.connect(self._on_rendered)
        session.failed.connect(self._on_failed)
        session.focus_changed.connect(self._on_focus_changed)
        session.offset_changed.connect(self._on_offset_changed)
        self._on_model_changed(session.info)

    # --- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        self.seed = seed_spin()
        self.new_seed = QPushButton("New seed")
        self.new_seed.setToolTip("A random seed")
        self.n = QSpinBox(minimum=1, maximum=256, value=self._n[False])
        self.truncation = QDoubleSpinBox(minimum=0.05, maximum=1.0, singleStep=0.05, value=1.0)
        self.truncation.setToolTip("ψ < 1 pulls samples towards the average: more typical, "
                                   "less varied")
        self.mode = QComboBox()
        for data, text in MODES:
            self.mode.addItem(text, data)
        self.class_combo = QComboBox()
        self.render_time = QLabel("–")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.scale = QSpinBox(minimum=1, maximum=32, value=4, suffix="×")
        self.pad = QSpinBox(minimum=0, maximum=64, value=2, suffix=" px")
        self.export_button = QPushButton("Export grid…")

        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.new_seed)
        self.form = QFormLayout()
        self.form.addRow("Seed", seed_row)
        self.form.addRow("Samples", self.n)
        self.form.addRow("Truncation ψ", self.truncation)
        self.form.addRow("Classes", self.mode)
        self.form.addRow("Class", self.class_combo)
        self.form.addRow("Render", self.render_time)
        export = QGroupBox("Export")
        ef = QFormLayout(export)
        ef.addRow("Scale", self.scale)
        ef.addRow("Padding", self.pad)
        ef.addRow(self.export_button)
        self.controls = QWidget()
        left = QVBoxLayout(self.controls)
        left.setContentsMargins(0, 0, 0, 0)
        left.addLayout(self.form)
        left.addWidget(export)
        left.addWidget(self._build_images_box())
        left.addWidget(self.status)
        left.addStretch(1)
        self.controls.setFixedWidth(250)

        self.grid = ImageGrid()
        self.focus_panel = FocusPanel(self.session)
        self.focus_panel.setFixedWidth(260)
        lay = QHBoxLayout(self)
        lay.addWidget(self.controls)
        lay.addWidget(self.grid, 1)
        lay.addWidget(self.focus_panel)
        # Your projected image beside the focus (shown while the focus is one).
        self.projection_panel = ProjectionPanel(self.session, self.projector)
        self.focus_panel.layout().insertWidget(3, self.projection_panel)

        for w in (self.seed, self.n):
            w.valueChanged.connect(self._on_control_changed)
        self.truncation.valueChanged.connect(self._on_control_changed)
        self.class_combo.currentIndexChanged.connect(self._on_control_changed)
        self.mode.currentIndexChanged.connect(self._on_mode_changed)
        self.new_seed.clicked.connect(lambda: self.seed.setValue(random.randrange(MAX_SEED)))
        self.grid.tile_clicked.connect(self._on_tile_clicked)
        self.grid.tile_menu_requested.connect(self._on_tile_menu_requested)
        self.focus_panel.seed_copied.connect(lambda s: self.status.setText(f"Seed {s} copied"))
        self.export_button.clicked.connect(self.export_grid)
        self._sync_count_to_mode(self.session.info)

    # --- your images ------------------------------------------------------------------------
    def _build_images_box(self) -> QGroupBox:
        """Open or drop an image to project it into z; reopen the run's projected images."""
        self.projector = ImageProjector(self.session, self)
        box = QGroupBox("Your images")
        box.setToolTip("Find the latent point whose sample looks like your image: it becomes "
                       "the focus, for the sliders and morphs. You can also drop an image "
                       "on this view.")
        lay = QVBoxLayout(box)
        self.open_image_button = QPushButton("Open image…")
        self.saved_combo = QComboBox()
        self.saved_combo.setToolTip("Images projected into this run before (saved with it)")
        # A VAE's encoder projects at once; the optimiser can refine its answer (seconds).
        self.refine_box = QCheckBox("Refine with the optimiser")
        self.refine_box.setToolTip("A VAE's encoder finds the latent point at once; this goes "
                                   "on from there with the optimiser, a few seconds, for a "
                                   "closer match")
        self.refine_box.toggled.connect(self._on_refine_toggled)
        self.refine_box.hide()
        lay.addWidget(self.open_image_button)
        lay.addWidget(self.refine_box)
        lay.addWidget(self.saved_combo)
        self.open_image_button.clicked.connect(self.open_image)
        self.saved_combo.activated.connect(self.projector.show_saved)
        self.projector.saved_changed.connect(self._on_saved_changed)
        self.projector.message.connect(self.status.setText)
        self.session.project_image_requested.connect(self.project_image)
        self.setAcceptDrops(True)
        self._on_saved_changed(self.projector.saved)
        return box

    def open_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open image", str(self.session.export_dir),
            "Images (" + " ".join(f"*.{e}" for e in IMAGE_TYPES) + ");;All files (*)")
        if path:
            self.project_image(path)

    def project_image(self, path: str) -> bool:
        return self.projector.project(path)

    def _on_refine_toggled(self, on: bool) -> None:
        self.projector.refine = on

    def _on_saved_changed(self, items: list) -> None:
        self.saved_combo.clear()
        for i, it in enumerate(items):
            self.saved_combo.addItem(f"{i + 1}. {it.name} (error {it.error:.4f})")
        self.saved_combo.setPlaceholderText("Projected images" if items else "None projected yet")
        self.saved_combo.setCurrentIndex(-1)
        self.saved_combo.setEnabled(bool(items))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if dropped_file(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        path = dropped_file(event.mimeData())
        if path is not None:
            event.acceptProposedAction()
            self.project_image(path)

    # --- the grid ---------------------------------------------------------------------------
    def spec(self) -> GridSpec:
        info = self.session.info
        mode = self.mode.currentData() if info is not None and info.conditional else RANDOM
        return GridSpec(self.seed.value(), self.n.value(), round(self.truncation.value(), 4),
                        mode, max(0, self.class_combo.currentIndex()))

    def request_grid(self) -> None:
        info = self.session.info
        if info is None:
            return
        spec = self.spec()
        try:
            lat = grid_latents(spec, info.z_dim, info.class_names)
        except ValueError as e:
            self.status.setText(str(e))
            return
        z = lat.z
        if self.session.offset is not None and self.session.offset_applies_to_grid:
            z = z + self.session.offset  # (N, z_dim) + (z_dim,)
        self.renders.request(z, lat.y, {"spec": spec, "lat": lat, "z": z})

    def _on_control_changed(self, *_: object) -> None:
        self.request_grid()

    def _sync_count_to_mode(self, info: ModelInfo | None) -> None:
        """The count box means "samples", or "samples per class" in per-class mode; each
        meaning keeps its own value."""
        conditional = info is not None and info.conditional
        per_class = conditional and self.mode.currentData() == PER_CLASS
        self.n.blockSignals(True)
        self._n[self.n.suffix() == " per class"] = self.n.value()
        self.n.setSuffix(" per class" if per_class else "")
        self.n.setValue(self._n[per_class])
        self.n.blockSignals(False)
        self.class_combo.setEnabled(self.mode.currentData() == ONE_CLASS)

    def _on_mode_changed(self, *_: object) -> None:
        self._sync_count_to_mode(self.session.info)
        self.request_grid()

    def _on_rendered(self, result: RenderResult) -> None:
        spec, lat, z = result.meta["spec"], result.meta["lat"], result.meta["z"]
        self.latents, self.images, self._shown_z = lat, result.images, z
        info = self.session.info
        names = info.class_names if info is not None else ()
        rows = list(names) if lat.labels is not None and spec.mode == PER_CLASS else None
        self.grid.set_images(result.images, lat.cols, rows)
        self.grid.set_tooltips([f"seed {s}" + (f" · {names[lat.labels[i]]}" if lat.labels else "")
                                for i, s in enumerate(lat.seeds)])
        self._follow_focus(lat)
        self.render_time.setText(f"{result.ms:.0f} ms for {len(result.images)} samples")
        self.status.setText("")
        self.grid_shown.emit(lat)

    def _on_failed(self, message: str) -> None:
        self.status.setText(message)

    # --- focus ------------------------------------------------------------------------------
    def _on_tile_clicked(self, i: int) -> None:
        lat = self.latents
        if lat is None or i >= len(lat):
            return
        y = None if lat.y is None else lat.y[i].clone()
        self.session.set_focus(Focus(lat.z[i].clone(), y, lat.seeds[i]))

    def _follow_focus(self, lat: GridLatents) -> None:
        """A new grid (New seed, another count or class) keeps the focus on the tile position
        the user picked, so the focus panel never shows a sample that is no longer on screen."""
        focus, tile = self.session.focus, self._focus_tile
        if focus is None or tile is None or self._focused_index(focus) is not None:
            self._on_focus_changed(focus)  # nothing to follow (or a focus from elsewhere)
        elif tile < len(lat):
            self._on_tile_clicked(tile)
        else:
            self.session.set_focus(None)

    def _on_tile_menu_requested(self, i: int, pos: QPoint) -> None:
        self._on_tile_clicked(i)
        menu = QMenu(self)
        menu.addAction("Use as morph A", lambda: self.focus_panel.pick("A"))
        menu.addAction("Use as morph B", lambda: self.focus_panel.pick("B"))
        menu.addAction("Copy seed", self.focus_panel.copy)
        menu.exec(pos)

    def _on_focus_changed(self, focus: Focus | None) -> None:
        """Highlight the focused sample if it is in the grid (same z and class)."""
        self._focus_tile = self._focused_index(focus)
        self.grid.set_focused(self._focus_tile)

    def _focused_index(self, focus: Focus | None) -> int | None:
        lat = self.latents
        if focus is None or lat is None:
            return None
        for i in range(len(lat)):
            same_y = (lat.y is None) == (focus.y is None) and (
                lat.y is None or torch.equal(lat.y[i], focus.y))
            if same_y and torch.equal(lat.z[i], focus.z):
                return i
        return None

    def _on_offset_changed(self, offset: torch.Tensor | None) -> None:
        applied = self._shown_z is not None and self.latents is not None and not torch.equal(
            self._shown_z, self.latents.z)
        if self.session.offset_applies_to_grid or applied:
            self.request_grid()

    # --- model ------------------------------------------------------------------------------
    def _on_model_changed(self, info: ModelInfo | None) -> None:
        self.renders.cancel()  # a grid of the model that was open before is not shown
        has = info is not None
        self.controls.setEnabled(has)
        conditional = has and info.conditional
        self.form.setRowVisible(self.mode, conditional)
        self.form.setRowVisible(self.class_combo, conditional)
        refill_combo(self.class_combo, info.class_names if conditional else [])
        self._sync_count_to_mode(info)
        self.refine_box.setVisible(has and info.is_vae)
        if not has:
            self.latents = self.images = self._shown_z = None
            self.grid.set_message(EMPTY)
            self.render_time.setText("–")
            return
        self.scale.setValue(default_scale(info.size))
        self.request_grid()

    # --- export -----------------------------------------------------------------------------
    def export_grid(self) -> None:
        """Ask for a PNG path, then render the grid on screen in chunks and save it."""
        lat, z = self.latents, self._shown_z
        if lat is None or z is None or (self.job is not None and not self.job.done):
            return
        path = ask_save_path(self, "Export grid",
                             self.session.export_dir / f"grid_seed{lat.seeds[0]}.png",
                             "PNG images (*.png)", self._on_export_failed)
        if path is None:
            return
        cols, pad, scale = lat.cols, self.pad.value(), self.scale.value()
        self.job = ExportJob(self.session, "export-grid", z, lat.y,
                             lambda images, progress: save_grid_png(images, path, cols, pad, scale),
                             parent=self)
        start_export(self, self.job, "Export grid", path, self._on_exported,
                     self._on_export_failed)

    def _on_exported(self, path: str) -> None:
        self.status.setText(f"Saved {path}")
        self.exported.emit(path)

    def _on_export_failed(self, message: str) -> None:
        self.status.setText(f"Export failed: {message}")
        self.export_failed.emit(message)
