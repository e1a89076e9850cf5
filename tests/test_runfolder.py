"""RunFolder owns a run folder's layout: what training writes is exactly what it names, every
reader finds the files by it, and the callers agree on what a run folder is."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from trainer.checkpoint import (
    CheckpointError,
    best_checkpoint,
    checkpoint_state,
    load_generator,
    load_raw,
    resolve_checkpoint,
)
from trainer.runfolder import RunFolder
from trainer.runlock import holder, remove_stale_temp_files


def test_training_writes_exactly_the_layout_it_names(readonly_run):
    run = RunFolder(readonly_run)
    assert run.is_run() and run.holds_run() and run.has_model()
    assert run.config.is_file() and run.checkpoint.is_file() and run.log.is_file()
    snaps = run.snapshot_files()
    assert snaps and snaps == [run.snapshot(int(p.stem.split("_")[1])) for p in snaps]
    assert run.newest_checkpoint() == run.checkpoint
    previews = run.preview_files()
    assert previews[0] == run.preview(0)
    names = {p.name for p in run.path.iterdir()}
    known = {RunFolder.CONFIG, RunFolder.CHECKPOINT, RunFolder.LOG, RunFolder.SNAPSHOTS,
             RunFolder.PREVIEWS, RunFolder.LOCK}
    assert names <= known, names - known
    assert not run.unfinished_start()


def test_run_folder_of_a_checkpoint_a_snapshot_and_a_folder(readonly_run):
    run = RunFolder(readonly_run)
    for p in (run.path, run.checkpoint, run.snapshot_files()[0]):
        assert RunFolder.of(p).path == run.path
    assert run.is_own_checkpoint(run.checkpoint)
    assert not run.is_own_checkpoint(run.snapshot_files()[0])


def test_checkpoint_is_built_and_read_beside_its_schema(readonly_run):
    """checkpoint_state (checkpoint.py) is what the loop saves: every key load_raw checks."""
    d = load_raw(RunFolder(readonly_run).checkpoint)
    assert d["kind"] == "full" and {"G", "G_ema", "D", "opt_G", "opt_D", "rng"} <= set(d)
    snap = load_raw(RunFolder(readonly_run).snapshot_files()[-1])
    assert snap["kind"] == "snapshot" and "D" not in snap
    assert checkpoint_state.__module__ == "trainer.checkpoint"


def test_a_folder_without_a_checkpoint_says_what_it_expected(tmp_path):
    with pytest.raises(CheckpointError, match="expected checkpoint.pt or snapshots/step_"):
        resolve_checkpoint(tmp_path)


def test_killed_writes_are_cleaned_for_every_file_training_writes(tmp_path):
    """A temp file that atomic_open leaves for each file of the layout (a run killed mid-write)
    is removed by the next run's lock holder; a user's own temp file is kept."""
    run = RunFolder(tmp_path / "run")
    run.snapshots.mkdir(parents=True)
    run.previews.mkdir()
    left = []
    for target in (run.config, run.checkpoint, run.log, run.snapshot(5), run.preview(5)):
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        Path(name).write_bytes(b"partial")
        left.append(Path(name))
    mine = run.path / ".notes.txt.abc.tmp"
    mine.write_text("keep me")
    removed = remove_stale_temp_files(run.path)
    assert sorted(removed) == sorted(left)
    assert mine.exists()


def test_side_files_prefer_the_side_dir_copy(tmp_path):
    run = RunFolder(tmp_path / "run", side_dir=tmp_path / "elsewhere")
    run.path.mkdir()
    (run.path / RunFolder.DIRECTIONS).write_bytes(b"shipped")
    assert run.directions == run.path / RunFolder.DIRECTIONS
    saved = run.side_save_path(RunFolder.DIRECTIONS)
    assert saved.parent.is_dir() and saved == tmp_path / "elsewhere" / RunFolder.DIRECTIONS
    saved.write_bytes(b"mine")
    assert run.directions == saved
    for name in (RunFolder.EVAL_CLASSIFIER, RunFolder.ATTRIBUTE_MODEL, RunFolder.PROJECTIONS):
        assert run.side_file(name) == run.path / name  # none saved yet: the folder's own


def test_explorer_side_files_follow_the_run_folder(readonly_run, tmp_path, monkeypatch):
    from explorer.core import demo
    from explorer.core.directions.direction import directions_path, directions_save_path
    from explorer.core.latent.projection import saved_path

    ckpt = RunFolder(readonly_run).snapshot_files()[0]
    assert directions_path(ckpt) == RunFolder(readonly_run).directions
    assert saved_path(ckpt) == RunFolder(readonly_run).projections
    monkeypatch.setattr(demo, "DEMO_DIRS", (readonly_run.resolve(),))
    monkeypatch.setattr(demo.Path, "home", lambda: tmp_path)
    assert tmp_path in directions_save_path(ckpt).parents  # the demo stays as shipped


def test_best_marker_is_where_the_run_folder_says(readonly_run, tmp_path):
    import shutil

    from explorer.core.quality.best_snapshot import mark_best

    run = RunFolder(tmp_path / "copy")
    shutil.copytree(readonly_run, run.path)
    snap = run.snapshot_files()[0]
    out = mark_best(run.path, {"step": 4, "snapshot": snap.name, "fd": 1.0}, n=16)
    assert out["marker"] == str(run.best)
    assert json.loads(run.best.read_text())["path"] == f"{RunFolder.SNAPSHOTS}/{snap.name}"
    assert best_checkpoint(run.path) == snap == resolve_checkpoint(run.path / "best")
    assert load_generator(run.path / "best").step == 4


@pytest.mark.parametrize("leftover", ["checkpoint", "snapshot", "none"])
def test_form_and_loop_agree_on_a_folder_that_holds_a_run(tmp_path, tiny_cfg, leftover):
    """The form refuses to start in exactly the folders the loop would refuse (a folder holding
    only snapshots included), instead of enabling Start for a run that then fails."""
    from explorer.ui.train.run_fields import run_dir_problem
    from trainer.events import Failed
    from trainer.loop import train

    run = RunFolder(tmp_path / "run")
    run.snapshots.mkdir(parents=True)
    if leftover == "checkpoint":
        run.checkpoint.write_bytes(b"x")
    elif leftover == "snapshot":
        run.snapshot(4).write_bytes(b"x")
    form_refuses = run_dir_problem(str(run.path)) is not None
    events = train(run.path, tiny_cfg)
    first = next(events)
    events.close()  # ends the run (and its lock) at once
    loop_refuses = isinstance(first, Failed) and "already holds a run" in first.message
    assert form_refuses == loop_refuses == (leftover != "none")


@pytest.mark.parametrize(("files", "is_run"), [
    ((), False), ((RunFolder.CHECKPOINT,), False), ((RunFolder.LOG,), True),
    ((RunFolder.CONFIG,), True)])
def test_window_and_train_view_agree_on_what_a_run_folder_is(qtbot, tmp_path, monkeypatch,
                                                             files, is_run):
    from PySide6.QtCore import QSettings

    import explorer.ui.app as app
    from explorer.ui.main_window import MainWindow

    folder = tmp_path / "f"
    folder.mkdir()
    for name in files:
        (folder / name).write_text("")
    assert RunFolder(folder).is_run() == is_run
    opened = []
    monkeypatch.setattr(MainWindow, "open_run_folder", lambda self, p: opened.append("run"))
    monkeypatch.setattr(MainWindow, "open_checkpoint", lambda self, p: opened.append("ckpt"))
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = app.build_window(str(folder), settings, open_demo=False)
    qtbot.addWidget(window)
    try:
        assert opened == ["run" if is_run else "ckpt"]  # what the window opens it as
        if not is_run:  # the Train view refuses what the window would not open as a run
            with pytest.raises(FileNotFoundError, match="is not a run folder"):
                window.train_view.open_run(folder)
        assert holder(folder) is None
    finally:
        window.close()  # joins the render threads before the window is collected
