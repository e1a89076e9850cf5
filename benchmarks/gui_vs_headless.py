"""Training speed in the GUI vs headless, on the same tiny-but-real config.

    .venv/bin/python benchmarks/gui_vs_headless.py [--steps 100] [--repeats 2] [--threads N]
                                                   [--tab Generate|Train|Control|Morph|Quality]

Trains Shapes 32 px, DCGAN width 32, batch 64, WGAN-GP (n_critic 2) once headless through
``trainer.loop.train`` and once through the GUI path (MainWindow open offscreen, Start pressed:
TrainWorker in its QThread, live curves, sample grid and the live-model hand-off all running),
``--repeats`` times each, interleaved (and alternating which goes first). Measured the same way
in both, between the Started and Finished events (previews and the final checkpoint included;
data loading and imports excluded). ``--tab``: the tab in front while it trains (default
Generate, where the bundled demo model leaves the window; Train is where Start is pressed):

- steps/s over wall time: the user's figure, but on a shared machine it moves with other load;
- CPU ms per step of the thread that runs the loop (exact with ``--threads 1``): unaffected by
  other processes, so it shows whether running under the GUI makes the training itself costlier;
- CPU ms per step of the GUI thread: the most the GUI could take from training (on 2 cores it runs
  beside it; the GIL is only held while that CPU is spent);
- CPU ms per step beside training: the whole process's CPU time less the training thread's,
  between the same two events (the GUI and render threads, say; headless, the loop's helpers).

Prints JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from trainer.config import RunConfig  # noqa: E402
from trainer.events import Event, Finished, Started  # noqa: E402
from trainer.loop import train  # noqa: E402


def bench_config(steps: int) -> RunConfig:
    return RunConfig().with_changes(
        data={"dataset": "shapes", "size": 32, "n_images": 4096},
        model={"arch": "dcgan", "z_dim": 64, "width": 32},
        train={"loss": "wgan-gp", "steps": steps, "batch_size": 64, "n_critic": 2,
               "preview_every": 25, "checkpoint_every": 10_000, "device": "cpu"})


class Timed:
    """Wraps ``train``: records wall time and the calling thread's CPU time at Started and at
    Finished. It runs in whichever thread iterates it (the QThread in the GUI case), so with one
    torch thread the CPU time is exactly the training's own, whatever else loads the machine."""

    def __init__(self) -> None:
        self.marks: dict[str, tuple[float, float, int, float]] = {}

    def __call__(self, *args: object, **kwargs: object) -> Iterator[Event]:
        for ev in train(*args, **kwargs):  # type: ignore[arg-type]
            if isinstance(ev, (Started, Finished)):
                step = ev.start_step if isinstance(ev, Started) else ev.step
                key = "start" if isinstance(ev, Started) else "end"
                self.marks[key] = (time.perf_counter(), time.thread_time(), step,
                                   time.process_time())
            yield ev

    def result(self) -> dict[str, float]:
        (w0, c0, s0, p0), (w1, c1, s1, p1) = self.marks["start"], self.marks["end"]
        return {"steps_per_s": (s1 - s0) / (w1 - w0), "train_cpu_ms_per_step":
                1000 * (c1 - c0) / (s1 - s0), "steps": s1 - s0, "wall_s": w1 - w0,
                "beside_cpu_ms_per_step": 1000 * ((p1 - p0) - (c1 - c0)) / (s1 - s0)}


def headless(cfg: RunConfig, run_dir: Path) -> dict[str, float]:
    timed = Timed()
    for _ in timed(run_dir, cfg):
        pass
    return timed.result()


def gui(cfg: RunConfig, run_dir: Path, tmp: Path, tab: str | None = None) -> dict[str, float]:
    from PySide6.QtCore import QEventLoop, QSettings
    from PySide6.QtWidgets import QApplication

    import explorer.ui.train.worker as train_worker
    from explorer.ui.app import build_window

    app = QApplication.instance() or QApplication([])
    settings = QSettings(str(tmp / "bench.ini"), QSettings.Format.IniFormat)
    window = build_window(settings=settings)
    window.resize(1400, 900)
    window.show()
    view = window.train_view
    if tab is not None:
        titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
        window.tabs.setCurrentIndex(titles.index(tab))
    view.form.set_config(cfg)
    view.form.set_run_dir(run_dir)
    timed = Timed()
    train_worker.train = timed  # the worker looks ``train`` up when its thread runs
    gui_cpu0 = time.thread_time()
    if not view.start():
        raise SystemExit(f"the form refused the config: {view.form.errors()}")
    loop = QEventLoop()
    # Queued to this thread after the view's own handler (connected first): a real event loop,
    # idle between events like the app's, not a polling loop that would cost CPU itself.
    view.worker.finished.connect(loop.quit)
    loop.exec()
    while view.is_running():
        app.processEvents()
    gui_cpu = time.thread_time() - gui_cpu0
    window.close()
    train_worker.train = train
    out = timed.result()
    out["gui_thread_cpu_ms_per_step"] = 1000 * gui_cpu / out["steps"]
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--tab", default=None, help="the tab in front while training (a tab title)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = bench_config(args.steps)
    runs: dict[str, list[dict[str, float]]] = {"headless": [], "gui": []}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        list(train(tmp / "warmup", bench_config(3)))  # first-use imports and allocations
        for i in range(args.repeats):
            # Alternate which goes first, so a drift in machine load favours neither.
            order = ("headless", "gui") if i % 2 == 0 else ("gui", "headless")
            for mode in order:
                run_dir = tmp / f"{mode}-{i}"
                runs[mode].append(headless(cfg, run_dir) if mode == "headless"
                                  else gui(cfg, run_dir, tmp, args.tab))

    def med(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[mode])

    report = {
        "config": "shapes 32px, dcgan width 32, z 64, batch 64, wgan-gp n_critic 2, cpu",
        "steps": args.steps, "repeats": args.repeats, "tab": args.tab or "Generate",
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
        "headless_steps_per_s": [round(r["steps_per_s"], 3) for r in runs["headless"]],
        "gui_steps_per_s": [round(r["steps_per_s"], 3) for r in runs["gui"]],
        "headless_train_cpu_ms_per_step": round(med("headless", "train_cpu_ms_per_step"), 1),
        "gui_train_cpu_ms_per_step": round(med("gui", "train_cpu_ms_per_step"), 1),
        "gui_thread_cpu_ms_per_step": round(med("gui", "gui_thread_cpu_ms_per_step"), 2),
        "headless_beside_cpu_ms_per_step": round(med("headless", "beside_cpu_ms_per_step"), 2),
        "gui_beside_cpu_ms_per_step": round(med("gui", "beside_cpu_ms_per_step"), 2),
        "gui_over_headless_wall": round(med("gui", "steps_per_s")
                                        / med("headless", "steps_per_s"), 3),
        "gui_over_headless_cpu": round(med("headless", "train_cpu_ms_per_step")
                                       / med("gui", "train_cpu_ms_per_step"), 3),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
