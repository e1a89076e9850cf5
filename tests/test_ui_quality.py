"""QualityView driven with qtbot: a measurement fills the table; no model, no button."""

import shutil

from explorer.ui.quality.view import QualityView
from explorer.ui.shell.session import ModelSession


def test_measure_fills_table(session, readonly_run, tmp_path, qtbot):
    run = tmp_path / "run"  # a copy: the eval classifier is cached in the run folder
    shutil.copytree(readonly_run, run)
    session.open_checkpoint(run)
    view = QualityView(session)
    qtbot.addWidget(view)
    assert view.measure.isEnabled()
    view.samples.setValue(64)
    view.classifier_steps = 30
    view.over_steps.setChecked(True)
    view.measure.click()
    assert not view.measure.isEnabled()
    qtbot.waitUntil(lambda: not view.running, timeout=60000)
    assert view.result is not None, view.status.text()
    rows = {view.table.item(i, 0).text(): i for i in range(view.table.rowCount())}
    assert "G_ema" in rows
    fd = float(view.table.item(rows["G_ema"], 1).text())
    assert fd >= 0
    assert "noise floor" in view.summary.text() and "warning" not in view.summary.text()
    # 64 samples of a 64-image run: the warnings say what the figures rest on, apart
    assert "128 feature dimensions" in view.warnings.text() and not view.warnings.isHidden()
    assert view.result["over_steps"] and view.fd_plot.isVisibleTo(view)
    assert view.measure.isEnabled()


def test_error_shown_inline(session, tmp_path, qtbot):
    view = QualityView(session)
    qtbot.addWidget(view)
    view._path = lambda: tmp_path / "missing.pt"  # noqa: SLF001
    view.measure.click()
    qtbot.waitUntil(lambda: not view.running, timeout=20000)
    assert view.result is None and view.status.text().startswith("error:")
    assert "Traceback" not in view.status.text()


def test_no_model_disables_button(qtbot):
    s = ModelSession()
    try:
        view = QualityView(s)
        qtbot.addWidget(view)
        assert not view.measure.isEnabled()
        assert "Open a model" in view.status.text()
    finally:
        s.close()


def test_measure_against_a_held_out_folder(session, readonly_run, tmp_path, qtbot, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from tests.test_eval_reference import write_folder

    run = tmp_path / "run"
    shutil.copytree(readonly_run, run)
    session.open_checkpoint(run)
    write_folder(tmp_path / "unseen")
    view = QualityView(session)
    qtbot.addWidget(view)
    chosen = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        lambda *a, **k: chosen.pop() if chosen else "")
    view.against.activated.emit(view.against.count() - 1)  # "held-out folder…", cancelled
    assert view.held_out is None and view.against.currentIndex() == 0
    chosen.append(str(tmp_path / "unseen"))
    view.against.setCurrentIndex(view.against.count() - 1)
    view.against.activated.emit(view.against.count() - 1)
    assert view.held_out == tmp_path / "unseen" and "unseen" in view.against.currentText()
    view.samples.setValue(16)
    view.classifier_steps = 3
    view.measure.click()
    qtbot.waitUntil(lambda: not view.running, timeout=60000)
    assert view.result is not None, view.status.text()
    assert "held-out images of" in view.result["real_images"]
    assert "real images: 16 held-out images" in view.summary.text()
    view.against.setCurrentIndex(0)
    view.against.activated.emit(0)
    assert view.held_out is None  # back to the training images; the folder stays listed
    assert view.against.count() == 3


def test_follow_new_snapshots_until_cancelled(session, readonly_run, tmp_path, qtbot):
    run = tmp_path / "run"
    shutil.copytree(readonly_run, run)
    snaps = sorted((run / "snapshots").glob("step_*.pt"))
    assert len(snaps) >= 2
    later = snaps[-1]
    aside = tmp_path / later.name
    later.rename(aside)  # not written yet: training will write it while the view follows
    session.open_checkpoint(run)
    view = QualityView(session)
    qtbot.addWidget(view)
    view.follow.setChecked(True)
    assert not view.over_steps.isEnabled()
    view.samples.setValue(16)
    view.classifier_steps = 3
    view.measure.click()
    assert view.running and not view.follow.isEnabled()
    qtbot.waitUntil(lambda: view.table.rowCount() == len(snaps) - 1, timeout=60000)
    assert "following" in view.status.text() and "waiting for the next" in view.status.text()
    aside.rename(later)  # the training writes its next snapshot
    qtbot.waitUntil(lambda: view.table.rowCount() == len(snaps), timeout=60000)
    assert view.fd_plot.isVisibleTo(view)
    assert any("★ best" in view.table.item(i, 0).text() for i in range(view.table.rowCount()))
    view.cancel()
    qtbot.waitUntil(lambda: not view.running, timeout=60000)
    assert "stopped following" in view.status.text()
    assert view.table.rowCount() == len(snaps)  # the figures stay
    assert view.measure.isEnabled() and view.follow.isEnabled()
    assert (run / "best.json").exists()


def test_follow_measures_a_run_being_trained(session, readonly_run, qtbot, monkeypatch):
    """A live model has no checkpoint file: Measure needs "follow", which takes its run."""
    from dataclasses import replace

    live = replace(session.info, path=None, live_run=f"{readonly_run} #1", run_dir=readonly_run)
    monkeypatch.setattr(session, "info", live)
    view = QualityView(session)
    qtbot.addWidget(view)
    assert not view.measure.isEnabled() and "follow new snapshots" in view.status.text()
    view.follow.setChecked(True)
    assert view.measure.isEnabled() and str(readonly_run) in view.status.text()
    view.follow.setChecked(False)
    assert not view.measure.isEnabled()
