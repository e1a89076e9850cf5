"""``eval --held-out FOLDER`` and ``eval --classifier FILE``: measuring a run against images it
never trained on, in another run's feature space; and the faults of both options."""

import json
import shutil

import pytest
import torch
from PIL import Image

from explorer.core.quality.eval_classifier import load_classifier, save_classifier
from explorer.core.quality.evaluate import QualityError, _classifier_from_file, load_held_out
from main import main
from trainer.config import DataConfig
from trainer.data.shapes import make_shapes

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def write_folder(root, n=40, size=8, seed=5, skip=()):
    """Shapes images of another seed (none of them in a seed-0 run) as PNGs in class folders."""
    data = make_shapes(n, size, seed)
    for i, (img, label) in enumerate(zip(data.images, data.labels.tolist(), strict=True)):
        name = data.class_names[label]
        if name in skip:
            continue
        (root / name).mkdir(parents=True, exist_ok=True)
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(root / name / f"{i:03d}.png")
    return data


def test_held_out_folder_is_mapped_to_the_runs_classes_by_name(tmp_path):
    shapes = make_shapes(64, 8, 0)
    original = write_folder(tmp_path / "held")
    held = load_held_out(tmp_path / "held", DataConfig(size=8), shapes, n=40)
    # The folder lists its classes alphabetically; the labels follow the run's order.
    assert held.class_names == shapes.class_names
    by_pixels = {bytes(img.numpy()): lbl for img, lbl in zip(original.images,
                                                                original.labels.tolist(),
                                                                strict=True)}
    assert all(by_pixels[bytes(img.numpy())] == lbl
               for img, lbl in zip(held.images, held.labels.tolist(), strict=True))


def test_eval_against_a_held_out_folder(trained_run, tmp_path, capsys):
    write_folder(tmp_path / "held", skip=("ring",))  # a class may be missing from it
    out = tmp_path / "eval.json"
    assert main(["eval", "--checkpoint", str(trained_run), "--n", "16", "--classifier-steps", "3",
                 "--device", "cpu", "--held-out", str(tmp_path / "held"),
                 "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert "held-out images of" in r["real_images"] and r["n"] == 16
    assert r["fd_real_vs_real_n"] == [16, 16] and r["fd_real_vs_real"] >= 0
    m = r["models"]["G_ema"]
    assert len(m["per_class_accuracy"]) == 5 and m["per_class_accuracy"][4] is None  # no ring
    assert m["memorisation"]["median_nn_real"] > 0
    printed = capsys.readouterr().out
    assert "real images: 16 held-out images of" in printed
    assert "held-out images lie a median" in printed


def with_a_foreign_class(root):
    write_folder(root)
    (root / "cats").mkdir()
    Image.new("RGB", (8, 8)).save(root / "cats" / "a.png")


@pytest.mark.parametrize("make, expected", [
    (lambda root: None, "cannot load the held-out images"),  # no such folder
    (with_a_foreign_class, "not classes of the run: cats"),
])
def test_eval_held_out_faults_say_what_is_wrong(trained_run, tmp_path, capsys, make, expected):
    held = tmp_path / "held"
    make(held)
    out = tmp_path / "eval.json"
    assert main(["eval", "--checkpoint", str(trained_run), "--n", "8", "--classifier-steps", "3",
                 "--device", "cpu", "--held-out", str(held), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert not out.exists()


def test_flat_held_out_folder_for_a_conditional_run_is_refused(tmp_path):
    shapes = make_shapes(64, 8, 0)
    (tmp_path / "flat").mkdir()
    for i in range(4):
        Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / "flat" / f"{i}.png")
    with pytest.raises(QualityError, match="one sub-folder per class"):
        load_held_out(tmp_path / "flat", DataConfig(size=8), shapes, n=4)


def test_given_classifier_is_reordered_to_the_runs_classes(trained_run, tmp_path):
    main(["eval", "--checkpoint", str(trained_run), "--n", "8", "--classifier-steps", "3",
          "--device", "cpu", "--out", str(tmp_path / "a.json")])
    clf = load_classifier(trained_run / "eval_classifier.pt")
    shapes = make_shapes(64, 8, 0)
    x = shapes.images[:6].float() / 127.5 - 1
    _, before = clf.run(x)
    clf.class_names = clf.class_names[::-1]  # as a folder run would list them
    clf.net.head.weight.data = clf.net.head.weight.data.flip(0)
    clf.net.head.bias.data = clf.net.head.bias.data.flip(0)
    save_classifier(tmp_path / "other.pt", clf)
    given, note = _classifier_from_file(tmp_path / "other.pt", shapes)
    assert given.class_names == shapes.class_names and "given" in note
    assert torch.allclose(given.run(x)[1], before, atol=1e-6)


def test_eval_with_another_runs_classifier_and_its_faults(trained_run, tmp_path, capsys):
    out = tmp_path / "eval.json"
    base = ["eval", "--checkpoint", str(trained_run), "--n", "8", "--classifier-steps", "3",
            "--device", "cpu", "--out", str(out)]
    assert main(base) == 0
    shutil.copy(trained_run / "eval_classifier.pt", tmp_path / "clf.pt")
    assert main([*base, "--classifier", str(tmp_path / "clf.pt")]) == 0
    assert json.loads(out.read_text())["classifier"]["cache"].endswith("(given)")
    out.unlink()
    (tmp_path / "junk.pt").write_bytes(b"not a classifier")
    capsys.readouterr()
    assert main([*base, "--classifier", str(tmp_path / "junk.pt")]) == 1
    err = capsys.readouterr().err
    assert "is not an eval classifier" in err and "Traceback" not in err and not out.exists()
