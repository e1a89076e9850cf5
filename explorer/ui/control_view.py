"""The Control view: sliders along feature directions applied to the focused sample.

Each slider holds α_i; the view sends the offset Σ α_i·d_i to the session (the Generate view may
apply it to the whole grid) and renders the focused sample (or seed 0 / class 0) large, through
the render thread's newest-request slot "control", so dragging never queues stale frames.
Directions come from a background computation (SeFa, GANSpace, supervised) or from marked
examples, and are saved to / auto-loaded from ``directions.pt`` in the model's run folder.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from explorer.core import directions as dmath
from explorer.core.directions import (
    Direction,
    DirectionsError,
    directions_path,
    directions_save_path,
)
from explorer.core.export import file_stem
from explorer.core.latent import one_hot, seed_z
from explorer.core.render import ModelInfo
from explorer.ui.control_compute import SourceBar
from explorer.ui.control_cosine import CosineTable
from explorer.ui.control_examples import ExamplePicker
from explorer.ui.control_row import DirectionRow
from explorer.ui.control_sweep import SweepExporter, sweep_alphas
from explorer.ui.render_worker import RenderResult
from explorer.ui.session import ModelSession
from explorer.ui.train_grid import SampleGrid

TAG = "control"


class ControlView(QWidget):
    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.directions: list[Direction] = []
        self.alphas: list[float] = []
        self.rows: list[DirectionRow] = []
        self.sweeps = SweepExporter(session, self)
        self.sweeps.saved.connect(self._on_gif_saved)
        self.sweeps.failed.connect(self._on_status)
        self._build()
        session.model_changed.connect(self._on_model_changed)
        session.focus_changed.connect(self._on_focus_changed)
        # Live: the preview follows a dragged slider with each result as it comes.
        self.renders = session.channel(TAG, live=True)
        self.renders.rendered.connect(self._on_rendered)
        self._on_model_changed(session.info)

    # --- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.preview = SampleGrid("Open a model to use the sliders")
        self.preview.setMinimumSize(256, 256)
        self.ms_label = QLabel("render: – ms")
        self.base_label = QLabel("")
        self.to_grid = QCheckBox("Apply to the whole grid")
        self.to_grid.toggled.connect(self._apply_offset)
        self.reset_all = self._button("Reset all", self.reset_sliders)
        self.save_button = self._button("Save", self.save)
        left = QVBoxLayout()
        left.addWidget(self.preview, 1)
        for w in (self.base_label, self.ms_label, self.to_grid, self.reset_all, self.save_button):
            left.addWidget(w)
        self.examples = ExamplePicker(self.session)
        self.examples.direction_made.connect(self._on_example_direction)
        self.examples.failed.connect(self._on_status)
        self.sources = SourceBar(self.session, self.examples)
        self.sources.computed.connect(self._on_computed)
        self.sources.status.connect(self._on_status)
        self.rows_box = QVBoxLayout()
        self.rows_box.addStretch(1)
        holder = QWidget()
        holder.setLayout(self.rows_box)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        # Room for a whole slider row, so its buttons are never cut or scrolled away sideways.
        probe = DirectionRow("", "sefa", -3.0, 3.0)
        scroll.setMinimumWidth(probe.minimumSizeHint().width() + 2 * scroll.frameWidth()
                               + scroll.verticalScrollBar().sizeHint().width())
        probe.deleteLater()
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.cosine = CosineTable()
        self.orth_button = self._button("Orthogonalise", self.orthogonalise)
        self.orth_button.setToolTip("Gram–Schmidt in list order: the top direction is kept, each "
                                    "later one loses what it shares with those above it")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        right = QVBoxLayout()
        right.addWidget(self.sources)
        right.addWidget(self.examples)
        right.addWidget(scroll, 3)
        cos_head = QHBoxLayout()
        cos_head.addWidget(QLabel("Cosine similarity of the directions (0 = independent, "
                                  "±1 = the same)"), 1)
        cos_head.addWidget(self.orth_button)
        right.addLayout(cos_head)
        right.addWidget(self.cosine, 2)
        right.addWidget(self.status)
        lay = QHBoxLayout(self)
        lay.addLayout(left, 2)
        lay.addLayout(right, 3)

    def _button(self, text: str, slot: object) -> QPushButton:
        b = QPushButton(text)
        b.clicked.connect(slot)
        return b

    # --- directions ----------------------------------------------------------------------------
    def set_directions(self, dirs: list[Direction], alphas: list[float] | None = None) -> None:
        self.directions = list(dirs)
        self.alphas = list(alphas) if alphas is not None else [0.0] * len(dirs)
        for row in self.rows:
            self.rows_box.removeWidget(row)
            row.deleteLater()
        self.rows = []
        for i, d in enumerate(self.directions):
            row = DirectionRow(d.name, d.source, *d.range)
            row.set_alpha(self.alphas[i])
            row.value_changed.connect(lambda a, i=i: self._on_alpha_changed(i, a))
            row.range_changed.connect(lambda lo, hi, i=i: self._on_range_changed(i, lo, hi))
            row.renamed.connect(lambda name, i=i: self._on_renamed(i, name))
            row.move_requested.connect(lambda step, i=i: self.move(i, step))
            row.delete_requested.connect(lambda i=i: self.delete(i))
            row.sweep_requested.connect(lambda i=i: self._on_sweep_clicked(i))
            self.rows_box.insertWidget(i, row)
            self.rows.append(row)
        self._refresh_cosine()
        self._sync_enabled()
        self._apply_offset()

    def _sync_enabled(self) -> None:
        info = self.session.info
        self.to_grid.setEnabled(info is not None)
        self.reset_all.setEnabled(info is not None and bool(self.directions))
        self.save_button.setEnabled(info is not None and info.path is not None)

    def add_directions(self, dirs: list[Direction]) -> None:
        """Append, skipping any that duplicate a direction already listed."""
        new = [d for d in dirs if not any(abs(float(d.vector @ o.vector)) > 0.9999
                                          for o in self.directions)]
        self.set_directions(self.directions + new, self.alphas + [0.0] * len(new))

    def move(self, i: int, step: int) -> None:
        j = i + step
        if 0 <= j < len(self.directions):
            d, a = self.directions, self.alphas
            d[i], d[j], a[i], a[j] = d[j], d[i], a[j], a[i]
            self.set_directions(d, a)

    def delete(self, i: int) -> None:
        self.set_directions(self.directions[:i] + self.directions[i + 1:],
                            self.alphas[:i] + self.alphas[i + 1:])

    def orthogonalise(self) -> None:
        try:
            self.set_directions(dmath.orthogonalize(self.directions), self.alphas)
            self._on_status("directions orthogonalised (Gram–Schmidt, top to bottom)")
        except DirectionsError as e:
            self._on_status(str(e))

    def reset_sliders(self) -> None:
        self.set_directions(self.directions)

    def save(self) -> Path | None:
        info = self.session.info
        if info is None or info.path is None:
            self._on_status("this model has no checkpoint file to save directions beside")
            return None
        path = directions_save_path(info.path)
        try:
            dmath.save_directions(path, self.directions)
        except DirectionsError as e:
            self._on_status(str(e))
            return None
        self._on_status(f"saved {len(self.directions)} directions to {path}")
        return path

    # --- computed directions ---------------------------------------------------------------
    def _on_computed(self, dirs: list[Direction]) -> None:
        before = len(self.directions)
        self.add_directions(dirs)
        self._on_status("\n".join([f"{len(self.directions) - before} directions added (Save to "
                                    "keep them)"] + self.sources.notes))

    def _on_example_direction(self, d: Direction) -> None:
        self.add_directions([d])
        self._on_status(f"added '{d.name}' from the marked examples")

    # --- offset and preview ----------------------------------------------------------------------
    def base(self) -> tuple[torch.Tensor, torch.Tensor | None, str]:
        """The sample the sliders act on: z (z_dim,), y (n_classes,) or None, and a label."""
        info = self.session.info
        assert info is not None
        f = self.session.focus
        if f is not None:
            return f.z, f.y, "focused sample" + (f" (seed {f.seed})" if f.seed is not None else "")
        y = one_hot([0], info.n_classes)[0] if info.conditional else None
        return seed_z(0, info.z_dim), y, "seed 0" + (f", {info.class_names[0]}" if y is not None
                                                     else "") + " (focus a sample to change)"

    def offset(self) -> torch.Tensor | None:
        return dmath.offset(self.directions, self.alphas)

    def _apply_offset(self) -> None:
        if self.session.info is None:
            return
        self.session.set_offset(self.offset(), applies_to_grid=self.to_grid.isChecked())
        self._request_preview()

    def _request_preview(self) -> None:
        z, y, label = self.base()
        off = self.offset()
        z = z + off if off is not None else z
        self.base_label.setText(label)
        self.renders.request(z.view(1, -1), None if y is None else y.view(1, -1))

    def _on_alpha_changed(self, i: int, alpha: float) -> None:
        self.alphas[i] = alpha
        self._apply_offset()

    def _on_range_changed(self, i: int, lo: float, hi: float) -> None:
        self.directions[i] = self.directions[i].with_vector(self.directions[i].vector,
                                                            range=(lo, hi))

    def _on_renamed(self, i: int, name: str) -> None:
        self.directions[i] = self.directions[i].with_vector(self.directions[i].vector, name=name)
        self._refresh_cosine()

    def _refresh_cosine(self) -> None:
        names = [d.name for d in self.directions]
        self.cosine.set_matrix(names, dmath.cosine_matrix(self.directions) if names else None)
        self.orth_button.setEnabled(len(names) > 1)

    def _on_model_changed(self, info: ModelInfo | None) -> None:
        self.sources.cancel()
        self.examples.z = None
        self._on_status("")  # a message about the previous model would read as about this one
        dirs: list[Direction] = []
        if info is not None and info.path is not None:
            path = directions_path(info.path)
            if path.is_file():
                try:
                    dirs = dmath.load_directions(path, z_dim=info.z_dim)
                    self._on_status(f"loaded {len(dirs)} directions from {path}")
                except DirectionsError as e:
                    self._on_status(str(e))
        self.set_directions(dirs)
        if info is None:
            self.preview.set_image(None)
        elif self.sources.source.currentData() == "example":
            self.examples.refresh()

    def _on_focus_changed(self, _focus: object) -> None:
        if self.session.info is not None:
            self._request_preview()

    def _on_rendered(self, result: RenderResult) -> None:
        self.preview.set_image(result.images[0])
        self.ms_label.setText(f"render: {result.ms:.1f} ms")

    # --- sweep GIF ---------------------------------------------------------------------------
    def _on_sweep_clicked(self, i: int) -> None:
        name = f"sweep_{file_stem(self.directions[i].name, 'direction')}.gif"
        path, _ = QFileDialog.getSaveFileName(self, "Export sweep GIF",
                                              str(self.session.export_dir / name), "GIF (*.gif)")
        if path:
            self.export_sweep(i, Path(path))

    def export_sweep(self, i: int, path: Path, frames: int = 24, fps: float = 12.0) -> None:
        """Render slider i across its range (there and back; other sliders as they are) to GIF."""
        z, y, _ = self.base()
        lo, hi = self.rows[i].range
        off = self.offset()
        z = z + off if off is not None else z
        a = sweep_alphas(lo, hi, frames) - self.alphas[i]  # relative to the slider's value
        self.sweeps.export(z + a[:, None] * self.directions[i].vector, y, path, fps)
        self._on_status(f"rendering a {len(a)}-frame sweep of '{self.directions[i].name}'…")

    def _on_gif_saved(self, path: str) -> None:
        self.session.remember_export(path)
        self._on_status(f"sweep saved to {path}")

    def _on_status(self, text: str) -> None:
        self.status.setText(text)
