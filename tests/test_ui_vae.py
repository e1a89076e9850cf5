"""The window with a VAE: the Train view's curves and reconstructions, the run form, and
projection through the encoder in the Generate view (offscreen, tiny models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QSettings

from explorer.ui.app import build_window
from explorer.ui.generate.view import GenerateView
from explorer.ui.shell.session import ModelSession
from explorer.ui.widgets.loss_plot import LossPlot, plot_kind
from trainer.config import RunConfig, apply_preset
from trainer.data.shapes import make_shapes
from trainer.loop import train

torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # pay the dynamo import at collection

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _vae_cfg(**train):
    return apply_preset(RunConfig(), "vae").with_changes(
        data={"size": 8, "n_images": 64}, model={"z_dim": 8, "width": 8},
        train={"steps": 6, "batch_size": 8, "log_every": 2, "preview_every": 3,
               "checkpoint_every": 4, "device": "cpu", **train})


@pytest.fixture
def window(qtbot, tmp_path, messages):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("paths/runs_root", str(tmp_path / "runs"))
    w = build_window(settings=settings)
    qtbot.addWidget(w)
    return w


@pytest.fixture
def vae_run(tmp_path):
    run = tmp_path / "vae"
    list(train(run, _vae_cfg()))
    return run


def _title(plot) -> str:
    return plot.titleLabel.text


def test_train_view_shows_the_vae_curves_and_reconstructions(qtbot, window):
    window.resize(1366, 768)
    window.show()  # laid out: the reconstructions must get room, not just be "visible"
    tv = window.train_view
    tv.form.set_config(_vae_cfg(steps=100_000, checkpoint_every=100_000, preview_every=4))
    assert tv.start_button.isEnabled()
    tv.start_button.click()
    qtbot.waitUntil(lambda: tv.display.plot.point_count >= 4, timeout=10000)
    plot = tv.display.plot
    assert plot.kind == "vae"
    assert "reconstruction error" in _title(plot.plots[0]) and "KL" in _title(plot.plots[1])
    assert "critic" not in _title(plot.plots[0]) and not plot.plots[2].isVisible()
    qtbot.waitUntil(lambda: "rec" in plot.readout.text() and "KL" in plot.readout.text(),
                    timeout=5000)  # redraws are spaced to the paint cost
    qtbot.waitUntil(lambda: tv.display.recon_box.isVisibleTo(tv.display)
                    and tv.display.recon_grid.image_size is not None, timeout=10000)
    assert "reconstruction" in tv.display.recon_title.text()
    assert tv.display.recon_grid.width() > 50 and tv.display.recon_grid.height() > 50
    assert "VAE" in tv.display.message.text() or "KL" in tv.display.message.text()
    tv.stop()
    qtbot.waitUntil(lambda: not tv.is_running(), timeout=10000)


def test_opening_a_vae_run_folder_shows_its_curves(window, vae_run, qtbot):
    window.resize(1366, 768)
    window.show()
    assert window.open_run_folder(vae_run)
    tv = window.train_view
    assert tv.display.plot.point_count == 6 and tv.display.plot.kind == "vae"
    qtbot.waitUntil(lambda: tv.display.recon_box.isVisibleTo(tv.display), timeout=5000)
    # laid out with room, not only "visible" (a splitter once gave it a width of 0)
    qtbot.waitUntil(lambda: tv.display.recon_grid.width() > 50, timeout=5000)
    assert window.session.info is not None and window.session.info.is_vae
    assert window.model_label.text().startswith("Exploring: vae · VAE · step 6")


def test_a_vae_run_folder_with_no_log_rows_yet_shows_vae_titles(window, vae_run, qtbot):
    window.train_view.display.plot.set_kind("gan")  # what a GAN run left on screen
    (vae_run / "log.jsonl").write_text("")  # opened the moment its training started
    assert window.open_run_folder(vae_run)
    plot = window.train_view.display.plot
    assert plot.point_count == 0 and plot.kind == "vae"
    assert "reconstruction error" in _title(plot.plots[0]) and not plot.plots[2].isVisible()


def test_loss_plot_switches_back_to_gan_curves(qtbot):
    lp = LossPlot()
    qtbot.addWidget(lp)
    lp.append([1, 2], recon=[10.0, 9.0], kl=[1.0, 2.0])
    assert lp.kind == "vae" and not lp.plots[2].isVisible()
    lp.clear()
    lp.append([1, 2], critic_loss=[1.0, 0.5], gen_loss=[0.1, 0.2], gp=[0, 0], wdist=[1, 1])
    assert lp.kind == "wgan-gp" and "critic loss" in _title(lp.plots[0])
    assert lp.plots[2].isVisible()


def test_curves_are_named_for_the_runs_loss(qtbot):
    """A hinge run (the default recipe) showed a flat 'gradient penalty' curve and called its
    score gap a 'Wasserstein estimate': each loss gets the curves it has, under their names."""
    lp = LossPlot()
    qtbot.addWidget(lp)
    lp.set_kind(plot_kind("sngan", "hinge"))
    lp.append([1, 2], critic_loss=[1.0, 0.5], gen_loss=[0.1, 0.2], gp=[0.0, 0.0],
              wdist=[1.0, 1.5], r=[0.5, 0.6], aug_p=[0.0, 0.0])
    title = _title(lp.plots[1])
    assert "score gap" in title and "gradient penalty" not in title
    assert "Wasserstein" not in title and not lp.main_items["gp"].isVisible()
    assert "gap +1.500" in lp.readout.text() and "GP" not in lp.readout.text()
    lp.set_kind(plot_kind("dcgan", "wgan-gp"))
    title = _title(lp.plots[1])
    assert "gradient penalty" in title and "Wasserstein estimate" in title
    assert lp.main_items["gp"].isVisible()
    lp.set_kind(plot_kind("dcgan", "wgan-clip"))
    title = _title(lp.plots[1])
    assert "Wasserstein estimate" in title and "gradient penalty" not in title
    assert plot_kind("vae", "hinge") == "vae"


def test_run_form_greys_out_gan_fields_for_a_vae(window):
    form = window.train_view.form
    form.preset.setCurrentIndex(form.preset.findData("vae"))
    assert form.arch.currentData() == "vae"
    assert form.edits["beta"].isEnabled() and not form.edits["n_critic"].isEnabled()
    assert not form.loss.isEnabled() and not form.edits["gp_lambda"].isEnabled()
    cfg = form.config()
    assert cfg is not None and cfg.model.arch == "vae" and cfg.train.preset == "vae"
    form.arch.setCurrentIndex(form.arch.findData("dcgan"))
    assert not form.edits["beta"].isEnabled() and form.edits["n_critic"].isEnabled()


def test_generate_projects_through_the_encoder(vae_run, qtbot, tmp_path):
    s = ModelSession()
    s.open_checkpoint(vae_run)
    v = GenerateView(s)
    qtbot.addWidget(v)
    try:
        assert v.refine_box.isVisibleTo(v)
        img = tmp_path / "shape.png"
        Image.fromarray(make_shapes(1, 8, seed=4).images[0].permute(1, 2, 0).numpy()).save(img)
        with qtbot.waitSignal(v.projector.projected, timeout=10000) as got:
            assert v.project_image(str(img))
        p = got.args[0]
        assert p.method == "encoder" and "by the encoder" in v.status.text()
        assert torch.equal(s.focus.z, p.z)
        v.refine_box.setChecked(True)
        v.projector.steps, v.projector.restarts = 5, 2
        with qtbot.waitSignal(v.projector.projected, timeout=30000) as got:
            assert v.project_image(str(img))
        assert got.args[0].method == "encoder + optimiser"
        assert np.isfinite(got.args[0].error)
    finally:
        v.projector.cancel()
        v.projector.wait()
        s.close()


def test_generate_hides_refine_for_a_gan(trained_run, qtbot):
    s = ModelSession()
    s.open_checkpoint(trained_run)
    v = GenerateView(s)
    qtbot.addWidget(v)
    try:
        assert not v.refine_box.isVisibleTo(v)
    finally:
        s.close()
