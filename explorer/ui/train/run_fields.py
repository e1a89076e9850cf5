"""The run form's fields as plain data: parsing, per-field checks and the RunConfig they build.

Qt-free (the form in run_form.py only shows the results), so the rules are testable without a
window. Each field is checked on its own against the config dataclasses, so every bad field is
marked at once instead of only the first; then the whole config is built for the rules that span
fields (an image folder needs a path, ...).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from trainer.config import (
    PRESETS,
    ConfigError,
    DataConfig,
    ModelConfig,
    RunConfig,
    Spec,
    TrainConfig,
    params,
)
from trainer.runfolder import RunFolder

# The form's rows come from the config fields' declarations (trainer/config.py): each field with
# a form group is a row with its label and tooltip; the text fields are generated in declaration
# order within their group, the choices are placed by run_form.py with these names.
FORM_FIELDS: dict[str, Spec] = {s.name: s for s in params() if s.param.form}
_TEXT_KINDS = {"int": "int", "float": "float", "pair": "pair"}
# Text fields: key -> (config section, label, kind). The key is the config field's name.
TEXT_FIELDS: dict[str, tuple[str, str, str]] = {
    k: (s.section, s.param.label,
        _TEXT_KINDS[s.param.accepts.kind] + ("?" if s.param.accepts.optional else ""))
    for k, s in FORM_FIELDS.items() if s.param.accepts.kind in _TEXT_KINDS}
TOOLTIPS = {k: s.tip for k, s in FORM_FIELDS.items() if s.tip}


def choice_names(key: str) -> dict[str, str]:
    """{value: shown text} of a choice field of the form, in its declared order."""
    acc, names = FORM_FIELDS[key].param.accepts, FORM_FIELDS[key].param.names or {}
    return {c: names.get(c, str(c)) for c in acc.choices}


def text_rows(group: str) -> list[str]:
    """The text fields of a form group ("model", "run"), in order."""
    return [k for k in TEXT_FIELDS if FORM_FIELDS[k].param.form == group]


DATASETS = tuple((label, key) for key, label in choice_names("dataset").items())
# The text fields a preset sets (a preset stays selected while they hold its values).
PRESET_KEYS = tuple(k for k in TEXT_FIELDS
                    if any(k in p.get(TEXT_FIELDS[k][0], {}) for p in PRESETS.values()))
# cpu-fast: measured from an earlier demo's log, 1.9-2.5 steps/s at 32 px. sngan: the 2-minute
# runs of `bench --time-to-quality` on both cores (91-95%, docs/recipes.md "Both cores, bf16").
PRESET_HINTS = {"cpu-fast": "CPU recipe: about 2 steps/s on 2 cores at 32 px, so its 3000 steps "
                "take about 25 min; colour blobs by step 1000, shapes later",
                "reference": "WGAN-GP paper recipe, for a GPU",
                "sngan": "spectral norm, hinge, projection critic, one critic step, nearest "
                "upsampling, lr 1e-3 decaying: 90% class accuracy on Shapes in about 2 min on 2 "
                "CPU cores",
                "vae": "variational autoencoder: the DCGAN generator as decoder, an encoder "
                "for instant projection, reconstruction + KL loss",
                "custom": "your own values"}
_DEFAULTS = {"data": DataConfig(), "model": ModelConfig(), "train": TrainConfig()}


def parse_field(key: str, text: str) -> object:
    """Parse one text field; ConfigError (naming the field) if it is not the right kind."""
    section, _, kind = TEXT_FIELDS[key]
    t = text.strip()
    if kind == "float?" and not t:
        return None
    try:
        if kind == "int":
            return int(t)
        if kind in ("float", "float?"):
            return float(t)
        a, b = t.replace(",", " ").split()
        return (float(a), float(b))
    except ValueError:
        what = {"int": "an integer", "float": "a number", "float?": "a number, or empty",
                "pair": "two numbers, e.g. 0.5, 0.9"}
        raise ConfigError(f"{key} must be {what[kind]} (got {t!r})",
                          field=f"{section}.{key}") from None


def format_value(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, tuple):
        return ", ".join(format_value(x) for x in v)
    return f"{v:g}" if isinstance(v, float) else str(v)


def matches_preset(name: str, texts: dict[str, str],
                   choices: dict[str, object] | None = None) -> bool:
    """Do the preset-controlled fields (text, and the ``choices`` given) hold exactly the values
    of preset ``name``?"""
    p = PRESETS.get(name)
    if p is None:
        return False
    want = {**p.get("model", {}), **p.get("train", {})}
    if any(k in want and want[k] != v for k, v in (choices or {}).items()):
        return False
    for k in PRESET_KEYS:
        try:
            if k in want and parse_field(k, texts[k]) != want[k]:
                return False
        except ConfigError:
            return False
    return True


def build_config(base: RunConfig, texts: dict[str, str],
                 choices: dict[str, object]) -> tuple[RunConfig | None, dict[str, str]]:
    """The RunConfig the fields describe and {field key: message} for every bad field.

    ``texts``: the text fields by key; ``choices``: dataset, size, path, arch, conditional, loss,
    device, preset (and optionally precision, compile, augment, upsample). Fields the form does
    not show are kept from ``base``.
    """
    errors: dict[str, str] = {}
    values: dict[str, dict[str, object]] = {"data": {}, "model": {}, "train": {}}
    for k, (section, _, _) in TEXT_FIELDS.items():
        try:
            v = parse_field(k, texts[k])
            dataclasses.replace(_DEFAULTS[section], **{k: v})  # this field alone
            values[section][k] = v
        except ConfigError as e:
            errors[k] = str(e)
    dataset = choices["dataset"]
    path = str(choices.get("path", "")).strip() if dataset != "shapes" else ""
    values["data"].update(dataset=dataset, size=choices["size"], path=path)
    values["model"].update(arch=choices["arch"], conditional=bool(choices["conditional"]))
    values["train"].update(loss=choices["loss"], device=choices["device"],
                           preset=choices["preset"])
    for k in ("precision", "compile", "augment"):  # optional: a caller without these keeps base's
        if k in choices:
            values["train"][k] = choices[k]
    if "upsample" in choices:
        values["model"]["upsample"] = choices["upsample"]
    if dataset == "folder" and path and not Path(path).expanduser().is_dir():
        errors["path"] = f"{path} is not an existing folder"
    if errors:
        return None, errors
    try:
        return base.with_changes(**values), {}
    except ConfigError as e:
        key = (e.field or "").rpartition(".")[2]
        return None, {key if key in (*TEXT_FIELDS, "path") else "config": str(e)}


def run_dir_problem(text: str) -> str | None:
    if not text.strip():
        return "choose a folder for the run"
    if RunFolder(Path(text.strip()).expanduser()).holds_run():  # the loop's own rule
        return "this folder holds a run already: Resume it, or choose another"
    return None
