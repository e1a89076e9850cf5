"""Faults while writing a run: a full disk, file permissions, a run that fails to start."""

import errno
import os
import stat
import tempfile
from collections import namedtuple
from pathlib import Path

import pytest

from main import main
from trainer import fileio
from trainer.checkpoint import load_raw
from trainer.events import Failed, Finished
from trainer.fileio import DiskFullError, atomic_write_text, removed_on_failure
from trainer.loop import train

TINY = ["--size", "8", "--n-images", "64", "--width", "4", "--z-dim", "8", "--batch-size", "8",
        "--device", "cpu", "--n-critic", "1"]
Usage = namedtuple("Usage", "total used free")


@pytest.fixture
def full_disk(monkeypatch):
    """Make the atomic writer hit ENOSPC (at fsync, after the temp file exists) for files whose
    name contains one of ``names``; also report 12.3 MB free through shutil.disk_usage."""
    names: list[str] = []
    doomed: set[int] = set()
    real_mkstemp, real_fsync = tempfile.mkstemp, os.fsync

    def mkstemp(*a, **kw):
        fd, path = real_mkstemp(*a, **kw)
        if any(n in Path(path).name for n in names):
            doomed.add(fd)
        return fd, path

    def fsync(fd):
        if fd in doomed:
            doomed.discard(fd)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(fileio.tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(fileio.os, "fsync", fsync)
    monkeypatch.setattr(fileio.shutil, "disk_usage", lambda p: Usage(10**9, 10**9, 12_300_000))
    return names


def test_disk_full_message_names_folder_and_free_space(tmp_path, full_disk):
    target = tmp_path / "notes.txt"
    atomic_write_text(target, "old")
    full_disk.append("notes.txt")
    with pytest.raises(DiskFullError) as e:
        atomic_write_text(target, "new")
    msg = str(e.value)
    assert e.value.errno == errno.ENOSPC
    assert "disk full" in msg and str(tmp_path) in msg and "12.3 MB free" in msg
    assert target.read_text() == "old"
    assert not list(tmp_path.glob(".*.tmp"))


def test_train_disk_full_at_a_save_keeps_the_last_checkpoint(tmp_path, capsys, full_disk):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--steps", "4", *TINY]) == 0
    full_disk.append("checkpoint.pt")
    code = main(["train", "--resume", str(run), "--steps", "8"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and "OSError" not in err
    line = next(ln for ln in err.splitlines() if ln.startswith("error:"))
    assert "disk full" in line and str(run) in line and "12.3 MB free" in line
    assert load_raw(run / "checkpoint.pt")["step"] == 4  # the previous checkpoint survives
    assert not list(run.rglob(".*.tmp"))
    full_disk.clear()  # space freed: the run resumes from its last checkpoint
    assert main(["train", "--resume", str(run), "--steps", "8"]) == 0


def test_disk_full_reaches_the_gui_as_a_failed_event(tmp_path, tiny_cfg, full_disk):
    cfg = tiny_cfg.with_changes(train={"steps": 6, "checkpoint_every": 2})
    full_disk.append("step_0000004.pt")  # the second snapshot: checkpoint.pt at 4 is written
    events = list(train(tmp_path / "run", cfg))
    assert isinstance(events[-1], Failed), events[-1]
    assert events[-1].step == 4 and "disk full" in events[-1].message
    assert "12.3 MB free" in events[-1].message
    assert load_raw(tmp_path / "run" / "snapshots" / "step_0000002.pt")["step"] == 2
    assert not (tmp_path / "run" / "snapshots" / "step_0000004.pt").exists()


def test_disk_full_at_start_is_a_message(tmp_path, capsys, full_disk):
    full_disk.append("config.json")
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--steps", "2", *TINY]) == 1
    err = capsys.readouterr().err
    assert "disk full" in err and "config.json" in err and "Traceback" not in err
    assert not run.exists()  # the failed start took its folder back


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_run_files_get_the_umask_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        assert fileio.new_file_mode() == 0o644
        atomic_write_text(tmp_path / "a.txt", "x")
        assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
        os.umask(0o002)
        assert fileio.new_file_mode() == 0o664
        atomic_write_text(tmp_path / "b.txt", "x")
        assert stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o664
    finally:
        os.umask(old)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_trained_run_is_readable_by_the_group(tmp_path, tiny_cfg):
    old = os.umask(0o022)
    try:
        events = list(train(tmp_path / "run", tiny_cfg))
    finally:
        os.umask(old)
    assert isinstance(events[-1], Finished)
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in files), \
        {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files}


def test_failed_start_removes_the_folder_it_made(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    run = tmp_path / "runs" / "new"
    assert main(["train", "--out", str(run), *TINY, "--dataset", "folder",
                 "--data-path", str(empty)]) == 1
    assert "empty" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # both folders it made are gone


def test_failed_start_leaves_a_users_folder_and_its_files(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    mine = tmp_path / "mine"
    (mine / "notes").mkdir(parents=True)
    (mine / "notes" / "keep.txt").write_text("mine")
    (mine / "todo.txt").write_text("mine")
    assert main(["train", "--out", str(mine), *TINY, "--dataset", "folder",
                 "--data-path", str(empty)]) == 1
    assert sorted(p.name for p in mine.rglob("*")) == ["keep.txt", "notes", "todo.txt"]


def test_removed_on_failure_takes_back_only_what_it_made(tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(RuntimeError), removed_on_failure(tmp_path, ["old.txt", "new.txt", "sub"]):
        (tmp_path / "old.txt").write_text("changed")
        (tmp_path / "new.txt").write_text("y")
        (tmp_path / "sub").mkdir()
        (tmp_path / "sub" / "f").write_text("z")
        (tmp_path / "theirs.txt").write_text("not named: someone else's")
        raise RuntimeError("setup failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.txt", "theirs.txt"]
    made = tmp_path / "a" / "b"
    with pytest.raises(RuntimeError), removed_on_failure(made):
        made.mkdir(parents=True)
        raise RuntimeError("setup failed")
    assert not (tmp_path / "a").exists()  # both folders it made, empty again, are gone
    with pytest.raises(RuntimeError), removed_on_failure(made):
        made.mkdir(parents=True)
        (made / "theirs.txt").write_text("x")
        raise RuntimeError("setup failed")
    assert (made / "theirs.txt").is_file()  # a folder someone filled meanwhile stays
    with removed_on_failure(tmp_path / "c"):  # success: everything stays
        (tmp_path / "c").mkdir()
    assert (tmp_path / "c").is_dir()


def test_disk_full_while_appending_the_log_is_a_failed_event(tmp_path, tiny_cfg, monkeypatch):
    """The log is appended, not written atomically: its ENOSPC names the run folder."""
    import builtins

    from trainer import loop

    monkeypatch.setattr(fileio.shutil, "disk_usage", lambda p: Usage(10**9, 10**9, 4_000))

    class FullLog:
        def __init__(self, f):
            self.f = f

        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.f, name)

    def fake_open(path, *a, **kw):
        f = builtins.open(path, *a, **kw)  # noqa: SIM115 - handed to the loop, which closes it
        return FullLog(f) if Path(path).name == "log.jsonl" else f

    monkeypatch.setattr(loop, "open", fake_open, raising=False)
    run = tmp_path / "run"
    events = list(train(run, tiny_cfg))
    assert isinstance(events[-1], Failed), events[-1]
    msg = events[-1].message
    assert msg.startswith(f"disk full (No space left on device): could not write in {run} "
                          "(4.0 KB free there)"), msg


def test_disk_full_when_resume_starts_is_a_message(tmp_path, capsys, full_disk):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--steps", "2", *TINY]) == 0
    before = sorted(p.name for p in run.rglob("*"))
    full_disk.append("log.jsonl")  # resuming rewrites the log up to the checkpoint's step
    assert main(["train", "--resume", str(run), "--steps", "4"]) == 1
    line = next(ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:"))
    assert line.startswith("error: disk full (No space left on device): could not write "
                           f"log.jsonl in {run} (12.3 MB")
    assert sorted(p.name for p in run.rglob("*")) == before  # nothing removed, nothing left
