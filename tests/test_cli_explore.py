"""``main.py sample`` and ``main.py morph``: the right pixels, and one-line errors."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.core.latent.latent_math import grid_z, one_hot, slerp, truncate
from explorer.core.latent.render import Renderer
from main import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One tiny trained conditional Shapes run for the whole module (training is the slow part;
    the commands only read it). Same settings as conftest's ``tiny_cfg``."""
    from trainer.config import RunConfig
    from trainer.loop import train

    cfg = RunConfig().with_changes(
        data={"size": 8, "n_images": 64}, model={"z_dim": 8, "width": 4},
        train={"steps": 6, "batch_size": 8, "n_critic": 2, "log_every": 2, "preview_every": 3,
               "checkpoint_every": 4, "device": "cpu"})
    run = tmp_path_factory.mktemp("explore") / "run"
    for _ in train(run, cfg):
        pass
    return run


def png(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def one_error_line(capsys, needle: str) -> None:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and needle in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_sample_grid_matches_renderer(trained_run, tmp_path):
    out = tmp_path / "g.png"
    assert main(["sample", "--checkpoint", str(trained_run), "--seed", "9", "--n", "6",
                 "--class", "2", "--truncation", "0.8", "--cols", "3", "--pad", "1",
                 "--out", str(out)]) == 0
    r = Renderer.from_checkpoint(trained_run)
    z = truncate(grid_z(9, 6, r.info.z_dim), 0.8)
    tiles = r.render(z, one_hot([2] * 6, r.info.n_classes))
    img = png(out)
    s = r.info.size
    assert img.shape == (2 * (s + 1) + 1, 3 * (s + 1) + 1, 3)
    np.testing.assert_array_equal(img[1 + s + 1:1 + 2 * s + 1, 1:1 + s], tiles[3])


def test_sample_class_by_name_and_per_class(trained_run, tmp_path):
    names = Renderer.from_checkpoint(trained_run).info.class_names
    by_name, by_index = tmp_path / "a.png", tmp_path / "b.png"
    base = ["sample", "--checkpoint", str(trained_run), "--n", "4"]
    assert main([*base, "--class", names[1].upper(), "--out", str(by_name)]) == 0
    assert main([*base, "--class", "1", "--out", str(by_index)]) == 0
    np.testing.assert_array_equal(png(by_name), png(by_index))
    per = tmp_path / "p.png"
    assert main([*base, "--per-class", "--scale", "2", "--pad", "0", "--out", str(per)]) == 0
    img, s = png(per), 8 * 2
    assert img.shape == (len(names) * s, 4 * s, 3)  # one row per class, 4 columns
    assert not np.array_equal(img[:s], img[s:2 * s])  # rows differ by class


@pytest.mark.parametrize("extra,needle", [
    (["--class", "9"], "class 9 is out of range; this model's classes are: 0 "),
    (["--class", "hexagon"], "unknown class 'hexagon'"),
    (["--n", "0"], "--n must be between"),
    (["--scale", "0"], "--scale must be between"),
])
def test_sample_bad_input(trained_run, tmp_path, capsys, extra, needle):
    out = tmp_path / "g.png"
    assert main(["sample", "--checkpoint", str(trained_run), *extra, "--out", str(out)]) == 2
    one_error_line(capsys, needle)
    assert not out.exists()


def test_not_a_checkpoint_and_bad_paths(trained_run, tmp_path, capsys):
    junk = tmp_path / "junk.pt"
    torch.save({"weights": torch.zeros(2)}, junk)
    assert main(["sample", "--checkpoint", str(junk), "--out", str(tmp_path / "g.png")]) == 2
    one_error_line(capsys, "not a Latent Lab checkpoint")
    assert main(["sample", "--checkpoint", str(tmp_path / "nope"),
                 "--out", str(tmp_path / "g.png")]) == 2
    one_error_line(capsys, "not found")
    assert main(["sample", "--checkpoint", str(trained_run),
                 "--out", str(tmp_path / "missing" / "g.png")]) == 2
    one_error_line(capsys, "does not exist")
    assert main(["morph", "--checkpoint", str(trained_run), "--out", str(tmp_path / "m.mp4")]) == 2
    one_error_line(capsys, "must end in .gif or .png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.pt"]


def test_morph_gif_and_strip(trained_run, tmp_path):
    gif = tmp_path / "m.gif"
    assert main(["morph", "--checkpoint", str(trained_run), "--a", "3", "--b", "4",
                 "--class-a", "0", "--class-b", "2", "--frames", "5", "--fps", "10",
                 "--ping-pong", "--scale", "3", "--out", str(gif)]) == 0
    im = Image.open(gif)
    assert im.n_frames == 8 and im.size == (24, 24) and im.info["duration"] == 100
    strip = tmp_path / "m.png"
    assert main(["morph", "--checkpoint", str(trained_run), "--a", "3", "--b", "4", "--lerp",
                 "--frames", "4", "--pad", "0", "--out", str(strip)]) == 0
    r = Renderer.from_checkpoint(trained_run)
    img = png(strip)
    assert img.shape == (8, 32, 3)
    za, zb = (grid_z(s, 1, r.info.z_dim)[0] for s in (3, 4))
    mid = r.render((za + (zb - za) / 3)[None], one_hot([0], r.info.n_classes))[0]
    np.testing.assert_array_equal(img[:, 8:16], mid)  # frame 1 of a lerp, class 0 (A's)
    assert not torch.equal(slerp(za, zb, 1 / 3), za + (zb - za) / 3)


@pytest.mark.parametrize("extra,needle", [
    (["--frames", "1"], "--frames must be between 2 and 1000"),
    (["--frames", "1001"], "--frames must be between 2 and 1000"),
    (["--fps", "0"], "--fps must be between"),
    (["--class-b", "7"], "class 7 is out of range"),
])
def test_morph_bad_input(trained_run, tmp_path, capsys, extra, needle):
    out = tmp_path / "m.gif"
    assert main(["morph", "--checkpoint", str(trained_run), *extra, "--out", str(out)]) == 2
    one_error_line(capsys, needle)
    assert not out.exists()


def test_explore_commands_do_not_import_qt():
    code = ("import sys, main\n"
            "for cmd in ('sample', 'morph'):\n"
            "    sys.argv = ['main.py', cmd, '--help']\n"
            "    try: main.main()\n"
            "    except SystemExit: pass\n"
            "assert 'PySide6' not in sys.modules and 'pyqtgraph' not in sys.modules\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "--per-class" in r.stdout and "--ping-pong" in r.stdout
