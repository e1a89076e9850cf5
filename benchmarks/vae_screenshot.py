"""The Train view on a finished VAE run, for docs/vae.md (run under a display, e.g.
`xvfb-run -a -s "-screen 0 1920x1200x24" python benchmarks/vae_screenshot.py --run RUN`).

Opens the run folder as File > Open run folder does: its curves, its newest sample grid and, beside
them, its newest real | reconstruction pairs. A run trained before the loop wrote those pairs to
disk gets them written now for its checkpoint's step, by the loop's own functions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.ui.app import build_window  # noqa: E402
from trainer.checkpoint import load_raw  # noqa: E402
from trainer.config import RunConfig  # noqa: E402
from trainer.data import load_dataset  # noqa: E402
from trainer.loop import _fixed_real, _reconstructions  # noqa: E402
from trainer.runfolder import RunFolder  # noqa: E402
from trainer.vae import VAE  # noqa: E402


def pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def ensure_reconstructions(run_dir: Path) -> None:
    run = RunFolder(run_dir)
    d = load_raw(run.checkpoint)
    path = run.reconstruction(int(d["step"]))
    if path.is_file():
        return
    cfg = RunConfig.load(run.config)
    data = load_dataset(cfg.data, "cpu")
    import torch

    vae = VAE(cfg, data.size, data.channels, len(data.class_names), torch.device("cpu"))
    vae.load_state_dict(d)
    grid = _reconstructions(vae, _fixed_real(vae, data))
    Image.fromarray(grid).save(path)
    print(f"wrote {path}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, required=True)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "train_view_vae.png")
    args = p.parse_args()
    ensure_reconstructions(args.run)
    app = QApplication.instance() or QApplication(sys.argv)
    settings = QSettings(str(args.out.parent / ".screenshots.ini"), QSettings.Format.IniFormat)
    w = build_window(settings=settings)
    w.resize(1366, 768)
    w.show()
    pump(app, 2)
    w.open_run_folder(args.run)
    w.tabs.setCurrentWidget(w.train_view)
    pump(app, 3)
    w.grab().save(str(args.out))
    print(f"wrote {args.out}")
    w.close()
    pump(app, 1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
