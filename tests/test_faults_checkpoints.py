"""Damaged checkpoints and out-of-range arguments are one-line messages in every command."""

import os

import pytest
import torch

from main import main
from trainer.checkpoint import CheckpointError, load_generator, load_raw, save_checkpoint

HUGE = str(10**23)
TINY = ["--size", "8", "--n-images", "64", "--width", "4", "--z-dim", "8", "--batch-size", "8",
        "--device", "cpu", "--n-critic", "1"]


def _damaged(run, tmp_path, **changes):
    d = load_raw(run / "checkpoint.pt")
    for key in ("format", "version"):
        d.pop(key)
    d.update(changes)
    path = tmp_path / "damaged.pt"
    save_checkpoint(path, d)
    return path


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


COMMANDS = {
    "directions": lambda p, out: ["directions", "--checkpoint", str(p), "--device", "cpu",
                                  "--out", str(out / "d.pt")],
    "eval": lambda p, out: ["eval", "--checkpoint", str(p), "--device", "cpu", "--n", "4",
                            "--out", str(out / "e.json")],
    "sample": lambda p, out: ["sample", "--checkpoint", str(p), "--out", str(out / "g.png")],
    "morph": lambda p, out: ["morph", "--checkpoint", str(p), "--out", str(out / "m.gif")],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("field,value,needle", [
    ("step", "abc", "'step' should be a whole number"),
    ("step", -3, "'step' should be a whole number"),
    ("size", 10**9, "'size' should be an image size"),
    ("channels", 7, "'channels' should be 1 or 3"),
    ("class_names", "circle", "'class_names' should be a list of names"),
])
def test_damaged_fields_are_one_line_in_every_command(readonly_run, tmp_path, capsys, command,
                                                      field, value, needle):
    path = _damaged(readonly_run, tmp_path, **{field: value})
    assert main(COMMANDS[command](path, tmp_path)) in (1, 2)
    line = _one_error_line(capsys)
    assert needle in line and "damaged.pt is damaged" in line


def test_damaged_step_refuses_to_resume(readonly_run, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    _damaged(readonly_run, tmp_path, step="abc").rename(run / "checkpoint.pt")
    assert main(["train", "--resume", str(run)]) == 1
    assert "'step' should be a whole number" in _one_error_line(capsys)


def test_shape_mismatch_message_is_whole(readonly_run, tmp_path):
    d = load_raw(readonly_run / "checkpoint.pt")
    bad = {k: torch.zeros(3, 3) for k in d["G_ema"]}
    path = _damaged(readonly_run, tmp_path, G_ema=bad)
    with pytest.raises(CheckpointError) as e:
        load_generator(path)
    msg = str(e.value)
    first = next(iter(bad))
    assert f"{first} has shape [3, 3] in the file but [" in msg
    assert msg.endswith(f"in the model (and {len(bad) - 1} more mismatches)"), msg
    missing = dict(d["G_ema"])
    for k in list(missing)[:5]:
        del missing[k]
    with pytest.raises(CheckpointError) as e:
        load_generator(_damaged(readonly_run, tmp_path, G_ema=missing))
    assert "missing weights: " in str(e.value) and "and 2 more" in str(e.value)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo should never run",))


def test_legacy_format_files(tmp_path, capsys):
    evil = tmp_path / "evil.pt"
    torch.save({"format": "latent-lab-checkpoint", "x": _Evil()}, evil,
               _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="refused: it holds Python objects such as"):
        load_raw(evil)
    plain = tmp_path / "plain.pt"
    torch.save({"format": "latent-lab-checkpoint", "version": 1, "x": torch.zeros(2)}, plain,
               _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="incomplete: missing 'config'"):
        load_raw(plain)  # read fine: the legacy format itself is not the problem
    cut = tmp_path / "cut.pt"
    cut.write_bytes(plain.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_raw(cut)
    assert main(["sample", "--checkpoint", str(evil), "--out", str(tmp_path / "g.png")]) == 2
    assert "refused" in _one_error_line(capsys)


@pytest.mark.parametrize("args", [
    ["train", *TINY, "--steps", "2", "--seed", HUGE],
    ["sample", "--seed", HUGE],
    ["morph", "--a", HUGE],
    ["morph", "--b", "-1"],
    ["directions", "--seed", HUGE, "--device", "cpu"],
    ["eval", "--seed", HUGE, "--device", "cpu"],
])
def test_huge_seed_is_a_message(readonly_run, tmp_path, capsys, args):
    if args[0] == "train":
        args = [*args, "--out", str(tmp_path / "r")]
    else:
        args = [*args, "--checkpoint", str(readonly_run), "--out",
                str(tmp_path / ("o.gif" if args[0] == "morph" else "o.png"))]
    assert main(args) in (1, 2)
    line = _one_error_line(capsys)
    assert "seed" in line or "--a" in line or "--b" in line
    assert "Overflow" not in line and "9223372036854775807" in line


@pytest.mark.parametrize("flag,value,needle", [
    ("--n", "0", "n (samples for the fits) must be in [16"),
    ("--k", "0", "k must be in [1"),
    ("--attribute-steps", "0", "attribute model steps"),
    ("--measure-n", "0", "--measure-n must be"),
])
def test_directions_rejects_empty_counts(readonly_run, tmp_path, capsys, flag, value, needle):
    assert main(["directions", "--checkpoint", str(readonly_run), "--device", "cpu",
                 "--out", str(tmp_path / "d.pt"), flag, value]) == 1
    assert needle in _one_error_line(capsys)
    assert not (tmp_path / "d.pt").exists()


def test_resume_below_the_current_step_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--steps", "4", *TINY]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "2"]) == 1
    line = _one_error_line(capsys)
    assert "already at step 4" in line and "got 2" in line
    assert load_raw(run / "checkpoint.pt")["step"] == 4
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.pt", "config.json", "log.jsonl",
                                                      "previews", "snapshots", "train.lock"]
