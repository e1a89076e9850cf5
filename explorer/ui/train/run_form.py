"""The run set-up form: every field of a training run, validated as the user types.

The rules live in run_fields.py (Qt-free); this widget shows them: a bad value gets a red border,
the ConfigError message right under the field and as its tooltip, and ``validity_changed(False)``
so the view disables Start.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.train.form_widgets import Field, combo, select
from explorer.ui.train.run_fields import (
    DATASETS,
    FORM_FIELDS,
    PRESET_HINTS,
    TEXT_FIELDS,
    TOOLTIPS,
    build_config,
    choice_names,
    format_value,
    matches_preset,
    run_dir_problem,
    text_rows,
)
from explorer.ui.widgets.common import MUTED, compact_combo
from trainer.config import (
    DEFAULT_PRESET_WHY,
    NOT_GANS,
    PRESETS,
    RunConfig,
    apply_preset,
)
from trainer.data import has_classes
from trainer.device import available_devices, default_preset_for, device_type


def label(key: str) -> str:
    """The row label a config field declares (trainer/config.py)."""
    return FORM_FIELDS[key].param.label


class RunForm(QWidget):
    validity_changed = Signal(bool)
    changed = Signal()

    def __init__(self, runs_root: Path | str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs_root = Path(runs_root)
        self._base = RunConfig()
        self._errors: dict[str, str] = {}
        self._valid = False
        self._cfg: RunConfig | None = None
        self._labelled = True  # the dataset has classes (conditional is possible)
        self._wants_conditional = True
        self._filling = False  # set while the form itself writes fields (presets, set_config)
        self._run_dir_auto = True

        self.dataset = QComboBox()
        for shown, key in DATASETS:
            self.dataset.addItem(shown, key)
        self.path_edit = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_data_clicked)
        self.path_label = QLabel(label("path"))
        self.image_size = QComboBox()
        for s in choice_names("size"):
            self.image_size.addItem(f"{s} px", s)
        self.arch = combo(choice_names("arch"))
        self.loss = combo(choice_names("loss"))
        self.conditional = QCheckBox(label("conditional"))
        self.preset = combo({**{p: p for p in PRESETS}, "custom": "custom"})
        self.preset_hint = QLabel()
        self.preset_hint.setStyleSheet(MUTED)
        self.preset_hint.setWordWrap(True)
        self.device = combo({d: d for d in available_devices()})
        self.precision = combo(choice_names("precision"))
        self.compile = combo(choice_names("compile"))
        self.augment = combo(choice_names("augment"))
        self.upsample = combo(choice_names("upsample"))
        self.upsample.setToolTip(TOOLTIPS["upsample"])
        self.augment.setToolTip(TOOLTIPS["augment"])
        self.compile.setToolTip(TOOLTIPS["compile"])
        self.edits = {k: QLineEdit() for k in TEXT_FIELDS}
        for k, e in self.edits.items():
            e.setWhatsThis(TOOLTIPS.get(k, ""))
            e.setToolTip(TOOLTIPS.get(k, ""))
        self.run_dir_edit = QLineEdit()
        run_browse = QPushButton("Browse…")
        run_browse.clicked.connect(self._on_browse_run_clicked)

        self.fields: dict[str, Field] = {k: Field(e) for k, e in self.edits.items()}
        self.fields["path"] = Field(self.path_edit, browse)
        self.fields["run_dir"] = Field(self.run_dir_edit, run_browse)
        self.general_error = QLabel()
        self.general_error.setStyleSheet("color: #e5484d;")
        self.general_error.setWordWrap(True)
        self.general_error.hide()

        data = self._data_form = QFormLayout()
        data.addRow(label("dataset"), self.dataset)
        data.addRow(self.path_label, self.fields["path"])
        data.addRow(label("size"), self.image_size)
        model = QFormLayout()
        model.addRow(label("arch"), self.arch)
        model.addRow(label("loss"), self.loss)
        model.addRow("", self.conditional)
        model.addRow(label("upsample"), self.upsample)
        model.addRow(label("preset"), self.preset)
        model.addRow("", self.preset_hint)
        for k in text_rows("model"):
            model.addRow(TEXT_FIELDS[k][1], self.fields[k])
        model.addRow(label("augment"), self.augment)
        run = QFormLayout()
        for k in text_rows("run"):
            run.addRow(TEXT_FIELDS[k][1], self.fields[k])
        run.addRow(label("device"), self.device)
        run.addRow(label("precision"), self.precision)
        run.addRow(label("compile"), self.compile)
        run.addRow("Run folder", self.fields["run_dir"])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for title, form in (("Data", data), ("Model and training", model), ("Run", run)):
            box = QGroupBox(title)
            box.setLayout(form)
            lay.addWidget(box)
        lay.addWidget(self.general_error)
        lay.addStretch(1)
        for box in self.findChildren(QComboBox):  # long item texts must not widen the form
            compact_combo(box)

        self.set_config(apply_preset(RunConfig(), default_preset_for("auto")))
        for w in (self.dataset, self.image_size, self.arch, self.loss, self.device,
                  self.precision, self.compile, self.augment, self.upsample):
            w.currentIndexChanged.connect(self._on_field_changed)
        self.preset.currentIndexChanged.connect(self._on_preset_changed)
        self.conditional.toggled.connect(self._on_field_changed)
        for e in (*self.edits.values(), self.path_edit, self.run_dir_edit):
            e.textChanged.connect(self._on_field_changed)
        self.run_dir_edit.textEdited.connect(self._on_run_dir_edited)

    # --- public ------------------------------------------------------------------------------
    def set_config(self, cfg: RunConfig) -> None:
        """Show ``cfg`` in the fields; fields the form has no editor for are kept from it."""
        self._base = cfg
        self._filling = True
        try:
            select(self.dataset, cfg.data.dataset)
            self.path_edit.setText(cfg.data.path)
            select(self.image_size, cfg.data.size)
            select(self.arch, cfg.model.arch)
            select(self.loss, cfg.train.loss)
            self.conditional.setChecked(cfg.model.conditional)
            if cfg.model.conditional or has_classes(cfg.data.dataset, cfg.data.path):
                self._wants_conditional = cfg.model.conditional
            select(self.device, cfg.train.device)
            select(self.precision, cfg.train.precision)
            select(self.compile, cfg.train.compile)
            select(self.augment, cfg.train.augment)
            select(self.upsample, cfg.model.upsample)
            select(self.preset, cfg.train.preset if cfg.train.preset in PRESETS else "custom")
            for k, (section, _, _) in TEXT_FIELDS.items():
                self.edits[k].setText(format_value(getattr(getattr(cfg, section), k)))
            if self._run_dir_auto:
                self.run_dir_edit.setText(str(self.fresh_run_dir()))
        finally:
            self._filling = False
        self._on_field_changed()

    def config(self) -> RunConfig | None:
        """The RunConfig the fields describe, or None while a field is invalid."""
        return self._cfg if self._valid else None

    def errors(self) -> dict[str, str]:
        return dict(self._errors)

    def is_valid(self) -> bool:
        return self._valid

    def run_dir(self) -> Path:
        return Path(self.run_dir_edit.text().strip()).expanduser()

    def set_run_dir(self, path: Path | str) -> None:
        self._run_dir_auto = False
        self.run_dir_edit.setText(str(path))

    def new_run(self) -> None:
        """A fresh auto-named run folder (File > New run)."""
        self._run_dir_auto = True
        self.run_dir_edit.setText(str(self.fresh_run_dir()))

    def total_steps(self) -> int | None:
        try:
            return int(self.edits["steps"].text().strip())
        except ValueError:
            return None

    def fresh_run_dir(self) -> Path:
        stem = f"{self.dataset.currentData()}-{self.image_size.currentData()}"
        path, n = self.runs_root / stem, 2
        while path.exists():
            path, n = self.runs_root / f"{stem}-{n}", n + 1
        return path

    # --- validation ----------------------------------------------------------------------------
    def _on_field_changed(self, *_: object) -> None:
        if self._filling:
            return
        self._sync_enabled()
        if self._run_dir_auto and self.sender() in (self.dataset, self.image_size):
            self._filling = True
            self.run_dir_edit.setText(str(self.fresh_run_dir()))
            self._filling = False
        if self.preset.currentData() != "custom" and not matches_preset(
                self.preset.currentData(), {k: e.text() for k, e in self.edits.items()},
                {"arch": self.arch.currentData(), "loss": self.loss.currentData(),
                 "upsample": self.upsample.currentData()}):
            self._filling = True
            select(self.preset, "custom")
            self._filling = False
        self._update_preset_hint()
        self._validate()
        self.changed.emit()

    def revalidate(self) -> None:
        """Check again (e.g. after a run wrote a checkpoint into the chosen run folder)."""
        self._validate()

    def _validate(self) -> None:
        texts = {k: e.text() for k, e in self.edits.items()}
        choices = {"dataset": self.dataset.currentData(), "size": self.image_size.currentData(),
                   "path": self.path_edit.text(), "arch": self.arch.currentData(),
                   "conditional": self._labelled and self.conditional.isChecked(),
                   "loss": self.loss.currentData(), "device": self.device.currentData(),
                   "preset": self.preset.currentData(),
                   "precision": self.precision.currentData(),
                   "compile": self.compile.currentData(),
                   "augment": self.augment.currentData(),
                   "upsample": self.upsample.currentData()}
        self._cfg, errors = build_config(self._base, texts, choices)
        problem = run_dir_problem(self.run_dir_edit.text())
        if problem:
            errors["run_dir"] = problem
        for k, f in self.fields.items():
            f.set_error(errors.get(k))
        general = errors.get("config", "")
        self.general_error.setText(general)
        self.general_error.setVisible(bool(general))
        self._errors = errors
        valid = not errors
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)

    # --- helpers -----------------------------------------------------------------------------
    def _sync_enabled(self) -> None:
        dataset = self.dataset.currentData()
        self._data_form.setRowVisible(self.fields["path"], dataset != "shapes")
        self.path_label.setText("Image folder" if dataset == "folder" else "Download cache")
        self.path_edit.setPlaceholderText("" if dataset == "folder"
                                          else "default: ~/.cache/latent-lab/datasets")
        labelled = has_classes(dataset, self.path_edit.text())
        if labelled != self._labelled:
            # Show an impossible choice as off, and give the user's choice back afterwards.
            self._filling = True
            if not labelled:
                self._wants_conditional = self.conditional.isChecked()
            self.conditional.setChecked(labelled and self._wants_conditional)
            self._filling = False
        self._labelled = labelled
        self.conditional.setEnabled(labelled)
        self.conditional.setToolTip("" if labelled else "this dataset has no classes (an image "
                                    "folder needs one sub-folder per class)")
        loss, arch = self.loss.currentData(), self.arch.currentData()
        gan = arch not in NOT_GANS
        self.loss.setEnabled(gan)
        for key in ("lr_critic", "n_critic"):
            self.edits[key].setEnabled(gan)
        self.augment.setEnabled(gan)
        self.edits["gp_lambda"].setEnabled(gan and loss == "wgan-gp")
        self.edits["clip"].setEnabled(gan and loss == "wgan-clip")
        for key in ("class_loss", "mbstd"):  # the SN-GAN critic's
            self.edits[key].setEnabled(arch == "sngan")
        self.upsample.setEnabled(arch == "sngan")  # the SN-GAN generator's
        self.edits["beta"].setEnabled(not gan)

    def _on_preset_changed(self) -> None:
        name = self.preset.currentData()
        if self._filling or name not in PRESETS:
            self._update_preset_hint()
            self._validate()
            return
        self._filling = True
        try:
            for section in ("model", "train"):
                for k, v in PRESETS[name][section].items():
                    if k in self.edits:
                        self.edits[k].setText(format_value(v))
            select(self.arch, PRESETS[name]["model"]["arch"])
            select(self.upsample, PRESETS[name]["model"]["upsample"])
            if "loss" in PRESETS[name]["train"]:  # the VAE's preset has no GAN loss
                select(self.loss, PRESETS[name]["train"]["loss"])
            select(self.precision, PRESETS[name]["train"]["precision"])
        finally:
            self._filling = False
        self._on_field_changed()

    def _update_preset_hint(self) -> None:
        name = self.preset.currentData()
        dev = device_type("auto")
        default = (f" (default here: {DEFAULT_PRESET_WHY.get(dev, DEFAULT_PRESET_WHY['cpu'])})"
                   if name == default_preset_for(dev) else "")
        self.preset_hint.setText(f"in use: {name}: {PRESET_HINTS[name]}{default}")

    def _on_run_dir_edited(self, _text: str) -> None:
        self._run_dir_auto = False

    def _on_browse_data_clicked(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose the image folder",
                                                self.path_edit.text() or str(Path.home()))
        if path:
            self.path_edit.setText(path)

    def _on_browse_run_clicked(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose the run folder",
                                                str(self.runs_root))
        if path:
            self.set_run_dir(path)
