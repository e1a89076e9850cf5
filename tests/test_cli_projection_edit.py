"""Your image, projected, then edited with a slider from the command line: ``sample --edit`` and
``sample --sweep`` move a latent (a saved projection or seeded samples) along the run's
directions exactly as the Control view's slider does, and every mistake is one line."""

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.core.directions.direction import (
    Direction,
    DirectionsError,
    find_direction,
    save_directions,
)
from explorer.core.latent.latent_math import grid_z, one_hot
from explorer.core.latent.projection import load_latent
from explorer.core.latent.render import Renderer
from main import main


@pytest.fixture(scope="module")
def run_with_dirs(tmp_path_factory):
    """A tiny trained conditional run with two saved directions (names as the finders write
    them: one with a "⊥" suffix, one SeFa)."""
    from trainer.config import RunConfig
    from trainer.loop import train

    cfg = RunConfig().with_changes(
        data={"size": 8, "n_images": 64}, model={"z_dim": 8, "width": 4},
        train={"steps": 4, "batch_size": 8, "n_critic": 1, "log_every": 2, "preview_every": 4,
               "checkpoint_every": 4, "device": "cpu"})
    run = tmp_path_factory.mktemp("edit") / "run"
    for _ in train(run, cfg):
        pass
    g = torch.Generator().manual_seed(3)
    save_directions(run / "directions.pt", [
        Direction("size ⊥ 2 others", torch.randn(8, generator=g), "conditional", (-2.0, 2.0),
                  "size"),
        Direction("sefa 0: hue", torch.randn(8, generator=g), "sefa", (-3.0, 3.0), "hue"),
    ])
    return run


def png(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def one_error_line(capsys, needle: str) -> None:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and needle in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def drawing(path, size=(20, 14)) -> None:
    """Not a Shapes render: a filled polygon on a gradient, with an alpha channel."""
    a = np.zeros((size[1], size[0], 4), np.uint8)
    a[..., 0] = np.linspace(40, 200, size[0], dtype=np.uint8)[None]
    a[..., 3] = 255
    a[3:10, 5:14, :3] = (250, 200, 30)
    a[0:2, :, 3] = 0
    Image.fromarray(a, "RGBA").save(path)


def test_find_direction_by_name_index_prefix_and_attribute(run_with_dirs):
    from explorer.core.directions.direction import load_directions

    dirs = load_directions(run_with_dirs / "directions.pt")
    assert find_direction(dirs, "SIZE ⊥ 2 others").name == "size ⊥ 2 others"
    assert find_direction(dirs, "1").name == "sefa 0: hue"
    assert find_direction(dirs, "size").name == "size ⊥ 2 others"  # prefix, no "⊥" to type
    assert find_direction(dirs, "hue").name == "sefa 0: hue"  # by the attribute it moves
    assert find_direction(dirs, "sefa").name == "sefa 0: hue"
    with pytest.raises(DirectionsError, match="no direction 'tilt'.*0 'size ⊥ 2 others'"):
        find_direction(dirs, "tilt")
    with pytest.raises(DirectionsError, match="index 5 is out of range"):
        find_direction(dirs, "5")


def test_projected_drawing_edited_with_a_slider(run_with_dirs, tmp_path, capsys):
    """project -> recon.pt -> sample --latent --edit renders G(z + a·d, y) of that latent,
    the pixels the Control view shows for that slider value."""
    img = tmp_path / "drawing.png"
    drawing(img)
    rec = tmp_path / "recon.png"
    assert main(["project", "--checkpoint", str(run_with_dirs), "--image", str(img),
                 "--restarts", "2", "--steps", "3", "--out", str(rec)]) == 0
    r = Renderer.from_checkpoint(run_with_dirs)
    z, y = load_latent(rec.with_suffix(".pt"), r.info.z_dim, r.info.n_classes)
    out = tmp_path / "big.png"
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(run_with_dirs), "--latent",
                 str(rec.with_suffix(".pt")), "--edit", "size=1.5", "--edit", "hue=-1",
                 "--pad", "0",
                 "--out", str(out)]) == 0
    assert "size ⊥ 2 others +1.50, sefa 0: hue -1.00" in capsys.readouterr().err
    from explorer.core.directions.direction import load_directions
    d = load_directions(run_with_dirs / "directions.pt")
    want = r.render((z + 1.5 * d[0].vector - d[1].vector)[None], y[None])[0]
    np.testing.assert_array_equal(png(out), want)
    plain = tmp_path / "plain.png"
    assert main(["sample", "--checkpoint", str(run_with_dirs), "--latent",
                 str(rec.with_suffix(".pt")), "--out", str(plain)]) == 0
    assert not np.array_equal(png(plain), png(out))


def test_sweep_row_spans_the_slider_range(run_with_dirs, tmp_path):
    out = tmp_path / "sweep.png"
    assert main(["sample", "--checkpoint", str(run_with_dirs), "--seed", "4", "--class", "1",
                 "--sweep", "size", "--n", "5", "--pad", "0", "--out", str(out)]) == 0
    r = Renderer.from_checkpoint(run_with_dirs)
    from explorer.core.directions.direction import load_directions
    d = load_directions(run_with_dirs / "directions.pt")[0]
    a = torch.linspace(-2.0, 2.0, 5)
    z = grid_z(4, 1, r.info.z_dim) + a[:, None] * d.vector
    tiles = r.render(z, one_hot([1] * 5, r.info.n_classes))
    img, s = png(out), r.info.size
    assert img.shape == (s, 5 * s, 3)
    for i in range(5):
        np.testing.assert_array_equal(img[:, i * s:(i + 1) * s], tiles[i])


@pytest.mark.parametrize("extra,needle", [
    (["--edit", "size"], "--edit takes NAME=AMOUNT"),
    (["--edit", "size=big"], "--edit takes NAME=AMOUNT"),
    (["--edit", "=2"], "--edit takes NAME=AMOUNT"),
    (["--edit", "size=nan"], "--edit takes NAME=AMOUNT"),
    (["--edit", "tilt=1"], "no direction 'tilt': choose by name, index or attribute among 0 "),
    (["--sweep", "9"], "direction index 9 is out of range"),
    (["--sweep", "size", "--per-class"], "--sweep renders one row"),
])
def test_edit_mistakes_are_one_line(run_with_dirs, tmp_path, capsys, extra, needle):
    out = tmp_path / "g.png"
    assert main(["sample", "--checkpoint", str(run_with_dirs), *extra, "--out", str(out)]) == 2
    one_error_line(capsys, needle)
    assert not out.exists()


def test_edit_without_directions_says_how_to_make_them(run_with_dirs, tmp_path, capsys):
    import shutil

    bare = tmp_path / "bare"
    shutil.copytree(run_with_dirs, bare)
    (bare / "directions.pt").unlink()
    out = tmp_path / "g.png"
    assert main(["sample", "--checkpoint", str(bare), "--edit", "size=1",
                 "--out", str(out)]) == 2
    one_error_line(capsys, f"compute them with `python main.py directions --checkpoint {bare}`")
    assert not out.exists()
    # --directions points at another file
    assert main(["sample", "--checkpoint", str(bare), "--edit", "size=1", "--directions",
                 str(run_with_dirs / "directions.pt"), "--out", str(out)]) == 0
    assert out.exists()


def test_project_target_writes_what_was_matched(run_with_dirs, tmp_path, capsys):
    """A 20x14 drawing with transparent rows: --target shows the square, filled, resized
    pixels the projection matched (its centre crop on the model's background), not the file."""
    from explorer.core.latent.projection import load_image, mean_background
    from trainer.checkpoint import load_generator

    img = tmp_path / "drawing.png"
    drawing(img)
    rec, tgt = tmp_path / "recon.png", tmp_path / "matched.png"
    assert main(["project", "--checkpoint", str(run_with_dirs), "--image", str(img),
                 "--restarts", "1", "--steps", "1", "--scale", "2", "--out", str(rec),
                 "--target", str(tgt)]) == 0
    err = capsys.readouterr().err
    assert f"(what was matched: {tgt})" in err and "centre-cropped to 14x14" in err
    m = load_generator(run_with_dirs)
    want = load_image(img, m.size, m.channels, mean_background(m)).pixels
    got = png(tgt)
    assert got.shape == (2 * m.size, 2 * m.size, 3)
    np.testing.assert_array_equal(got[::2, ::2], want)
    # the same file as --out is refused before anything is written
    out2 = tmp_path / "other.png"
    assert main(["project", "--checkpoint", str(run_with_dirs), "--image", str(img),
                 "--out", str(out2), "--target", str(out2)]) == 2
    one_error_line(capsys, "--target must differ from --out")
    assert not out2.exists() and not out2.with_suffix(".pt").exists()
