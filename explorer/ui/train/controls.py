"""The Train view's button bar: Start / Pause / Resume / Stop and the live-model switch, enabled
for the phase the run is in."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from explorer.core.training.phase import Phase, buttons


class TrainControls(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.stop_button = QPushButton("Stop")
        self.start_button.setToolTip("Start a new run with these settings")
        self.stop_button.setToolTip("Stop after this step and write a checkpoint")
        self.share_box = QCheckBox("Explore the live model in the other tabs")
        self.share_box.setChecked(True)
        # The switch sits under the buttons: beside them the bar alone needed 620 px.
        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.resume_button, self.stop_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(buttons)
        lay.addWidget(self.share_box)

    def sync(self, phase: Phase, form_valid: bool, resumable: Path | None) -> None:
        """Enable the buttons for ``phase`` (by ``train_phase.buttons``); ``resumable``: the
        stopped run that Resume would continue, if any."""
        on = buttons(phase, form_valid, resumable is not None)
        self.start_button.setEnabled(on.start)
        self.pause_button.setEnabled(on.pause)
        self.resume_button.setEnabled(on.resume)
        self.stop_button.setEnabled(on.stop)
        self.resume_button.setToolTip(f"Continue {resumable} to Total steps"
                                      if resumable and not phase.active
                                      else "Continue the paused run")
