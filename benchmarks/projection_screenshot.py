"""Screenshot of the window projecting your own image: original / reconstruction / edited.

    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python benchmarks/projection_screenshot.py \\
        --image runs/drawings/blob.png [--checkpoint resources/demo] [--slider size --amount 2.5] \\
        [--out docs/projection_window.png]

Drives the real MainWindow as a user does: opens the model, projects the image through the
slot File > Open image… calls (the Generate view's ``project_image``), waits for the job, moves
the Control view's slider ``--slider`` (a direction's name, index or attribute, as
``sample --edit`` takes) to ``--amount`` and takes the Generate view with the projection panel
showing your image as matched, its reconstruction and the edited point. HOME is pointed at a
temporary folder, so projections saved for the bundled demo do not land in ~/latent-lab.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["HOME"] = tempfile.mkdtemp(prefix="latent-lab-shot-")

from window_shot import ROOT, open_window, pump, pump_until, tabs_by_name  # noqa: E402

from explorer.core.directions.direction import find_direction  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=str(ROOT / "resources" / "demo"))
    p.add_argument("--image", required=True)
    p.add_argument("--slider", default="size")
    p.add_argument("--amount", type=float, default=2.5)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "projection_window.png")
    args = p.parse_args()
    app, w = open_window(Path(os.environ["HOME"]) / "shot.ini", args.checkpoint)
    tabs = tabs_by_name(w)
    generate, control = tabs["Generate"], tabs["Control"]
    t0 = time.monotonic()
    if not generate.project_image(args.image):
        print("error: the window refused the image", file=sys.stderr)
        return 1
    pump_until(app, lambda: not generate.projector.busy(), 600, step=0.2)
    print(f"projected in {time.monotonic() - t0:.1f} s: {generate.status.text()}")
    w.tabs.setCurrentWidget(control)
    pump(app, 2)
    d = find_direction(control.dirs.directions, args.slider)
    i = control.dirs.directions.index(d)
    control.rows[i].set_alpha(args.amount)
    print(f"slider '{d.name}' at {control.rows[i].alpha:+.2f}")
    pump(app, 2)
    w.tabs.setCurrentWidget(generate)
    pump(app, 3)
    print(f"panel: {generate.projection_panel.caption.text()}; edited rendered: "
          f"{generate.projection_panel.edited is not None}")
    w.grab().save(str(args.out))
    print(f"wrote {args.out}")
    w.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
