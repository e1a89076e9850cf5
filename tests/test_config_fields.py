"""Each config field is declared once (trainer/config.py): its flag, its form row and its rule
are generated from that declaration, and a bad value names the field (ConfigError.field)."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from trainer.config import ConfigError, RunConfig, params, spec
from trainer.params import Spec

# Fields that deliberately have no `train` flag: the Shapes seed follows --seed's run, the
# read-back interval is an implementation knob, and --preset applies a whole preset.
NO_FLAG = {"data.seed", "train.log_every", "train.preset"}
# Fields the run form does not show.
NOT_IN_FORM = {"data.attributes_csv", "data.n_images", "data.seed", "train.gp_impl",
               "train.augment_target", "train.ema_decay", "train.log_every", "train.seed"}
GROUPS = {"data": "Data", "model": "Model and training", "run": "Run"}


def _good_value(s: Spec) -> object:
    """A valid value other than the default."""
    a = s.param.accepts
    if a.kind == "choice":
        return next(c for c in reversed(a.choices) if c != s.default)
    if a.kind == "bool":
        return not s.default
    if a.kind == "int":
        return int(a.lo) + 1
    if a.kind == "float":
        return 0.5 if s.default != 0.5 else 0.25
    if a.kind == "pair":
        return (0.25, 0.75)
    return "somewhere"


def _bad_value(s: Spec) -> object:
    a = s.param.accepts
    return {"choice": "nope", "bool": "yes", "int": int(a.lo or 0) - 1,
            "float": -1.0, "pair": (0.5, 2.0)}.get(a.kind)


def _argv(s: Spec, v: object) -> list[str]:
    if s.param.accepts.kind == "bool":
        return [s.flag if v else s.param.off_flag]
    if isinstance(v, tuple):
        return [s.flag, *map(str, v)]
    return [s.flag, str(v)]


def _parse(argv: list[str]) -> RunConfig:
    from trainer.cli import add_arguments, config_from_args

    p = argparse.ArgumentParser()
    add_arguments(p)
    return config_from_args(p.parse_args(["--device", "cpu", *argv]))


def test_every_field_is_declared_with_its_metadata():
    """A field added without ``param`` would get no check, no flag and no row: refuse it."""
    from trainer.config import SECTIONS

    for section, cls in SECTIONS.items():
        plain = [f.name for f in dataclasses.fields(cls) if "param" not in f.metadata]
        assert not plain, f"{section} fields without param(...): {plain}"


def test_names_are_unique_where_the_form_keys_them():
    shown = [s.name for s in params() if s.param.form]
    assert len(shown) == len(set(shown))


@pytest.mark.parametrize("s", params(), ids=lambda s: s.key)
def test_every_field_has_a_flag_that_sets_it(s: Spec):
    if s.key in NO_FLAG:
        assert s.flag is None
        return
    assert s.flag and s.param.help, f"{s.key} has no flag or no help"
    v = _good_value(s)
    extra = ["--data-path", "/tmp"] if s.key == "data.dataset" else []
    cfg = _parse([*_argv(s, v), *extra])
    assert getattr(getattr(cfg, s.section), s.name) == v


@pytest.mark.parametrize("s", [s for s in params() if _bad_value(s) is not None],
                         ids=lambda s: s.key)
def test_a_bad_value_names_its_field(s: Spec):
    with pytest.raises(ConfigError) as e:
        RunConfig.from_dict({s.section: {s.name: _bad_value(s)}})
    assert e.value.field == s.key
    assert str(e.value).startswith(f"{s.key} must be ")


def test_cross_field_rule_names_its_field():
    with pytest.raises(ConfigError) as e:
        RunConfig().with_changes(data={"dataset": "folder", "path": ""})
    assert e.value.field == "data.path"


def test_old_flag_names_and_defaults_are_kept():
    """Every flag `train` had before the fields were declared once, with its default None (only
    the flags given override a --config)."""
    from trainer.cli import add_arguments

    p = argparse.ArgumentParser()
    add_arguments(p)
    flags = {o for a in p._actions for o in a.option_strings}
    old = {"--out", "--resume", "--config", "--preset", "--dataset", "--data-path",
           "--attributes-csv", "--size", "--n-images", "--arch", "--loss", "--conditional",
           "--unconditional", "--z-dim", "--width", "--steps", "--batch-size", "--lr",
           "--lr-critic", "--class-loss", "--betas", "--n-critic", "--gp-lambda", "--clip",
           "--ema-decay", "--augment", "--augment-target", "--preview-every",
           "--checkpoint-every", "--seed", "--device", "--gp-impl", "--compile", "--precision",
           "--dry-run"}
    assert old <= flags
    args = p.parse_args([])
    assert all(getattr(args, s.dest) is None for s in params() if s.flag)


# --- the form ------------------------------------------------------------------------------------

def _rows(form) -> dict[str, set[str]]:
    """{group title: the row labels (and checkbox texts) it shows}."""
    from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QLabel

    out: dict[str, set[str]] = {}
    for box in form.findChildren(QGroupBox):
        lay: QFormLayout = box.layout()
        seen = out.setdefault(box.title(), set())
        for row in range(lay.rowCount()):
            for role in (QFormLayout.ItemRole.LabelRole, QFormLayout.ItemRole.FieldRole):
                item = lay.itemAt(row, role)
                w = item.widget() if item else None
                label = isinstance(w, QLabel) and role == QFormLayout.ItemRole.LabelRole
                if label or isinstance(w, QCheckBox):
                    seen.add(w.text())
    return out


@pytest.fixture
def form(qtbot, tmp_path):
    from explorer.ui.train.run_form import RunForm

    f = RunForm(tmp_path / "runs")
    qtbot.addWidget(f)
    f.set_config(RunConfig())
    return f


def test_every_form_field_has_its_row(form):
    from explorer.ui.train.form_widgets import select

    select(form.dataset, "folder")  # the path row's label names an image folder
    rows = _rows(form)
    for s in params():
        if s.key in NOT_IN_FORM:
            assert not s.param.form
            continue
        assert s.param.form in GROUPS, f"{s.key} has no form group"
        assert s.param.label in rows[GROUPS[s.param.form]], f"{s.key}: no row {s.param.label!r}"


def test_text_rows_carry_the_declared_tooltip(form):
    for k, e in form.edits.items():
        assert e.toolTip() == spec(f"{form_section(k)}.{k}").tip != ""


def form_section(key: str) -> str:
    from explorer.ui.train.run_fields import TEXT_FIELDS

    return TEXT_FIELDS[key][0]


@pytest.mark.parametrize("key", ["z_dim", "width", "batch_size", "lr", "lr_critic", "betas",
                                 "n_critic", "class_loss", "gp_lambda", "clip", "steps",
                                 "preview_every", "checkpoint_every"])
def test_a_bad_value_marks_its_own_row(form, key):
    bad = "0.5, 2" if key == "betas" else "-5"
    form.edits[key].setText(bad)
    assert set(form.errors()) == {key}
    field = form.fields[key]
    assert not field.error.isHidden() and f"{key} must be" in field.error.text()
    assert all(f.error.isHidden() for k, f in form.fields.items() if k != key)
    assert form.config() is None


def test_a_rule_across_fields_marks_the_path_row(form):
    from explorer.ui.train.form_widgets import select

    select(form.dataset, "folder")
    form.path_edit.setText("")
    assert "path" in form.errors() and not form.fields["path"].error.isHidden()
    assert form.general_error.isHidden()


def test_a_field_added_to_a_section_gets_a_flag_and_a_row(monkeypatch):
    """The scheme's promise: one declaration is enough for the CLI and the form."""
    from trainer import config
    from trainer.params import number, param

    @dataclasses.dataclass(frozen=True)
    class Extra(config.TrainConfig):
        new_knob: float = param(0.5, number(0, 1), form="model", label="New knob",
                                help="a knob added in one place")

    monkeypatch.setitem(config.SECTIONS, "train", Extra)
    s = spec("train.new_knob")
    assert s.flag == "--new-knob" and s.param.label == "New knob"
    from trainer.cli import config_flags

    assert "--new-knob" in [f.flag for f in config_flags()]
