"""The Control view: sliders along feature directions applied to the focused sample.

The sliders' state (directions, their α, the offset Σ α_i·d_i) is a Qt-free ``DirectionSet``;
each row shows one entry and reports edits. The view sends the set's offset to the session (the
Generate view may apply it to the whole grid) and renders the focused sample (or seed 0 /
class 0) large, through the render thread's newest-request slot "control", so dragging never
queues stale frames.
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

from explorer.core.directions import direction as dmath
from explorer.core.directions.direction import (
    Direction,
    DirectionsError,
    directions_path,
    directions_save_path,
)
from explorer.core.directions.direction_set import DirectionSet
from explorer.core.latent.export import file_stem
from explorer.core.latent.latent_math import one_hot, seed_z
from explorer.core.latent.render import ModelInfo
from explorer.ui.control.cosine import CosineTable
from explorer.ui.control.examples import ExamplePicker
from explorer.ui.control.row import DirectionRow
from explorer.ui.control.source_bar import SourceBar
from explorer.ui.control.sweep import SweepExporter, sweep_alphas
from explorer.ui.shell.render_worker import RenderResult
from explorer.ui.shell.session import ModelSession
from explorer.ui.widgets.sample_grid import SampleGrid

TAG = "control"


class ControlView(QWidget):
    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.dirs = DirectionSet()  # the sliders' state; the rows below render it
        self.rows: list[DirectionRow] = []
        self._info: ModelInfo | None = None  # the model the rows were made for
        self.sweeps = SweepExporter(session, self)
        self.sweeps.saved.connect(self._on_gif_saved)
        self.sweeps.failed.connect(self._on_status)
        self._build()
        session.model_changed.connect(self._on_model_changed)
        session.focus_changed.connect(self._on_focus_changed)
        # Live: the preview follows a dragged slider with each result as it comes.
        self.renders = session.channel(TAG, live=True, view=self)
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
    # Every edit goes to ``self.dirs`` (the Qt-free DirectionSet), then only the rows it touched
    # are updated, then ``_changed`` refreshes what depends on the whole list.
    @property
    def directions(self) -> tuple[Direction, ...]:
        return self.dirs.directions

    @property
    def alphas(self) -> tuple[float, ...]:
        return self.dirs.alphas

    def set_directions(self, dirs: list[Direction], alphas: list[float] | None = None) -> None:
        self.dirs.replace(dirs, alphas)
        for row in self.rows:
            self.rows_box.removeWidget(row)
            row.deleteLater()
        self.rows = []
        for i in range(len(self.dirs)):
            self._insert_row(i)
        self._changed()

    def _insert_row(self, i: int) -> None:
        d = self.dirs[i]
        row = DirectionRow(d.name, d.source, *d.range)
        row.show_alpha(self.dirs.alpha(i))
        # The row's index is looked up when it signals, so moving rows needs no reconnecting.
        row.value_changed.connect(lambda a, row=row: self._on_alpha_changed(self._index(row), a))
        row.range_changed.connect(
            lambda lo, hi, row=row: self.dirs.set_range(self._index(row), lo, hi))
        row.renamed.connect(lambda name, row=row: self._on_renamed(self._index(row), name))
        row.move_requested.connect(lambda step, row=row: self.move(self._index(row), step))
        row.delete_requested.connect(lambda row=row: self.delete(self._index(row)))
        row.sweep_requested.connect(lambda row=row: self._on_sweep_clicked(self._index(row)))
        self.rows_box.insertWidget(i, row)
        self.rows.insert(i, row)

    def _index(self, row: DirectionRow) -> int:
        return self.rows.index(row)

    def _changed(self, vectors: bool = True) -> None:
        """After an edit: the cosine table (when vectors or names changed), the buttons, and the
        offset with the preview."""
        if vectors:
            self._refresh_cosine()
        self._sync_enabled()
        self._apply_offset()

    def _sync_enabled(self) -> None:
        info = self.session.info
        self.to_grid.setEnabled(info is not None)
        self.reset_all.setEnabled(info is not None and len(self.dirs) > 0)
        self.save_button.setEnabled(info is not None and info.path is not None)

    def add_directions(self, dirs: list[Direction]) -> None:
        """Append, skipping any that duplicate a direction already listed."""
        added = self.dirs.add(dirs)
        for i in range(len(self.dirs) - len(added), len(self.dirs)):
            self._insert_row(i)
        if added:
            self._changed()

    def move(self, i: int, step: int) -> None:
        j = self.dirs.move(i, step)
        if j is None:
            return
        row = self.rows.pop(i)  # the same widget, moved: its slider, range and name go along
        self.rows.insert(j, row)
        self.rows_box.removeWidget(row)
        self.rows_box.insertWidget(j, row)
        self._changed()

    def delete(self, i: int) -> None:
        self.dirs.delete(i)
        row = self.rows.pop(i)
        self.rows_box.removeWidget(row)
        row.deleteLater()
        self._changed()

    def orthogonalise(self) -> None:
        try:
            self.dirs.orthogonalise()  # names, ranges and α stay: the rows show the same
        except DirectionsError as e:
            self._on_status(str(e))
            return
        self._changed()
        self._on_status("directions orthogonalised (Gram–Schmidt, top to bottom)")

    def reset_sliders(self) -> None:
        for i in self.dirs.reset():
            self.rows[i].show_alpha(0.0)
        self._changed(vectors=False)

    def save(self) -> Path | None:
        info = self.session.info
        if info is None or info.path is None:
            self._on_status("this model has no checkpoint file to save directions beside")
            return None
        path = directions_save_path(info.path)
        try:
            dmath.save_directions(path, self.dirs.directions)
        except DirectionsError as e:
            self._on_status(str(e))
            return None
        self._on_status(f"saved {len(self.dirs)} directions to {path}")
        return path

    # --- computed directions ---------------------------------------------------------------
    def _on_computed(self, dirs: list[Direction]) -> None:
        before = len(self.dirs)
        self.add_directions(dirs)
        self._on_status("\n".join([f"{len(self.dirs) - before} directions added (Save to "
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
        return self.dirs.offset()

    def _apply_offset(self) -> None:
        if self.session.info is None:
            return
        self.session.set_offset(self.dirs.offset(), applies_to_grid=self.to_grid.isChecked())
        self._request_preview()

    def _request_preview(self) -> None:
        z, y, label = self.base()
        self.base_label.setText(label)
        self.renders.request(self.dirs.apply(z).view(1, -1), None if y is None else y.view(1, -1))

    def _on_alpha_changed(self, i: int, alpha: float) -> None:
        if self.dirs.set_alpha(i, alpha):
            self._apply_offset()

    def _on_renamed(self, i: int, name: str) -> None:
        self.dirs.rename(i, name)
        self._refresh_cosine()

    def _refresh_cosine(self) -> None:
        dirs = self.dirs.directions
        names = [d.name for d in dirs]
        self.cosine.set_matrix(names, dmath.cosine_matrix(dirs) if names else None)
        self.orth_button.setEnabled(len(names) > 1)

    def _on_model_changed(self, info: ModelInfo | None) -> None:
        old, self._info = self._info, info
        if info is not None and info.same_live_run(old):
            # Newer weights of the run being trained (a hand-off every few seconds): the
            # directions, their α and the marked examples stay; only the pictures are redrawn.
            self._apply_offset()
            self.examples.redraw()
            return
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
        name = f"sweep_{file_stem(self.dirs[i].name, 'direction')}.gif"
        path, _ = QFileDialog.getSaveFileName(self, "Export sweep GIF",
                                              str(self.session.export_dir / name), "GIF (*.gif)")
        if path:
            self.export_sweep(i, Path(path))

    def export_sweep(self, i: int, path: Path, frames: int = 24, fps: float = 12.0) -> None:
        """Render slider i across its range (there and back; other sliders as they are) to GIF."""
        z, y, _ = self.base()
        d = self.dirs[i]
        a = sweep_alphas(*d.range, frames) - self.dirs.alpha(i)  # relative to the slider's value
        self.sweeps.export(self.dirs.apply(z) + a[:, None] * d.vector, y, path, fps)
        self._on_status(f"rendering a {len(a)}-frame sweep of '{d.name}'…")

    def _on_gif_saved(self, path: str) -> None:
        self.session.remember_export(path)
        self._on_status(f"sweep saved to {path}")

    def _on_status(self, text: str) -> None:
        self.status.setText(text)
