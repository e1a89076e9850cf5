import subprocess
import sys
from pathlib import Path

import pytest

from main import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--size", "8", "--n-images", "64", "--width", "4", "--z-dim", "8", "--batch-size", "8",
        "--device", "cpu"]


def test_train_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--steps", "4", *TINY]) == 0
    assert (out / "checkpoint.pt").is_file()
    assert main(["train", "--resume", str(out), "--steps", "6"]) == 0
    err = capsys.readouterr().err
    assert "completed at step 6" in err and "resuming" in err


def test_a_finished_run_with_snapshots_points_at_the_best_one(tmp_path, capsys):
    """Late steps can undo a model (a 64 px run's FD rose tenfold over its last quarter): a run
    that ends with snapshots to choose from says how to find the best; one without, nothing."""
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["train", "--out", str(one), "--steps", "2", *TINY]) == 0
    assert "--over-steps" not in capsys.readouterr().err  # a single snapshot: nothing to pick
    assert main(["train", "--out", str(two), "--steps", "4", "--checkpoint-every", "2",
                 *TINY]) == 0
    err = capsys.readouterr().err
    assert "not always the best" in err
    assert f"eval --checkpoint {two} --over-steps" in err


@pytest.mark.parametrize("args,needle", [
    (["--lr", "-1"], "lr must be"),
    (["--n-critic", "0"], "n_critic must be"),
    (["--dataset", "folder"], "path must be"),
])
def test_bad_values_one_line(tmp_path, capsys, args, needle):
    assert main(["train", "--out", str(tmp_path / "r"), *TINY, *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_bad_folders_and_checkpoints(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["train", "--out", str(tmp_path / "r1"), *TINY, "--dataset", "folder",
                 "--data-path", str(empty)]) == 1
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for i in range(3):
        (corrupt / f"{i}.png").write_bytes(b"\x89PNG not really")
    assert main(["train", "--out", str(tmp_path / "r2"), *TINY, "--dataset", "folder",
                 "--data-path", str(corrupt)]) == 1
    bad_run = tmp_path / "bad_run"
    bad_run.mkdir()
    (bad_run / "checkpoint.pt").write_bytes(b"PK\x03\x04 truncated")
    assert main(["train", "--resume", str(bad_run)]) == 1
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error")]
    assert len(lines) == 3, lines
    assert "no images" in lines[0] and "no images" in lines[1] or "corrupt" in lines[1]
    assert "not a readable checkpoint" in lines[2]


def test_help_does_not_import_qt():
    code = ("import sys, main; "
            "sys.argv=['main.py','train','--help'];\n"
            "try: main.main()\nexcept SystemExit: pass\n"
            "assert 'PySide6' not in sys.modules, 'Qt imported'")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "--resume" in r.stdout


def test_window_without_a_display_is_a_message_not_an_abort(monkeypatch, capsys):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "No display" in err and "xvfb-run python main.py" in err
