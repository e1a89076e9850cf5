"""The Quality tab shows precision, recall and near-copies; it marks and opens the best."""

import shutil

from explorer.ui.quality.view import COLUMNS, QualityView


def test_quality_tab_marks_and_opens_the_best_snapshot(session, readonly_run, tmp_path, qtbot):
    run = tmp_path / "run"  # a copy: eval writes eval_classifier.pt and best.json into it
    shutil.copytree(readonly_run, run)
    session.open_checkpoint(run)
    view = QualityView(session)
    qtbot.addWidget(view)
    view.samples.setValue(16)
    view.classifier_steps = 3
    view.over_steps.setChecked(True)
    view.measure.click()
    qtbot.waitUntil(lambda: not view.running, timeout=60000)
    r = view.result
    assert r is not None, view.status.text()
    col = {name: j for j, name in enumerate(COLUMNS)}
    rows = {view.table.item(i, 0).text(): i for i in range(view.table.rowCount())}
    for name in ("precision", "recall", "near-copies"):
        assert view.table.item(rows["G_ema"], col[name]).text().endswith("%")
    best = r["best"]["step"]
    assert f"step {best} ★ best" in rows and (run / "best.json").is_file()
    assert view.best_marker is not None and view.pr_plot.isVisibleTo(view)
    assert "precision / recall real vs real" in view.summary.text()
    assert "best snapshot: step" in view.summary.text()
    assert view.open_best.isVisibleTo(view)
    view.open_best.click()
    assert session.info.path.name == f"step_{best:07d}.pt"
