import os

# Before anything imports Qt: without a screen Qt would abort with a misleading xcb message.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import torch  # noqa: E402

# Tiny test models run fastest single-threaded (and a busy 2-core CI box suffers from spin-waits).
torch.set_num_threads(1)


@pytest.fixture
def one_torch_thread():
    """One torch thread for the test, whatever another test left: tiny models gain nothing from
    a second thread, and on a shared 2-core machine two spinning OpenMP threads made the 8 px
    step 30x slower (0.7 s instead of 25 ms). Modules use it with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def messages(monkeypatch):
    """Capture QMessageBox static calls instead of blocking on a modal dialog: a list of
    (kind, title, text); every question is answered Yes."""
    from PySide6.QtWidgets import QMessageBox

    seen = []

    def fake(kind):
        def show(parent, title, text, *args, **kwargs):
            seen.append((kind, title, text))
            return QMessageBox.StandardButton.Yes
        return show

    for kind in ("warning", "information", "critical", "question", "about"):
        monkeypatch.setattr(QMessageBox, kind, fake(kind))
    return seen


def _tiny_cfg():
    from trainer.config import RunConfig

    return RunConfig().with_changes(
        data={"size": 8, "n_images": 64},
        model={"z_dim": 8, "width": 4},
        train={"steps": 6, "batch_size": 8, "n_critic": 2, "log_every": 2, "preview_every": 3,
               "checkpoint_every": 4, "device": "cpu"},
    )


@pytest.fixture
def tiny_cfg():
    """A Shapes run small enough to train a few steps in well under a second on a CPU."""
    return _tiny_cfg()


@pytest.fixture(scope="session")
def readonly_run(tmp_path_factory):
    """One tiny trained conditional run (5 classes, 8 px) shared by tests that only read it."""
    from trainer.loop import train

    run = tmp_path_factory.mktemp("shared") / "run"
    events = list(train(run, _tiny_cfg()))
    assert type(events[-1]).__name__ == "Finished", events[-1]
    return run


@pytest.fixture
def session(readonly_run, qtbot):
    """A ModelSession on ``readonly_run``; its render thread is joined at teardown."""
    from explorer.ui.shell.session import ModelSession

    s = ModelSession()
    s.open_checkpoint(readonly_run)
    yield s
    s.close()


@pytest.fixture
def trained_run(tmp_path, tiny_cfg):
    """A finished tiny run folder (checkpoint, snapshots, previews, log)."""
    from trainer.loop import train

    run = tmp_path / "run"
    events = list(train(run, tiny_cfg))
    assert type(events[-1]).__name__ == "Finished", events[-1]
    return run


def pytest_unconfigure(config):
    """Skip the interpreter's last full garbage collection: after the whole suite it walked the
    objects the tests left (Qt wrappers, tensors) for about 1.5 minutes of a CI run, after the
    results were printed. Freezing moves them out of the collector's reach; the process ends
    right after, and its exit status is pytest's as before."""
    import gc

    gc.freeze()
