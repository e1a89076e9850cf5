"""The Train view and main window, driven with qtbot on tiny configs (offscreen)."""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QSettings

from explorer.core.latent.render import Renderer
from explorer.core.training.timelapse import TimelapseError, preview_frames, write_timelapse_gif
from explorer.ui.app import build_window
from explorer.ui.train.run_watch import LogTail
from explorer.ui.train.worker import TrainThread, TrainWorker, merge_stats
from explorer.ui.widgets import loss_plot
from explorer.ui.widgets.loss_plot import LossPlot, SeriesBuffer, ema_continue
from trainer.checkpoint import ModelInfo, load_raw
from trainer.events import Finished, StepStats
from trainer.loop import train
from trainer.models import build_generator
from trainer.runfolder import RunFolder

# The first optimiser built in a process imports torch._dynamo (~3 s here): pay it at collection
# so the per-test timeouts below measure the GUI, not that import.
torch.optim.Adam([torch.zeros(1, requires_grad=True)])


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def window(qtbot, tmp_path, messages):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("paths/runs_root", str(tmp_path / "runs"))
    w = build_window(settings=settings)
    qtbot.addWidget(w)  # closed at teardown: closeEvent stops any training
    return w


def _long(cfg, **train):
    return cfg.with_changes(train={"steps": 100_000, "checkpoint_every": 100_000,
                                   "preview_every": 4, **train})


def _wait_idle(qtbot, view, timeout=5000):
    qtbot.waitUntil(lambda: view.thread is not None and view.thread.is_finished()
                    and not view.is_running(), timeout=timeout)


def test_start_pause_resume_stop_then_resume_run(qtbot, window, tiny_cfg):
    tv = window.train_view
    tv.form.set_config(_long(tiny_cfg))
    assert tv.start_button.isEnabled()
    tv.start_button.click()
    qtbot.waitUntil(lambda: tv.plot.point_count >= 4, timeout=5000)
    assert tv.grid.image_size is not None
    qtbot.waitUntil(lambda: window.session.info is not None, timeout=3000)
    assert window.session.info.path is None  # the live model from a Preview, not a file

    tv.pause_button.click()
    qtbot.waitUntil(lambda: tv._phase == "paused", timeout=3000)
    held, points = tv.step, tv.plot.point_count
    qtbot.wait(300)
    assert (tv.step, tv.plot.point_count) == (held, points)
    assert "paused" in window.state_label.text()

    tv.resume_button.click()
    qtbot.waitUntil(lambda: tv.step > held, timeout=3000)
    tv.stop_button.click()
    _wait_idle(qtbot, tv)
    stopped = load_raw(tv.run_dir / "checkpoint.pt")["step"]
    assert stopped == tv.step >= held
    assert tv.resume_button.isEnabled() and tv.start_button.isEnabled()  # fresh folder offered

    tv.form.edits["steps"].setText(str(stopped + 4))
    tv.resume_button.click()
    _wait_idle(qtbot, tv)
    assert load_raw(tv.run_dir / "checkpoint.pt")["step"] == stopped + 4
    assert tv.plot.last_step == stopped + 4
    assert "completed" in window.state_label.text()


def test_a_completed_run_points_at_the_best_snapshot(qtbot, window, tiny_cfg):
    """A run that ends with several snapshots says the last step is not always the best and
    where the best is found (late steps undid a 64 px run: docs/recipes.md)."""
    tv = window.train_view
    tv.form.set_config(tiny_cfg)  # 6 steps, a snapshot at 4 and at 6
    tv.start_button.click()
    _wait_idle(qtbot, tv)
    assert len(RunFolder(tv.run_dir).snapshot_files()) == 2
    text = tv.display.message.text()
    assert "Completed at step 6" in text and "not always the best" in text
    assert "over all snapshots" in text


def test_close_mid_run_checkpoints_and_resumes(qtbot, window, tiny_cfg):
    tv = window.train_view
    tv.form.set_config(_long(tiny_cfg))
    tv.start()
    qtbot.waitUntil(lambda: tv.step >= 2, timeout=5000)
    run = tv.run_dir
    window.close()
    assert not tv.is_running()
    step = load_raw(run / "checkpoint.pt")["step"]
    assert step >= 2
    events = list(train(run, resume=True, total_steps=step + 2))
    assert events[0].resumed and events[0].start_step == step
    assert isinstance(events[-1], Finished) and events[-1].step == step + 2


def test_worker_error_is_shown_not_raised(qtbot, window, tiny_cfg, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    tv = window.train_view
    tv.form.set_config(tiny_cfg.with_changes(data={"dataset": "folder", "path": str(empty)}))
    assert not tv.form.conditional.isEnabled()  # a folder without class sub-folders
    assert tv.start()
    _wait_idle(qtbot, tv)
    assert not tv.banner.isHidden() and "empty" in tv.banner.text()
    assert "Traceback" not in tv.banner.text() and window.state_label.text() == "Training: failed"
    assert tv.start_button.isEnabled()


def test_unwritable_run_folder_is_a_message(qtbot, window, tiny_cfg, tmp_path):
    locked = tmp_path / "locked"
    locked.write_text("a file where the run folder's parent should be")
    tv = window.train_view
    tv.form.set_config(tiny_cfg)
    tv.form.set_run_dir(locked / "run")
    assert tv.start()
    _wait_idle(qtbot, tv)
    assert not tv.banner.isHidden() and "cannot create folder" in tv.banner.text()
    assert locked.read_text().startswith("a file")  # nothing lost


def test_unexpected_exception_becomes_failed_signal(qtbot, monkeypatch, tmp_path, tiny_cfg):
    def boom(*args, **kwargs):
        raise ValueError("disk on fire")
        yield

    monkeypatch.setattr("explorer.ui.train.worker.train", boom)
    worker = TrainWorker(tmp_path / "r", tiny_cfg)
    thread = TrainThread(worker)
    failures = []
    worker.failed.connect(failures.append)
    with qtbot.waitSignal(worker.finished, timeout=3000):
        thread.start()
    qtbot.waitUntil(thread.is_finished, timeout=3000)
    assert failures and "disk on fire" in failures[0]


def test_worker_batches_stats_in_order(tmp_path, tiny_cfg, monkeypatch):
    # Emissions closer than EMIT_INTERVAL_S are merged; a long interval makes that independent
    # of how fast this machine runs the steps.
    monkeypatch.setattr("explorer.ui.train.worker.EMIT_INTERVAL_S", 60.0)
    worker = TrainWorker(tmp_path / "r", tiny_cfg.with_changes(train={"steps": 12,
                                                                      "log_every": 1}))
    got, done = [], []
    worker.step_done.connect(got.append)
    worker.finished.connect(lambda: done.append(True))
    worker.run()  # synchronously: the signals are delivered directly
    assert [s for st in got for s in st.steps] == list(range(1, 13))
    assert len(got) < 12 and done == [True]  # merged into fewer, larger emissions
    merged = merge_stats([StepStats([1], [1.0], [2.0], [0.0], [1.0], 5.0, 50.0),
                          StepStats([2], [3.0], [4.0], [0.0], [1.0], 7.0, 70.0)])
    assert merged.steps == [1, 2] and merged.gen_loss == [2.0, 4.0] and merged.steps_per_s == 7.0


def test_bad_field_shown_at_field_and_start_disabled(window):
    tv = window.train_view
    form = tv.form
    assert tv.start_button.isEnabled()
    form.edits["lr"].setText("-1")
    form.edits["batch_size"].setText("abc")
    errors = form.errors()
    assert "lr must be" in errors["lr"] and "batch_size must be an integer" in errors["batch_size"]
    field = form.fields["lr"]
    assert not field.error.isHidden() and "lr must be" in field.error.text()
    assert "lr must be" in form.edits["lr"].toolTip() and "border" in form.edits["lr"].styleSheet()
    assert not tv.start_button.isEnabled() and form.config() is None
    form.edits["lr"].setText("0.0002")
    form.edits["batch_size"].setText("32")
    assert tv.start_button.isEnabled() and field.error.isHidden()
    assert form.config().train.batch_size == 32


def test_precision_and_compile_choices_reach_the_run(qtbot, window, tiny_cfg, monkeypatch):
    from trainer import speed

    monkeypatch.setattr(speed, "native_bf16", lambda device: False)  # a CPU that emulates bf16
    tv = window.train_view
    form = tv.form
    tv.form.set_config(_long(tiny_cfg, compile="off"))
    assert form.compile.currentData() == "off" and form.precision.currentData() == "fp32"
    form.precision.setCurrentIndex(form.precision.findData("bf16"))
    assert form.config().train.precision == "bf16"
    tv.start_button.click()
    qtbot.waitUntil(lambda: "bf16" in tv.display.message.text(), timeout=5000)
    impl = "explicit gradient penalty, eager, bf16 scores, fp32 penalty"
    assert impl in tv.display.message.text()
    notes = tv.display.notes
    qtbot.waitUntil(lambda: "emulated" in notes.text(), timeout=5000)
    tv.stop_button.click()
    _wait_idle(qtbot, tv)
    # the note outlives the messages that follow it
    assert "Stopped" in tv.display.message.text() and "emulated" in notes.text()
    assert not notes.isHidden()
    saved = json.loads((tv.run_dir / "config.json").read_text())["train"]
    assert (saved["precision"], saved["compile"]) == ("bf16", "off")


def test_presets_set_the_precision_row(window):
    form = window.train_view.form
    form.preset.setCurrentIndex(form.preset.findData("sngan"))
    assert form.precision.currentData() == "auto"
    assert "bf16 where it is fast" in form.precision.currentText()
    form.preset.setCurrentIndex(form.preset.findData("cpu-fast"))
    assert form.precision.currentData() == "fp32" and form.config().train.precision == "fp32"


def test_preset_switches_to_custom_when_edited(window):
    form = window.train_view.form
    form.preset.setCurrentIndex(form.preset.findData("reference"))
    assert form.edits["z_dim"].text() == "200" and form.config().train.preset == "reference"
    form.edits["width"].setText("48")
    assert form.preset.currentData() == "custom" and form.config().train.preset == "custom"
    form.dataset.setCurrentIndex(form.dataset.findData("celeba"))
    assert not form.conditional.isEnabled() and not form.conditional.isChecked()
    assert not form.config().model.conditional
    form.dataset.setCurrentIndex(form.dataset.findData("mnist"))
    assert form.conditional.isChecked() and form.config().model.conditional


def test_open_run_folder_shows_curves_grid_and_model(window, trained_run):
    assert window.open_run_folder(trained_run)
    tv = window.train_view
    assert tv.plot.point_count == 6 and tv.plot.last_step == 6
    assert tv.grid.image_size is not None
    assert window.session.info is not None and window.session.info.step == 6
    assert tv.resume_button.isEnabled() and tv.resumable_dir() == trained_run


def test_open_bad_folder_and_checkpoint_give_messages(window, tmp_path, messages):
    assert not window.open_run_folder(tmp_path)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert not window.open_checkpoint(bad)
    assert [m[0] for m in messages] == ["warning", "warning"]


def test_following_a_growing_log_appends_points(qtbot, window, trained_run, tmp_path):
    run = tmp_path / "live"
    shutil.copytree(trained_run, run)
    log = run / "log.jsonl"
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:3]) + "\n")
    window.open_run_folder(run)
    tv = window.train_view
    assert tv.plot.point_count == 3
    with open(log, "a") as f:
        f.write(lines[3] + "\n" + lines[4] + "\n" + lines[5][:10])  # the last line half-written
    qtbot.waitUntil(lambda: tv.plot.point_count == 5, timeout=4000)  # the 1 s poll timer
    with open(log, "a") as f:
        f.write(lines[5][10:] + "\n")
    tv.watcher.poll()
    assert tv.plot.point_count == 6 and tv.plot.last_step == 6


def test_timelapse_gif_export(qtbot, window, trained_run, tmp_path, messages):
    out = tmp_path / "out" / "lapse.gif"
    with qtbot.waitSignal(window.exporter.exported, timeout=5000) as sig:
        window.export_timelapse(trained_run, out)
    assert sig.args[1] == len(preview_frames(trained_run)) == 3
    with Image.open(out) as im:
        assert im.n_frames == 3 and im.info.get("loop") == 0
    blocker = tmp_path / "file"
    blocker.write_text("")
    with qtbot.waitSignal(window.exporter.failed, timeout=5000):
        window.export_timelapse(trained_run, blocker / "x.gif")
    assert messages and "cannot write" in messages[-1][2]
    with pytest.raises(TimelapseError, match="no preview"):
        write_timelapse_gif([], tmp_path / "none.gif")


def test_build_window_with_checkpoint(qtbot, trained_run, tmp_path, messages):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    w = build_window(trained_run / "checkpoint.pt", settings)
    qtbot.addWidget(w)
    assert w.session.info.step == 6 and "step 6" in w.model_label.text()
    w2 = build_window(tmp_path / "missing.pt", settings)
    qtbot.addWidget(w2)
    assert messages and messages[-1][0] == "warning" and w2.session.info is None
    w2.add_view("Extra", type(w2.train_view.grid)())
    titles = [w2.tabs.tabText(i) for i in range(w2.tabs.count())]
    assert titles == ["Train", "Generate", "Control", "Morph", "Quality", "Extra"]
    # qtbot only holds weak references: close (joining the render threads) before the locals go.
    w.close()
    w2.close()


def test_first_launch_opens_the_demo_model(qtbot, tmp_path, messages):
    from explorer.core.demo import demo_run_folder

    if demo_run_folder() is None:
        pytest.skip("this installation ships no demo model")
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    w = build_window(None, settings)
    qtbot.addWidget(w)
    info = w.session.info
    assert info is not None and info.class_names[:2] == ("circle", "square")
    assert w.tabs.tabText(w.tabs.currentIndex()) == "Generate" and not messages
    # Opened as a run, the demo shows its curves, but it ships generator weights only: nothing
    # to resume (Start trains a new run with its settings).
    assert w.open_run_folder(demo_run_folder())
    assert w.train_view.plot.point_count > 0
    assert not w.train_view.resume_button.isEnabled() and w.train_view.start_button.isEnabled()
    w.close()


def test_file_menu_opens_each_bundled_demo(qtbot, tmp_path, messages, monkeypatch,
                                          readonly_run):
    """File > Open demo model lists every demo shipped (by data and size), skips a folder
    without its checkpoint, and opens the one picked on the Generate view."""
    from explorer.core import demo

    missing = tmp_path / "resources" / "demo64"  # not shipped in this installation
    monkeypatch.setattr(demo, "DEMO_DIRS", (missing, readonly_run.resolve()))
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    w = build_window(None, settings)
    qtbot.addWidget(w)
    assert w.session.info is not None and w.session.info.size == 8  # opened on first launch
    w.open_checkpoint(RunFolder(readonly_run).snapshot_files()[0])  # another model
    w.tabs.setCurrentWidget(w.train_view)
    assert w.demo_menu is not None
    actions = w.demo_menu.actions()
    assert [a.text() for a in actions] == ["Shapes, 8 px"]
    actions[0].trigger()
    assert w.tabs.tabText(w.tabs.currentIndex()) == "Generate"
    assert w.session.info.path == RunFolder(readonly_run).checkpoint and not messages
    assert "Shapes, 8 px" in w.statusBar().full_message()
    w.close()


def test_opened_run_says_who_trains_it(qtbot, tmp_path, trained_run, session, monkeypatch):
    """An opened run names the process training it, or says that none does; the bundled demo,
    which nothing trains, says what its curves are instead of promising they grow."""
    from explorer.core import demo
    from explorer.ui.train.view import TrainView

    view = TrainView(session, tmp_path / "runs")
    qtbot.addWidget(view)
    view.open_run(trained_run)
    assert "No process is training it now" in view.display.message.text()
    monkeypatch.setattr(demo, "DEMO_DIRS", (trained_run.resolve(),))
    view.open_run(trained_run)
    text = view.display.message.text()
    assert "A bundled demo" in text and "grow" not in text


def test_log_tail_partial_lines_and_truncation(tmp_path):
    p = tmp_path / "log.jsonl"
    row = {"step": 1, "critic_loss": 1, "gen_loss": 2, "gp": 0, "wdist": 1, "time": 5}
    p.write_text(json.dumps(row) + "\n" + '{"step": 2, "cr')
    tail = LogTail(p)
    reset, rows = tail.read_new()
    assert not reset and rows["step"].tolist() == [1.0]
    with open(p, "a") as f:
        f.write('itic_loss": 1, "gen_loss": 2, "gp": 0, "wdist": 1}\n')
    assert tail.read_new()[1]["step"].tolist() == [2.0]
    p.write_text(json.dumps(row) + "\n")  # a resumed run truncated the log
    reset, rows = tail.read_new()
    assert reset and rows["step"].tolist() == [1.0]


def test_series_buffer_grows_and_ema():
    buf = SeriesBuffer(("a",), capacity=2)
    for i in range(5):
        buf.append(a=np.array([i, i + 0.5]))
    assert len(buf) == 10 and buf.view("a")[-1] == 4.5
    smooth = ema_continue(np.array([1.0, 3.0, 3.0, 7.0]), None, 0, alpha=0.25)
    assert smooth.tolist() == pytest.approx([1, 2, 7 / 3, 7 / 3 + 0.25 * (7 - 7 / 3)])  # mean, EMA
    assert ema_continue(np.array([5.0]), 1.0, 100, alpha=0.25).tolist() == [2.0]


@pytest.mark.parametrize("arch,channels", [("dcgan", 3), ("dcgan", 1), ("mlp", 1), ("mlp", 3),
                                           ("sngan", 3)])
def test_the_live_model_is_built_from_the_runs_description(tiny_cfg, arch, channels):
    """The window renders a training run's weights from the run's own ModelInfo (the Started
    event's), grayscale models included."""
    cfg = tiny_cfg.with_changes(model={"arch": arch, "z_dim": 8, "width": 4,
                                       "conditional": True})
    state = build_generator(cfg.model, 8, channels, 5).state_dict()
    info = ModelInfo(cfg, 3, tuple("abcde"), (), channels, 8, live_run="run #1")
    r = Renderer.from_state(state, info)
    assert r.info.channels == channels and r.info.live_run == "run #1" and r.info.n_classes == 5
    assert r.render(torch.randn(2, 8), torch.eye(5)[:2]).shape[:3] == (2, 8, 8)


def test_long_curves_do_not_repaint_while_idle(qtbot, monkeypatch):
    """With pyqtgraph's x auto-range, auto downsampling made 100k-point plots re-range and
    repaint forever (75% of a core, idle). The plot now sets its own x range."""
    paints = []
    original = loss_plot._TimedPlotArea.paintEvent
    monkeypatch.setattr(loss_plot._TimedPlotArea, "paintEvent",
                        lambda self, ev: (paints.append(1), original(self, ev)))
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(700, 600)
    plot.show()
    qtbot.wait(50)  # laid out before the data arrives, as in the app
    n = 100_000
    rng = np.random.default_rng(0)
    plot.set_data({"step": np.arange(1, n + 1), "critic_loss": rng.standard_normal(n),
                   "gen_loss": rng.standard_normal(n), "gp": rng.random(n),
                   "wdist": rng.random(n)})
    # The paints the new data asks for settle (on a busy machine one paint can take longer than
    # any fixed wait, and the y auto-range may ask for one more); a repaint loop never settles.
    settled = []

    def quiet_for_half_a_second() -> bool:
        before = len(paints)
        qtbot.wait(500)
        settled.append(len(paints) == before)
        return settled[-1]

    qtbot.waitUntil(quiet_for_half_a_second, timeout=15000)
    paints.clear()
    qtbot.wait(2000)
    # The loop this guards against painted 15 times a second; a starved event loop may still
    # deliver one late paint.
    assert len(paints) <= 1
    plot.append([n + 1], critic_loss=[0.0], gen_loss=[0.0], gp=[0.0], wdist=[0.0])
    qtbot.waitUntil(lambda: len(plot.main_items["gp"].xData) == n + 1, timeout=30000)
    assert plot.plots[0].vb.viewRange()[0][1] >= n + 1  # following the newest step
    plot.plots[0].vb.sigRangeChangedManually.emit([True, False])
    assert not plot.follow_box.isChecked()


def test_loading_an_image_folder_shows_decoding_progress(qtbot, window, tiny_cfg, tmp_path):
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(6):
            px = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(px).save(tmp_path / "imgs" / c / f"{i}.png")
    tv = window.train_view
    states: list[str] = []
    tv.state_changed.connect(states.append)
    bar_formats: list[str] = []
    show = tv.display.progress.show_loading

    def spy(done: int, total: int) -> None:
        show(done, total)
        bar_formats.append(tv.display.progress.bar.text())

    tv.display.progress.show_loading = spy
    tv.form.set_config(_long(tiny_cfg).with_changes(
        data={"dataset": "folder", "path": str(tmp_path / "imgs")}))
    tv.start_button.click()
    qtbot.waitUntil(lambda: any(s.startswith("training") for s in states), timeout=10000)
    assert "loading the data · 12 / 12 images" in states  # the last report comes at the end
    assert bar_formats[-1] == "12 / 12 images decoded"
    assert tv.display.progress.bar.format() == "%v / %m steps"  # back to steps once training
    tv.stop_button.click()
    _wait_idle(qtbot, tv)


def test_recipe_presets_set_model_loss_and_the_new_rows(window):
    form = window.train_view.form
    # the default here (a CPU) is the SN-GAN recipe, and the hint says why
    assert form.config().train.preset == "sngan" and "default here" in form.preset_hint.text()
    assert form.arch.currentData() == "sngan" and form.loss.currentData() == "hinge"
    assert form.edits["class_loss"].isEnabled() and form.edits["lr_critic"].text() == "0.001"
    assert form.upsample.currentData() == "nearest" and form.upsample.isEnabled()
    form.preset.setCurrentIndex(form.preset.findData("cpu-fast"))
    cfg = form.config()
    assert (cfg.model.arch, cfg.train.loss, cfg.train.class_loss) == ("dcgan", "wgan-gp", 0.0)
    assert cfg.train.lr_critic is None and not form.edits["class_loss"].isEnabled()
    assert cfg.model.upsample == "transposed" and not form.upsample.isEnabled()
    form.loss.setCurrentIndex(form.loss.findData("hinge"))  # a choice the preset does not make
    assert form.preset.currentData() == "custom"
    form.augment.setCurrentIndex(form.augment.findData("off"))
    assert form.config().train.augment == "off"
    form.preset.setCurrentIndex(form.preset.findData("sngan"))
    form.upsample.setCurrentIndex(form.upsample.findData("transposed"))  # the form's choice
    assert form.config().model.upsample == "transposed" and form.preset.currentData() == "custom"
    form.edits["lr_critic"].setText("abc")
    assert "lr_critic" in form.errors()
