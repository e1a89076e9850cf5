"""The Quality tab's hue distance: its column with the real-vs-real floor in the tooltip, and
the hue strip of real against generated shares (hidden when there is no colour to compare)."""

import shutil

from explorer.core.quality import colour
from explorer.ui.quality.view import COLUMNS, HUE_COLUMN, QualityView


def _cell(view: QualityView, row: str, column: str) -> str:
    rows = {view.table.item(i, 0).text(): i for i in range(view.table.rowCount())}
    return view.table.item(rows[row], COLUMNS.index(column)).text()


def test_measure_shows_the_hue_column_floor_and_strip(session, readonly_run, tmp_path, qtbot,
                                                      monkeypatch):
    # The tiny run's 6-step generator draws near-greys (mean chroma ~0.006): let them count.
    monkeypatch.setattr(colour, "MIN_MEAN_CHROMA", 0.001)
    run = tmp_path / "run"  # a copy: the eval classifier is cached in the run folder
    shutil.copytree(readonly_run, run)
    session.open_checkpoint(run)
    view = QualityView(session)
    qtbot.addWidget(view)
    view.samples.setValue(64)
    view.classifier_steps = 30
    view.over_steps.setChecked(True)
    view.measure.click()
    qtbot.waitUntil(lambda: not view.running, timeout=60000)
    assert view.result is not None, view.status.text()
    assert view.table.horizontalHeaderItem(HUE_COLUMN).text() == "hue dist."
    hue = view.result["models"]["G_ema"]["hue_distance"]
    assert 0 <= hue <= 1 and _cell(view, "G_ema", "hue dist.") == f"{hue:.3f}"
    floor = view.result["hue_distance_real_vs_real"]
    tip = view.table.horizontalHeaderItem(HUE_COLUMN).toolTip()
    assert "0 = the same, 1 = no colour in common" in tip and f"reads {floor:.3f}" in tip
    assert "hue distance real vs real" in view.summary.text()
    snap = next(x for x in view.result["over_steps"] if "error" not in x)
    assert _cell(view, f"step {snap['step']}", "hue dist.") == f"{snap['hue_distance']:.3f}"
    assert view.hue_bars.isVisibleTo(view) and view.hue_bars.generated_bars is not None
    view._clear_results()  # noqa: SLF001 - a new model: the strip goes with its figures
    assert not view.hue_bars.isVisibleTo(view) and "reads" not in (
        view.table.horizontalHeaderItem(HUE_COLUMN).toolTip())


def test_grey_samples_show_a_dash_with_the_reason_and_no_strip(session, qtbot):
    view = QualityView(session)
    qtbot.addWidget(view)
    note = "no hue distance: the generated images have (almost) no colour (mean chroma under 0.01)"
    r = {"checkpoint": "c.pt", "step": 4, "n": 16, "conditional": False, "class_names": [],
         "classifier": {"kind": "classes", "cache": "", "held_out": {"metric": None}},
         "fd_real_vs_real": 1.0, "hue_distance_real_vs_real": 0.1, "warnings": [],
         "models": {"G_ema": {"fd": 2.0, "hue_distance": None, "hue_note": note,
                              "hue_shares": {"real": [1 / 12] * 12, "generated": None}}}}
    view._on_completed(r)  # noqa: SLF001
    assert _cell(view, "G_ema", "hue dist.") == "-"
    rows = {view.table.item(i, 0).text(): i for i in range(view.table.rowCount())}
    assert view.table.item(rows["G_ema"], HUE_COLUMN).toolTip() == note
    assert not view.hue_bars.isVisibleTo(view)
