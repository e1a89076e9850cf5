"""The Train view: run form, Start / Pause / Resume / Stop, live curves, live sample grid,
progress with rates and ETA, and a message line.

Training runs in a TrainThread; this view only reacts to its signals (GUI thread). It can also
show a run folder from disk and follow one a headless ``train`` process is still writing.
While training, each Preview's frozen G_ema copy is handed to the ModelSession (at most every
few seconds, and only while another tab is on screen) so the other tabs can explore the run in
progress.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QEventLoop, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QVBoxLayout,
    QWidget,
)

from explorer.core.demo import is_demo
from explorer.core.training.phase import Phase, TrainPhase
from explorer.core.training.timelapse import preview_frames
from explorer.ui.shell.session import ModelSession
from explorer.ui.train.controls import TrainControls
from explorer.ui.train.display import TrainDisplay
from explorer.ui.train.live_model import LiveModelShare
from explorer.ui.train.run_form import RunForm
from explorer.ui.train.run_watch import RunWatcher, load_grid, resumable
from explorer.ui.train.worker import TrainThread, TrainWorker
from explorer.ui.widgets.common import scroll_column
from explorer.ui.widgets.loss_plot import plot_kind
from trainer.checkpoint import CheckpointError
from trainer.config import ConfigError, RunConfig
from trainer.events import CheckpointSaved, Finished, Preview, Started, StepStats
from trainer.runfolder import BEST_SNAPSHOT_HINT, RunFolder
from trainer.runlock import holder
from trainer.runlog import read_log


class TrainView(QWidget):
    state_changed = Signal(str)  # one line for the status bar
    run_changed = Signal(object)  # Path of the run folder shown, or None

    def __init__(self, session: ModelSession, runs_root: Path | str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.run_dir: Path | None = None
        self.thread: TrainThread | None = None
        self.worker: TrainWorker | None = None
        self.step = 0
        self.total = 0
        self._started: Started | None = None
        self.phase = TrainPhase()  # the run's phase; the buttons follow it (``_sync_buttons``)

        self.form = RunForm(runs_root)
        self.form.validity_changed.connect(self._on_form_validity_changed)
        # The form scrolls (a short window still reaches the Run group) and keeps its minimum
        # width, so the curves beside it can never be drawn over it.
        self.form_scroll = scroll_column(self.form)

        self.controls = TrainControls()
        c = self.controls
        self.start_button, self.pause_button = c.start_button, c.pause_button
        self.resume_button, self.stop_button = c.resume_button, c.stop_button
        self.share_box = c.share_box
        for b, slot in ((self.start_button, self._on_start_clicked),
                        (self.pause_button, self._on_pause_clicked),
                        (self.resume_button, self._on_resume_clicked),
                        (self.stop_button, self._on_stop_clicked)):
            b.clicked.connect(slot)
        self.display = TrainDisplay()
        # Short names for what tests and the main window look at.
        d = self.display
        self.plot, self.grid, self.banner = d.plot, d.grid, d.banner

        right = QVBoxLayout()
        right.addWidget(self.controls)
        right.addWidget(self.display, 1)
        lay = QHBoxLayout(self)
        lay.addWidget(self.form_scroll)
        lay.addLayout(right, 1)

        self.watcher = RunWatcher(parent=self)
        self.watcher.points_added.connect(self._on_watch_points_added)
        self.watcher.log_reset.connect(self._on_watch_log_reset)
        self.watcher.preview_found.connect(self._on_watch_preview_found)
        self.watcher.checkpoint_changed.connect(self._on_watch_checkpoint_changed)
        # Handed over only while the Train tab is not the one on screen (or the window is not
        # shown at all); the main window flushes it when another tab is shown.
        self.live = LiveModelShare(session, wanted=lambda: not self.isVisible(), parent=self)
        self.live.failed.connect(self.display.say)
        self._sync_buttons()

    # --- public ------------------------------------------------------------------------------
    @property
    def _phase(self) -> Phase:
        return self.phase.phase

    def is_running(self) -> bool:
        """From Start until the GUI has handled the worker's last signal (``finished``)."""
        return self.phase.active

    def start(self) -> bool:
        cfg = self.form.config()
        if cfg is None or self.is_running():
            return False
        return self._launch(TrainWorker(self.form.run_dir(), cfg), "starting: loading the data…")

    def resume_run(self, run_dir: Path | None = None) -> bool:
        """Continue a stopped run (the one shown, else the form's folder) to the form's steps."""
        run_dir = run_dir or self.resumable_dir()
        if run_dir is None or self.is_running():
            return False
        # No need to guess whether another process still trains it: the run folder's lock
        # decides, and a refusal (naming that process) shows as this run's failure.
        worker = TrainWorker(run_dir, None, resume=True, total_steps=self.form.total_steps())
        return self._launch(worker, f"resuming {run_dir.name}…")

    def resumable_dir(self) -> Path | None:
        """The shown run, else the form's folder, if its checkpoint.pt can continue training
        (a snapshot-only folder, like the bundled demo, cannot)."""
        for d in (self.run_dir, self.form.run_dir()):
            if d is not None and resumable(RunFolder(d).checkpoint):
                return d
        return None

    def pause(self) -> None:
        if self.worker is not None and self._set_phase(Phase.PAUSING, "pausing after this step…"):
            self.worker.pause()

    def resume(self) -> None:
        if self._phase in (Phase.PAUSED, Phase.PAUSING) and self.worker is not None:
            self.worker.resume()
            self._set_phase(Phase.RUNNING, f"training · step {self.step}")
        elif not self.is_running():
            self.resume_run()

    def stop(self) -> None:
        if self.worker is not None and self.is_running():
            self.worker.stop()  # again while stopping is harmless
            self._set_phase(Phase.STOPPING, "stopping: writing the checkpoint…")

    def stop_and_wait(self, timeout_s: float = 60.0) -> bool:
        """Stop, let the final checkpoint be written and join the thread; never blocks longer
        than ``timeout_s``. Events keep flowing meanwhile. True if the thread has ended."""
        if not self.is_running():
            return True
        self.stop()
        deadline = time.monotonic() + timeout_s
        while self.is_running() and time.monotonic() < deadline:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            self.thread.wait(20)  # type: ignore[union-attr]
        QCoreApplication.processEvents()  # deliver the last queued signals (finished)
        return not self.is_running()

    def new_run(self) -> None:
        if self.is_running():
            return
        self.watcher.stop()
        self._show_run(None)
        self.form.new_run()
        self.display.say("New run: choose the settings and press Start.")

    def open_run(self, run_dir: Path | str) -> None:
        """Show a run folder's curves and newest grid, open its model, and follow it."""
        run_dir = Path(run_dir)
        run = RunFolder(run_dir)
        if not run.is_run():
            raise FileNotFoundError(f"{run_dir} is not a run folder (it has no {run.LOG} or "
                                    f"{run.CONFIG})")
        if self.is_running():
            raise RuntimeError("stop the training before opening another run")
        self.watcher.stop()
        self._show_run(run_dir)
        note = ""
        try:
            cfg = RunConfig.load(run.config)
            self.display.progress.begin(0, cfg.train.steps)
            # The curves' titles from the config, before any log row (a run just started)
            self.display.plot.set_kind(plot_kind(cfg.model.arch, cfg.train.loss))
            self.form.set_config(cfg)
            self.form.new_run()  # Start = a new run with these settings; Resume = this one
        except ConfigError as e:
            note = f" (its config cannot be shown: {e})"
        self.watcher.watch(run_dir)
        self.watcher.poll()  # everything so far, at once
        if run.has_model():
            self._open_in_session(run_dir)
        self._set_phase(Phase.IDLE, f"viewing {run_dir.name}")
        self.display.say(f"Opened {run_dir}{note}. {_who_writes(run_dir)}")

    # --- buttons -----------------------------------------------------------------------------
    def _on_start_clicked(self) -> None:
        self.start()

    def _on_pause_clicked(self) -> None:
        self.pause()

    def _on_resume_clicked(self) -> None:
        self.resume()

    def _on_stop_clicked(self) -> None:
        self.stop()

    def _on_form_validity_changed(self, _valid: bool) -> None:
        self._sync_buttons()

    # --- the worker's signals ------------------------------------------------------------------
    def _launch(self, worker: TrainWorker, note: str) -> bool:
        self.watcher.stop()
        self.display.hide_error()
        self.worker, self.thread = worker, TrainThread(worker)
        worker.started.connect(self._on_started)
        worker.step_done.connect(self._on_step_done)
        worker.previewed.connect(self._on_previewed)
        worker.checkpoint_saved.connect(self._on_checkpoint_saved)
        worker.noticed.connect(self._on_noticed)
        worker.loading.connect(self._on_loading)
        worker.paused.connect(self._on_paused)
        worker.resumed.connect(self._on_resumed)
        worker.completed.connect(self._on_completed)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_finished)
        self.form.setEnabled(False)
        self._set_phase(Phase.STARTING, note)
        self.display.say(note[:1].upper() + note[1:])
        self.thread.start()
        return True

    def _on_started(self, ev: Started) -> None:
        self._started = ev
        self.live.begin(ev)
        self._show_run(ev.run_dir)
        self.display.plot.set_kind(plot_kind(ev.config.model.arch, ev.config.train.loss))
        self.step, self.total = ev.start_step, ev.total_steps
        if ev.resumed:  # the history up to the checkpoint (the loop truncated what it redoes)
            log = read_log(RunFolder(ev.run_dir).log)
            keep = log["step"] <= ev.start_step
            self.display.plot.set_data({k: v[keep] for k, v in log.items()})
            frames = preview_frames(ev.run_dir)
            if frames:
                self._on_watch_preview_found(frames[-1][0], load_grid(frames[-1][1]))
        self.display.progress.begin(ev.start_step, ev.total_steps)
        self._set_phase(Phase.RUNNING, f"training · step {ev.start_step}")
        loss = ("a VAE: reconstruction + KL" if ev.model.is_vae
                else f"loss {ev.config.train.loss}")
        self.display.say(f"{'Resumed' if ev.resumed else 'Training'} {ev.run_dir} on {ev.device}: "
                         f"{ev.data_summary}; preset {ev.config.train.preset}, {loss}; "
                         f"{ev.step_impl}.")

    def _on_step_done(self, st: StepStats) -> None:
        self.display.add_points(st.steps, st)
        self.step = st.step
        self.display.progress.show_stats(st)
        if self._phase is Phase.RUNNING:
            self.state_changed.emit(f"training · step {st.step} / {self.total}")

    def _on_previewed(self, pv: Preview) -> None:
        rows = ", a row per class" if self._conditional() else ""
        self.display.show_grid(pv.step, pv.grid, f" · fixed noise{rows}", pv.critic_view,
                               pv.reconstructions)
        if self.share_box.isChecked():
            self.live.offer(pv)

    def _on_loading(self, done: int, total: int) -> None:
        self.display.progress.show_loading(done, total)
        self.state_changed.emit(f"loading the data · {done} / {total} images")

    def _on_noticed(self, message: str) -> None:
        self.display.note(f"Note: {message}")

    def _on_checkpoint_saved(self, ev: CheckpointSaved) -> None:
        self.display.say(f"Checkpoint written at step {ev.step}: {ev.path}")

    def _on_paused(self, step: int) -> None:
        self.step = step
        self._set_phase(Phase.PAUSED, f"paused at step {step}")

    def _on_resumed(self, step: int) -> None:
        self._set_phase(Phase.RUNNING, f"training · step {step}")

    def _on_completed(self, ev: Finished) -> None:
        self.step = ev.step
        if ev.reason == "completed" and self._started and ev.step <= self._started.start_step:
            self.display.say(f"Already at step {ev.step}: raise Total steps to train further.")
        else:
            hint = ""
            if ev.checkpoint and RunFolder(ev.checkpoint.parent).has_several_snapshots():
                hint = (f" {BEST_SNAPSHOT_HINT.capitalize()}: Quality ▸ \"over all snapshots\" "
                        "marks the best.")
            self.display.say(f"{ev.reason.capitalize()} at step {ev.step}; checkpoint: "
                             f"{ev.checkpoint}. Resume continues it.{hint}")
        # The run is over; its thread winds down (phase stopping until ``finished``).
        self._report_end(False, f"{ev.reason} at step {ev.step}")
        if self.share_box.isChecked() and ev.checkpoint is not None:
            self.live.cancel()  # the checkpoint holds the newest weights, with its path
            self._open_in_session(ev.checkpoint)

    def _on_failed(self, message: str) -> None:
        self.display.show_error(f"Training failed: {message}")
        self.display.say("Training failed (see the message above).")
        self._report_end(True, "failed")

    def _on_finished(self) -> None:
        if self.thread is not None:
            self.thread.wait(5000)  # run() has returned; the thread is only winding down
        # Only a run that did not report how it ended needs a status line here; otherwise the
        # line its last event set ("completed at step 12", "failed") stays.
        reported = self.phase.reported
        self.phase.end()
        self.display.progress.finish()
        self.form.setEnabled(True)
        if RunFolder(self.form.run_dir()).holds_run():
            self.form.new_run()  # Start = another new run; Resume continues this one
        self.form.revalidate()
        if not reported:
            self.state_changed.emit(f"stopped at step {self.step}")
        self._sync_buttons()

    # --- following a run folder -----------------------------------------------------------------
    def _on_watch_points_added(self, rows: dict[str, np.ndarray]) -> None:
        self.display.add_points(rows["step"], rows)
        self.step = int(rows["step"][-1])
        t, steps = rows["time"], rows["step"]
        rate = (steps[-1] - steps[0]) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else None
        self.display.progress.show_step(self.step, rate)
        self.state_changed.emit(f"viewing {self.run_dir.name if self.run_dir else ''} · "
                                f"step {self.step}")

    def _on_watch_log_reset(self, rows: dict[str, np.ndarray]) -> None:
        self.display.plot.clear()
        if len(rows["step"]):
            self._on_watch_points_added(rows)

    def _on_watch_preview_found(self, step: int, grid: np.ndarray) -> None:
        recon = None  # a VAE's real | reconstruction pairs of the same step, if written
        if self.run_dir is not None:
            path = RunFolder(self.run_dir).reconstruction(step)
            recon = load_grid(path) if path.is_file() else None
        self.display.show_grid(step, grid, reconstructions=recon)

    def _on_watch_checkpoint_changed(self, path: Path) -> None:
        if self.share_box.isChecked():
            self._open_in_session(path)

    # --- helpers -------------------------------------------------------------------------------
    def _open_in_session(self, path: Path) -> None:
        try:
            self.session.open_checkpoint(path)
        except CheckpointError as e:
            self.display.say(f"Its model could not be opened: {e}")

    def _show_run(self, run_dir: Path | None) -> None:
        self.run_dir = run_dir
        self.display.clear()
        self.run_changed.emit(run_dir)

    def _conditional(self) -> bool:
        st = self._started
        return bool(st and st.config.model.conditional and st.class_names)

    def _set_phase(self, phase: Phase, status: str) -> bool:
        """Move to ``phase`` if the phase machine allows it (then the buttons follow and the
        status line says ``status``); False, and nothing changes, if it does not."""
        if not self.phase.go(phase):
            return False
        self._sync_buttons()
        self.state_changed.emit(status)
        return True

    def _report_end(self, failed: bool, status: str) -> None:
        if self.phase.report_end(failed):
            self._sync_buttons()
            self.state_changed.emit(status)

    def _sync_buttons(self) -> None:
        self.controls.sync(self._phase, self.form.is_valid(), self.resumable_dir())


def _who_writes(run_dir: Path) -> str:
    """What the Train view says of an opened run's writer: the process training it, none (a
    bundled demo, which ships no optimiser state), or none now (followed all the same)."""
    who = holder(run_dir)
    if who:
        return f"Following it: {who} is training it."
    if is_demo(run_dir):
        return ("A bundled demo: its training curves up to the model the other tabs explore. "
                "Start trains a new run with its settings.")
    return "No process is training it now; its curves grow if a `train` process resumes it."
