"""Retake the window screenshots in docs/ from the bundled demo (run under a display, e.g.
`xvfb-run -a -s "-screen 0 1920x1200x24" python benchmarks/docs_screenshots.py`).

Opens the window as a first launch does, focuses one sample, moves two sliders, measures quality,
and saves each tab at a small (1024x640) and a large (1366x768) size. What it saves is what a user
sees; look at the PNGs before committing them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from window_shot import ROOT, open_window, pump, pump_until, tabs_by_name

from explorer.core.demo import demo_run_folder


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs")
    p.add_argument("--focus", type=int, default=12, help="grid tile to focus")
    args = p.parse_args()
    settings_file = args.out / ".screenshots.ini"
    app, w = open_window(settings_file)
    tabs = tabs_by_name(w)
    generate = tabs["Generate"]
    w.grab().save(str(args.out / "first_launch.png"))
    generate._on_tile_clicked(args.focus)
    pump(app, 2)
    # The nearest training images: the data loads once.
    pump_until(app, lambda: "Loading" not in generate.focus_panel.nearest_note.text(), 120)
    w.grab().save(str(args.out / "generate_view.png"))

    control = tabs["Control"]
    w.tabs.setCurrentWidget(control)
    pump(app, 2)
    for i, alpha in ((0, 1.6), (3, -1.5)):
        if i < len(control.rows):
            control.rows[i].slider.setValue(round(alpha * 100))
    pump(app, 2)
    w.grab().save(str(args.out / "control_view.png"))

    w.tabs.setCurrentWidget(tabs["Morph"])
    pump(app, 3)
    w.grab().save(str(args.out / "morph_view.png"))

    quality = tabs["Quality"]
    w.tabs.setCurrentWidget(quality)
    pump(app, 1)
    quality.start()
    pump_until(app, lambda: not quality.running, 600)
    w.grab().save(str(args.out / "quality_view.png"))

    w.open_run_folder(demo_run_folder())  # the Train view with the demo's whole loss log
    pump(app, 3)
    w.tabs.setCurrentWidget(w.train_view)
    for (width, height) in ((1024, 640), (1366, 768)):
        w.resize(width, height)
        pump(app, 2)
        w.grab().save(str(args.out / f"train_view_{width}x{height}.png"))
    w.close()
    settings_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
