"""MorphView: two endpoints, lerp/slerp, frames, fps, ping-pong; preview with scrubber and
playback; GIF and PNG-strip export.

The frames come from ``explorer.core.latent.morph.morph_latents`` (the same code as ``python main.py
morph``), rendered in one request under the tag "morph" and cached; playback only flips through
the cache.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.core.jobs import Steps
from explorer.core.latent.export import (
    save_gif,
    save_png_strip,
)
from explorer.core.latent.morph import MAX_FRAMES, MIN_FRAMES, morph_latents
from explorer.core.latent.render import ModelInfo
from explorer.ui.morph.endpoint_editor import EndpointEditor
from explorer.ui.shell.export_job import ExportJob, ask_save_path, start_export
from explorer.ui.shell.render_worker import RenderResult
from explorer.ui.shell.session import Focus, ModelSession
from explorer.ui.widgets.common import scroll_column
from explorer.ui.widgets.image_grid import ImageGrid

EMPTY = "Open a checkpoint or train a model"
STRIP_MAX = 48


def _spin(lo: int, hi: int, value: int, suffix: str = "") -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    s.setSuffix(suffix)
    return s


class MorphView(QWidget):
    preview_rendered = Signal(int)  # number of frames now in the preview
    exported = Signal(str)  # path of an exported GIF or strip
    export_failed = Signal(str)

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.frames: np.ndarray | None = None  # (F, H, W, 3) uint8 preview cache
        self.job: ExportJob | None = None
        self.timer = QTimer(self)
        self._build()
        session.model_changed.connect(self._on_model_changed)
        self.renders = session.channel("morph", view=self)
        self.renders.rendered.connect(self._on_rendered)
        session.failed.connect(self._on_failed)
        session.endpoint_picked.connect(self._on_endpoint_picked)
        self._on_model_changed(session.info)

    def _build(self) -> None:
        self.a, self.b = EndpointEditor("A (start)", 0), EndpointEditor("B (end)", 1)
        self.swap = QPushButton("Swap A ↔ B")
        self.slerp = QRadioButton("Spherical (slerp)")
        self.slerp.setToolTip("Keeps in-between z at a typical length: no washed-out middle")
        self.lerp = QRadioButton("Linear (lerp)")
        self.slerp.setChecked(True)
        self.frame_count = _spin(MIN_FRAMES, MAX_FRAMES, 24)
        self.fps = _spin(1, 50, 12, " fps")
        self.ping_pong = QCheckBox("Ping-pong (A → B → A)")
        self.truncation = QDoubleSpinBox()
        self.truncation.setRange(0.05, 1.0)
        self.truncation.setSingleStep(0.05)
        self.truncation.setValue(1.0)
        path = QGroupBox("Path")
        pf = QFormLayout(path)
        pf.addRow(self.slerp)
        pf.addRow(self.lerp)
        pf.addRow("Frames", self.frame_count)
        pf.addRow("Speed", self.fps)
        pf.addRow(self.ping_pong)
        pf.addRow("Truncation ψ", self.truncation)
        self.scale = _spin(1, 32, 4, "×")
        self.pad = _spin(0, 64, 2, " px")
        self.export_gif = QPushButton("Export GIF…")
        self.export_strip = QPushButton("Export PNG strip…")
        export = QGroupBox("Export")
        ef = QFormLayout(export)
        ef.addRow("Scale", self.scale)
        ef.addRow("Strip padding", self.pad)
        ef.addRow(self.export_gif)
        ef.addRow(self.export_strip)
        self.controls = QWidget()
        left = QVBoxLayout(self.controls)
        left.setContentsMargins(0, 0, 0, 0)
        for w in (self.a, self.b, self.swap, path, export):
            left.addWidget(w)
        left.addStretch(1)
        self.controls.setFixedWidth(270)

        self.preview = ImageGrid(gap=0, clickable=False)
        # The whole path at a glance (up to STRIP_MAX evenly spaced frames); click to jump.
        self.strip = ImageGrid(gap=2)
        self.strip.setMinimumSize(120, 56)
        self.strip.setFixedHeight(64)
        self._strip_frames = np.zeros(0, int)  # frame index of each strip tile
        self.play = QPushButton("Play")
        self.play.setCheckable(True)
        self.scrubber = QSlider(Qt.Orientation.Horizontal)
        self.frame_label = QLabel("–")
        self.render_time = QLabel()
        self.status = QLabel()
        self.status.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(self.play)
        bar.addWidget(self.scrubber, 1)
        bar.addWidget(self.frame_label)
        right = QVBoxLayout()
        right.addWidget(self.preview, 1)
        right.addWidget(self.strip)
        right.addLayout(bar)
        info = QHBoxLayout()
        info.addWidget(self.status, 1)
        info.addWidget(self.render_time)
        right.addLayout(info)
        lay = QHBoxLayout(self)
        lay.addWidget(scroll_column(self.controls))  # scrolls in a short window
        lay.addLayout(right, 1)

        for sig in (self.a.changed, self.b.changed, self.slerp.toggled, self.ping_pong.toggled,
                    self.frame_count.valueChanged, self.truncation.valueChanged):
            sig.connect(self._on_setting_changed)
        self.swap.clicked.connect(self._on_swap_clicked)
        self.fps.valueChanged.connect(lambda fps: self.timer.setInterval(round(1000 / fps)))
        self.timer.setInterval(round(1000 / self.fps.value()))
        self.timer.timeout.connect(self._on_timer_timeout)
        self.play.toggled.connect(self._on_play_toggled)
        self.scrubber.valueChanged.connect(self._show_frame)
        self.scrubber.sliderPressed.connect(lambda: self.play.setChecked(False))
        self.strip.tile_clicked.connect(self._on_strip_tile_clicked)
        self.export_gif.clicked.connect(lambda: self.export("gif"))
        self.export_strip.clicked.connect(lambda: self.export("png"))

    # --- frames -----------------------------------------------------------------------------
    def latents(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(F, z_dim) and (F, n_classes) or None for the current settings."""
        psi = round(self.truncation.value(), 4)
        return morph_latents(self.a.endpoint(psi), self.b.endpoint(psi), self.frame_count.value(),
                             self.slerp.isChecked(), self.ping_pong.isChecked())

    def request_preview(self) -> None:
        if self.session.info is None:
            return
        try:
            z, y = self.latents()
        except ValueError as e:
            self.status.setText(str(e))
            return
        self.renders.request(z, y)

    def _on_setting_changed(self, *_: object) -> None:
        self.request_preview()

    def _on_swap_clicked(self) -> None:
        a = self.a.state()
        self.a.restore(self.b.state())
        self.b.restore(a)

    def _on_rendered(self, result: RenderResult) -> None:
        self.frames = result.images
        n = len(result.images)
        self.a.thumb.set_images(result.images[:1])
        self.b.thumb.set_images(result.images[min(self.frame_count.value(), n) - 1][None])
        self._strip_frames = np.unique(np.linspace(0, n - 1, min(n, STRIP_MAX)).round()).astype(int)
        self.strip.set_images(result.images[self._strip_frames], len(self._strip_frames))
        self.scrubber.setRange(0, n - 1)
        self._show_frame(self.scrubber.value())
        self.render_time.setText(f"{result.ms:.0f} ms for {n} frames")
        self.status.setText("")
        self.preview_rendered.emit(n)

    def _show_frame(self, i: int) -> None:
        if self.frames is None or not len(self.frames):
            return
        i = min(i, len(self.frames) - 1)
        self.preview.set_images(self.frames[i:i + 1])
        self.frame_label.setText(f"frame {i + 1} / {len(self.frames)}")
        if len(self._strip_frames):
            self.strip.set_focused(int(np.abs(self._strip_frames - i).argmin()))

    def _on_strip_tile_clicked(self, j: int) -> None:
        self.play.setChecked(False)
        self.scrubber.setValue(int(self._strip_frames[j]))

    def _on_play_toggled(self, playing: bool) -> None:
        self.play.setText("Pause" if playing else "Play")
        if playing:
            self.timer.start()
        else:
            self.timer.stop()

    def _on_timer_timeout(self) -> None:
        if self.frames is not None and len(self.frames):
            self.scrubber.setValue((self.scrubber.value() + 1) % len(self.frames))

    def _on_failed(self, message: str) -> None:
        self.status.setText(message)

    def _on_endpoint_picked(self, which: str, focus: Focus) -> None:
        (self.a if which == "A" else self.b).set_focus(focus)

    def _on_model_changed(self, info: ModelInfo | None) -> None:
        self.a.set_model(info)
        self.b.set_model(info)
        self.controls.setEnabled(info is not None)
        self.play.setEnabled(info is not None)
        self.scrubber.setEnabled(info is not None)
        self.frames = None
        if info is None:
            self.play.setChecked(False)
            self.preview.set_message(EMPTY)
            self.strip.set_images(None)
            self._strip_frames = np.zeros(0, int)
            self.frame_label.setText("–")
            self.render_time.setText("")
            return
        self.scale.setValue(max(1, 128 // info.size))
        self.request_preview()

    # --- export -----------------------------------------------------------------------------
    def export(self, kind: str) -> None:
        """``kind`` "gif" (animation) or "png" (strip): ask for a path, render, save."""
        if self.session.info is None or (self.job is not None and not self.job.done):
            return
        title = "Export GIF" if kind == "gif" else "Export PNG strip"
        name = f"morph_{self.a.seed.value()}_{self.b.seed.value()}.{kind}"
        filt = "GIF animations (*.gif)" if kind == "gif" else "PNG images (*.png)"
        path = ask_save_path(self, title, self.session.export_dir / name, filt,
                             self._on_export_failed)
        if path is None:
            return
        try:
            z, y = self.latents()
        except ValueError as e:
            self._on_export_failed(str(e))
            QMessageBox.critical(self, title, str(e))
            return
        fps, scale, pad = self.fps.value(), self.scale.value(), self.pad.value()
        if kind == "gif":
            def save(images: np.ndarray, progress: Steps) -> Path:
                return save_gif(images, path, fps, scale=scale, progress=progress)
            steps = len(z)
        else:
            def save(images: np.ndarray, progress: Steps) -> Path:
                return save_png_strip(images, path, pad, scale)
            steps = 1
        self.job = ExportJob(self.session, "export-morph", z, y, save, steps, parent=self)
        start_export(self, self.job, title, path, self._on_exported, self._on_export_failed)

    def _on_exported(self, path: str) -> None:
        self.status.setText(f"Saved {path}")
        self.exported.emit(path)

    def _on_export_failed(self, message: str) -> None:
        self.status.setText(f"Export failed: {message}")
        self.export_failed.emit(message)
