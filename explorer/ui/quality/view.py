"""The Quality tab: FD, precision and recall, class accuracy, coverage and near-copies of the
open checkpoint, and over a run's snapshots with the best one marked (and openable); or, with
"follow new snapshots", each snapshot as training writes it, with advice on when to stop.

A thin Qt front over the Qt-free ``evaluate_checkpoint`` and ``watch_run``, run as a ``Job``.
Progress text comes from its step callback; Cancel takes effect at the next step (and ends
following, keeping what was measured).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.core.jobs import CancelToken, Progress, text_steps
from explorer.core.quality.evaluate import (
    Reference,
    evaluate_checkpoint,
    summary_lines,
    watch_run,
)
from explorer.ui.quality.hue_bars import HueBars
from explorer.ui.shell.jobs import Job
from explorer.ui.shell.session import ModelSession
from explorer.ui.widgets.common import PLOT_BACKGROUND
from explorer.ui.widgets.loss_plot import legend_title
from trainer.checkpoint import CheckpointError

FD_COLOUR, ACC_COLOUR = "#4e9af1", "#59a14f"  # the Train tab's curve colours
PRECISION_COLOUR, RECALL_COLOUR = "#f28e2b", "#b07aa1"
COLUMNS = ("model", "FD", "precision", "recall", "accuracy", "coverage", "near-copies",
           "hue dist.", "per-class accuracy / share")
HUE_COLUMN = COLUMNS.index("hue dist.")
HUE_TIP = ("How far the samples' colour mix is from the real images' (0 = the same, 1 = no "
           "colour in common), from each pixel's hue weighted by its chroma; greys count for "
           "nothing.")


def hue_tip(r: dict[str, Any] | None) -> str:
    """The hue column's tooltip, with the real-vs-real floor once a result has one."""
    floor = (r or {}).get("hue_distance_real_vs_real")
    if floor is not None:
        return f"{HUE_TIP} Real vs real reads {floor:.3f} at this n."
    if (r or {}).get("hue_note"):
        return f"{HUE_TIP} Here: {r['hue_note']}."
    return HUE_TIP


def quality_job(path: Path, n: int, device: str, classifier_steps: int, over_steps: bool,
                held_out: Path | None = None) -> Callable[[Progress, CancelToken], dict[str, Any]]:
    """The Measure button's job: ``evaluate_checkpoint``, its step lines as progress."""

    def run(progress: Progress, cancel: CancelToken) -> dict[str, Any]:
        return evaluate_checkpoint(path, n, device, classifier_steps, over_steps=over_steps,
                                   progress=text_steps(progress, cancel),
                                   reference=Reference(held_out=held_out))

    return run


# Following a run: evaluations without a lower FD before advising to stop (eval --watch's
# default), and seconds between looks for a new snapshot.
FOLLOW_PATIENCE = 3
FOLLOW_POLL_S = 2.0


def follow_job(path: Path, n: int, device: str, classifier_steps: int, held_out: Path | None,
               on_update: Callable[[dict[str, Any]], None], patience: int = FOLLOW_PATIENCE,
               poll_s: float = FOLLOW_POLL_S) -> Callable[[Progress, CancelToken], dict[str, Any]]:
    """The job of Measure with "follow new snapshots": ``watch_run`` until cancelled, handing
    ``on_update`` (called in the job's thread) the result so far after each snapshot."""

    def newest(r: dict[str, Any]) -> dict[str, Any]:
        # A copy for the GUI thread, its header naming the newest snapshot, not the first one.
        steps = [x["step"] for x in r["over_steps"] if "step" in x]
        return {**r, "over_steps": [*r["over_steps"]], "step": max([r["step"], *steps])}

    def run(progress: Progress, cancel: CancelToken) -> dict[str, Any]:
        return newest(watch_run(path, n, device, classifier_steps, patience=patience,
                                poll_s=poll_s, progress=text_steps(progress, cancel),
                                on_row=lambda _row, r: on_update(newest(r)), should_stop=cancel,
                                reference=Reference(held_out=held_out)))

    return run


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def per_class_text(values: list[float | None], names: list[str]) -> str:
    """Per-class figures, each after its class name when the names are known."""
    texts = ["-" if v is None else f"{v:.2f}" for v in values]
    if len(names) != len(values):
        return " ".join(texts)
    return " · ".join(f"{n} {t}" for n, t in zip(names, texts, strict=True))


class QualityView(QWidget):
    measured = Signal(object)  # the result dict, once shown
    followed = Signal(object)  # while following a run: the result so far (from the job's thread)

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.classifier_steps = 500  # eval-classifier training steps when not cached
        self.result: dict[str, Any] | None = None
        self.best_marker: pg.ScatterPlotItem | None = None  # the best snapshot on the FD curve
        self.job: Job | None = None

        self.samples = QSpinBox()
        self.samples.setRange(2, 100000)
        self.samples.setValue(1000)
        self.over_steps = QCheckBox("over all snapshots")
        self.follow = QCheckBox("follow new snapshots")
        self.follow.setToolTip(
            "Measure each snapshot of the run as training writes it (in this window or in "
            "another process), mark the best, and advise stopping after "
            f"{FOLLOW_PATIENCE} measurements without a lower FD. It runs beside the training, "
            "not in its steps; Cancel stops following and keeps the figures.")
        self.follow.toggled.connect(self._on_follow_toggled)
        self.followed.connect(self._on_followed)
        # What the samples are compared with: the run's training images, or a folder of images
        # the model never trained on (the item's data), chosen with the last item.
        self.against = QComboBox()
        self.against.addItem("training images", None)
        self.against.addItem("held-out folder…", None)
        self.against.setToolTip(
            "Compare the samples with the run's training images, or with a folder of images "
            "the model never trained on (one sub-folder per class, named as the run's "
            "classes). On a small dataset, figures against the training images reward copying "
            "them; near-copies are always checked against the training images.")
        self._against_index = 0
        self.against.activated.connect(self._on_against)
        self.measure = QPushButton("Measure quality")
        self.measure.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.warnings = QLabel()  # what makes the figures less trustworthy (small data, ...)
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #b35c00;")
        self.warnings.hide()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeaderItem(HUE_COLUMN).setToolTip(hue_tip(None))
        self.open_best = QPushButton("Open best snapshot")
        self.open_best.setToolTip("Open the snapshot with the lowest FD (also --checkpoint "
                                  "RUN/best in every command)")
        self.open_best.clicked.connect(self._on_open_best)
        self.open_best.setVisible(False)
        self.fd_plot = pg.PlotWidget(title="FD vs step")
        self.acc_plot = pg.PlotWidget(title="accuracy vs step")
        self.pr_plot = pg.PlotWidget(title=legend_title([("precision", PRECISION_COLOUR),
                                                          ("recall", RECALL_COLOUR)]))
        for p, left in ((self.fd_plot, "FD"), (self.acc_plot, "class accuracy (%)"),
                        (self.pr_plot, "%")):
            p.setBackground(PLOT_BACKGROUND)  # the Train tab's curves' background
            p.showGrid(x=True, y=True, alpha=0.2)
            p.setLabel("bottom", "step")
            p.setLabel("left", left)
            # No SI prefixes: pyqtgraph would label 0.6 as "600 (x0.001)".
            p.getAxis("left").enableAutoSIPrefix(False)
            p.getAxis("bottom").enableAutoSIPrefix(False)
            p.setVisible(False)
        self.hue_bars = HueBars()
        self.hue_bars.setVisible(False)

        row = QHBoxLayout()
        row.addWidget(QLabel("samples"))
        row.addWidget(self.samples)
        row.addWidget(self.over_steps)
        row.addWidget(self.follow)
        row.addWidget(QLabel("against"))
        row.addWidget(self.against)
        row.addWidget(self.measure)
        row.addWidget(self.cancel_button)
        row.addWidget(self.open_best)
        row.addStretch(1)
        plots = QHBoxLayout()
        plots.addWidget(self.fd_plot)
        plots.addWidget(self.acc_plot)
        plots.addWidget(self.pr_plot)
        plots.addWidget(self.hue_bars)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.busy)
        lay.addWidget(self.status)
        lay.addWidget(self.summary)
        lay.addWidget(self.warnings)
        lay.addWidget(self.table, 1)
        lay.addLayout(plots, 1)

        session.model_changed.connect(self._on_model_changed)
        self._on_model_changed(session.info)

    @property
    def running(self) -> bool:
        return self.job is not None

    @property
    def held_out(self) -> Path | None:
        """The held-out folder the samples are compared with, or None (the training images)."""
        return self.against.currentData()

    def set_held_out(self, folder: Path | None) -> None:
        """Compare with ``folder`` (None: the training images), shown as the chosen item."""
        while self.against.count() > 2:  # one remembered folder at a time
            self.against.removeItem(1)
        if folder is None:
            self.against.setCurrentIndex(0)
        else:
            self.against.insertItem(1, f"held-out: {folder.name}", folder)
            self.against.setItemData(1, str(folder), Qt.ItemDataRole.ToolTipRole)
            self.against.setCurrentIndex(1)
        self._against_index = self.against.currentIndex()

    def _on_against(self, index: int) -> None:
        if index != self.against.count() - 1:  # the training images or the remembered folder
            self._against_index = index
            return
        folder = QFileDialog.getExistingDirectory(
            self, "Folder of images the model never trained on", str(self.held_out or ""))
        if folder:
            self.set_held_out(Path(folder))
        else:  # cancelled: back to what was chosen before
            self.against.setCurrentIndex(self._against_index)

    def _path(self) -> Path | None:
        """What Measure measures: the open checkpoint, or when following, the open checkpoint's
        run or the run being trained."""
        info = self.session.info
        if info is None:
            return None
        if self.follow.isChecked():
            return info.path or info.run_dir
        return info.path

    def _on_follow_toggled(self, on: bool) -> None:
        self.over_steps.setEnabled(not on)  # following measures every snapshot anyway
        if not self.running:
            self._on_model_changed(self.session.info)

    def _on_model_changed(self, _info: object) -> None:
        if self.running:
            return  # the figures being measured name their checkpoint when they arrive
        self._clear_results()  # they belong to the model that was open before
        info = self.session.info
        path = self._path()
        if info is None:
            self._set_status("Open a model to measure its quality.")
        elif path is None:
            self._set_status("The open model is a live training model without a checkpoint "
                             "file; open a checkpoint to measure its quality, or tick "
                             "\"follow new snapshots\" to measure the run's snapshots as "
                             "training writes them.")
        else:
            self._set_status(f"Ready: {path}")
        self.measure.setEnabled(path is not None)

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet("color: #c62828;" if error else "")
        self.status.setText(text)

    def start(self) -> None:
        path = self._path()
        if path is None or self.running:
            return
        self._clear_results()
        if self.follow.isChecked():
            fn = follow_job(path, self.samples.value(), str(self.session.device),
                            self.classifier_steps, self.held_out, self.followed.emit)
        else:
            fn = quality_job(path, self.samples.value(), str(self.session.device),
                             self.classifier_steps, self.over_steps.isChecked(), self.held_out)
        self.job = Job("quality", fn, self)
        self.job.progressed.connect(self._on_progressed)
        self.job.completed.connect(self._on_completed)
        self.job.failed.connect(self._on_failed)
        self.job.cancelled.connect(self._on_cancelled)
        self.job.finished.connect(self._on_job_finished)
        self.measure.setEnabled(False)
        self.follow.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.busy.setVisible(True)
        self._set_status("... starting")
        self.job.start()

    def _clear_results(self) -> None:
        self.result = None
        self.table.setRowCount(0)
        self.summary.clear()
        self.warnings.clear()
        self.warnings.hide()
        self.open_best.setVisible(False)
        self.best_marker = None
        for p in (self.fd_plot, self.acc_plot, self.pr_plot, self.hue_bars):
            p.clear()
            p.setVisible(False)
        self.table.horizontalHeaderItem(HUE_COLUMN).setToolTip(hue_tip(None))

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self._set_status("... cancelling (at the next step)")

    def wait(self, ms: int = 60000) -> bool:
        return self.job is None or self.job.wait(ms)

    def _on_progressed(self, _fraction: float | None, step: str) -> None:
        self._set_status(f"... {step}")

    def _on_failed(self, message: str) -> None:
        self._set_status(f"error: {message}", error=True)

    def _on_cancelled(self) -> None:
        self._set_status("stopped following" if self.follow.isChecked() else "cancelled")

    def _on_job_finished(self) -> None:
        if self.job is not None:
            self.job.deleteLater()
        self.job = None
        self.busy.setVisible(False)
        self.cancel_button.setEnabled(False)
        self.follow.setEnabled(True)
        self.measure.setEnabled(self._path() is not None)

    def _set_row(self, i: int, cells: tuple[str, ...], hue_note: str | None = None) -> None:
        for j, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if j == HUE_COLUMN:
                item.setToolTip(hue_note or self.table.horizontalHeaderItem(j).toolTip())
            self.table.setItem(i, j, item)

    def _on_open_best(self) -> None:
        best = (self.result or {}).get("best")
        if not best:  # while following, opening it leaves the following going
            return
        try:
            self.session.open_checkpoint(best["path"])
        except CheckpointError as e:
            self._set_status(f"error: {e}", error=True)

    def _on_followed(self, r: dict[str, Any]) -> None:
        if not self.running:
            return  # a late update of a job that has ended
        self._clear_results()
        self._show(r)
        rows = r.get("over_steps") or []
        self._set_status(f"following {r['checkpoint']}: {len(rows)} snapshot"
                         f"{'s' if len(rows) != 1 else ''} measured, waiting for the next "
                         "(Cancel stops following)")

    def _on_completed(self, r: dict[str, Any]) -> None:
        self._show(r)
        done = "stopped following" if self.follow.isChecked() else "measured"
        self._set_status(f"{done} {r['checkpoint']}")
        self.measured.emit(r)

    def _show(self, r: dict[str, Any]) -> None:
        """Fill the table, summary and plots with result ``r``."""
        self.result = r
        self.table.horizontalHeaderItem(HUE_COLUMN).setToolTip(hue_tip(r))
        lines = summary_lines(r)
        warn = [x for x in lines if x.startswith("warning: ")]
        self.summary.setText("\n".join(x for x in lines if x not in warn))
        self.warnings.setText("\n".join(warn))
        self.warnings.setVisible(bool(warn))
        models = r["models"]
        rows = [x for x in r.get("over_steps") or [] if "error" not in x]
        best = (r.get("best") or {}).get("step")
        self.table.setRowCount(len(models) + len(rows))
        for i, (name, m) in enumerate(models.items()):
            per = m.get("per_class_accuracy") or m.get("predicted_share") or []
            cells = (name, f"{m['fd']:.3f}", _pct(m.get("precision")), _pct(m.get("recall")),
                     _pct(m.get("accuracy")), _pct(m.get("coverage")),
                     _pct((m.get("memorisation") or {}).get("near_copy_share")),
                     _num(m.get("hue_distance")),
                     per_class_text(per, list(r.get("class_names") or [])))
            self._set_row(i, cells, m.get("hue_note") or r.get("hue_note"))
        for i, x in enumerate(rows, start=len(models)):  # G_ema of each snapshot
            label = f"step {x['step']}" + (" ★ best" if x["step"] == best else "")
            self._set_row(i, (label, f"{x['fd']:.3f}", _pct(x.get("precision")),
                              _pct(x.get("recall")), _pct(x.get("accuracy")),
                              _pct(x.get("coverage")), _pct(x.get("near_copy_share")),
                              _num(x.get("hue_distance")), ""))
        self.table.resizeColumnsToContents()
        shown = next(((name, m["hue_shares"]) for name, m in models.items()
                      if "hue_shares" in m), None)
        if shown is not None:
            self.hue_bars.setVisible(self.hue_bars.show_shares(shown[1], shown[0]))
        if rows:
            steps = [x["step"] for x in rows]
            self.fd_plot.plot(steps, [x["fd"] for x in rows], pen=pg.mkPen(FD_COLOUR, width=2),
                              symbol="o", symbolBrush=FD_COLOUR)
            self.fd_plot.setVisible(True)
            if all("accuracy" in x for x in rows):
                self.acc_plot.plot(steps, [100 * x["accuracy"] for x in rows],
                                   pen=pg.mkPen(ACC_COLOUR, width=2), symbol="o",
                                   symbolBrush=ACC_COLOUR)
                self.acc_plot.setVisible(True)
            if all("precision" in x for x in rows):
                for key, colour in (("precision", PRECISION_COLOUR), ("recall", RECALL_COLOUR)):
                    self.pr_plot.plot(steps, [100 * x[key] for x in rows], symbol="o",
                                      pen=pg.mkPen(colour, width=2), symbolBrush=colour)
                self.pr_plot.setVisible(True)
            marked = [x for x in rows if x["step"] == best]
            if marked:  # a star on the FD curve at the best snapshot
                self.best_marker = pg.ScatterPlotItem(
                    [best], [marked[0]["fd"]], symbol="star", size=18, brush="#2e7d32",
                    pen=None)
                self.fd_plot.addItem(self.best_marker)
                self.open_best.setVisible(True)
