"""One resolver per rule: which device "auto" means, the default preset for it, whether a dataset
has classes. The CLI, the trainer and the window must agree on each."""

from __future__ import annotations

import argparse

import pytest
import torch
from PIL import Image

from trainer.config import RunConfig
from trainer.data import has_classes
from trainer.device import available_devices, default_preset_for, resolve_device


def _machine(monkeypatch, cuda: bool, mps: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


def _cli_config(argv: list[str]) -> RunConfig:
    from trainer.cli import add_arguments, config_from_args

    p = argparse.ArgumentParser()
    add_arguments(p)
    return config_from_args(p.parse_args(argv))


MACHINES = [(False, False, "cpu"), (True, False, "cuda"), (False, True, "mps"),
            (True, True, "cuda")]


@pytest.mark.parametrize(("cuda", "mps", "auto"), MACHINES)
def test_auto_device_and_default_preset_agree_everywhere(monkeypatch, qtbot, tmp_path, cuda, mps,
                                                         auto):
    _machine(monkeypatch, cuda, mps)
    assert resolve_device("auto").type == auto
    want = "reference" if auto == "cuda" else "sngan"
    assert default_preset_for("auto") == default_preset_for(auto) == want
    assert _cli_config([]).train.preset == want  # `train` without --preset
    from explorer.ui.train.run_form import RunForm

    form = RunForm(tmp_path / "runs")
    qtbot.addWidget(form)
    assert form.config().train.preset == want  # the form's first preset
    assert "default here" in form.preset_hint.text()
    assert [form.device.itemData(i) for i in range(form.device.count())] == available_devices()
    assert ("mps" in available_devices()) == mps and ("cuda" in available_devices()) == cuda


def test_the_window_renders_on_the_auto_device(monkeypatch, qtbot):
    _machine(monkeypatch, False, True)
    import explorer.ui.app as app

    seen = {}

    class Session:
        def __init__(self, device: str) -> None:
            seen["device"] = device
            raise RuntimeError("stop here")

    monkeypatch.setattr(app, "ModelSession", Session)
    with pytest.raises(RuntimeError, match="stop here"):
        app.build_window(open_demo=False)
    assert seen["device"] == resolve_device("auto").type == "mps"


def test_a_device_that_is_not_here_is_refused_with_a_message(monkeypatch):
    _machine(monkeypatch, False, False)
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        resolve_device("cuda")
    assert default_preset_for("cuda") == "reference"  # a config from a GPU machine keeps its


def _folder(root, subs: list[str]) -> None:
    for sub in subs or [""]:
        d = root / sub
        d.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), "red").save(d / "a.png")


@pytest.mark.parametrize(("dataset", "subs", "want"), [
    ("shapes", None, True), ("mnist", None, True), ("cifar10", None, True),
    ("celeba", None, False), ("folder", [], False), ("folder", ["cats"], False),
    ("folder", ["cats", "dogs"], True)])
def test_cli_and_form_agree_on_classes(qtbot, tmp_path, dataset, subs, want):
    path = ""
    if subs is not None:
        path = str(tmp_path / "data")
        _folder(tmp_path / "data", subs)
    assert has_classes(dataset, path) == want
    argv = ["--device", "cpu", "--dataset", dataset] + (["--data-path", path] if path else [])
    assert _cli_config(argv).model.conditional == want  # the CLI's default
    from explorer.ui.train.form_widgets import select
    from explorer.ui.train.run_form import RunForm

    form = RunForm(tmp_path / "runs")
    qtbot.addWidget(form)
    select(form.dataset, dataset)
    form.path_edit.setText(path)
    assert form.conditional.isEnabled() == want  # the window's
    assert form.config() is None or form.config().model.conditional == want
