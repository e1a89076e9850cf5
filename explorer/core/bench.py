"""Speed benchmark (``python main.py bench``): training throughput and rendering latency.

Per named config it times three training loops on the same models, data and device:

* ``ours_autograd``: ``GAN.train_step`` with the autograd (double backward) gradient penalty;
* ``ours_explicit``: ``GAN.train_step`` with the explicit penalty of ``trainer.fastgp``;
* ``reference``: the course notebook's WGAN-GP step as written (bench_reference.py);

then the renderer: generator latency for 1 and 64 images, slider-to-image latency and the time to
export a 60-frame morph GIF. Warm-up is excluded and timings are synchronised with the device.
Qt-free; the CLI (explorer/cli/bench.py) prints the table and writes the JSON.
"""

from __future__ import annotations

import contextlib
import copy
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer.core.bench_reference import NotebookStep
from explorer.core.export import save_gif
from explorer.core.latent import interpolate_frames
from explorer.core.render import Renderer
from trainer import fastgp, losses
from trainer.checkpoint import LoadedModel
from trainer.config import PRESETS, RunConfig, TrainConfig
from trainer.data.shapes import make_shapes
from trainer.gan import GAN

# name -> (image size, preset). 128px is the reference model of DESIGN.md §2.
CONFIGS: dict[str, tuple[int, str]] = {"32px": (32, "cpu-fast"), "64px": (64, "reference"),
                                       "128px": (128, "reference")}
# Default batch on a CPU: the preset's batch would take minutes per step on a laptop at 128px.
CPU_BATCH = {"32px": 32, "64px": 8, "128px": 4}
LOOPS = ("ours_autograd", "ours_explicit", "reference")


def bench_config(name: str, device: torch.device, batch: int | None = None,
                 size: int | None = None, width: int | None = None) -> RunConfig:
    """The RunConfig of a named benchmark config; overrides shrink it (tests, small devices)."""
    default_size, preset = CONFIGS[name]
    p = PRESETS[preset]
    if batch is None:
        batch = CPU_BATCH[name] if device.type == "cpu" else p["train"]["batch_size"]
    model = {**p["model"], **({"width": width} if width else {})}
    return RunConfig().with_changes(
        data={"size": size or default_size, "n_images": 64},
        model=model,
        train={**p["train"], "batch_size": batch, "preset": preset, "device": device.type})


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _peak_memory_mib(device: torch.device) -> float:
    """CUDA: peak allocated since the last reset. CPU/MPS: the process's peak RSS (never resets)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024  # bytes on macOS, KiB on Linux


def _gp_variant(cfg: RunConfig, impl: str) -> tuple[RunConfig, bool]:
    """cfg selecting the GP implementation; True if the config cannot (then we patch, see below)."""
    if "gp_impl" in {f.name for f in fields(TrainConfig)}:
        return cfg.with_changes(train={"gp_impl": impl}), False
    return cfg, True


@contextlib.contextmanager
def _gp_loss_installed(gan: GAN, fn: Callable, patch_module: bool) -> Iterator[None]:
    """Make ``gan.train_step`` use ``fn`` as its WGAN-GP critic loss for the duration.

    Uses GAN's ``_gp_loss`` hook when gan.py has it; before that, swaps the function in
    ``trainer.losses`` (restored on exit) so the benchmark can measure both implementations.
    """
    target: Any = gan if hasattr(gan, "_gp_loss") else losses if patch_module else None
    attr = "_gp_loss" if target is gan else "wgan_gp_critic_loss"
    if target is None:
        yield
        return
    old = getattr(target, attr)
    setattr(target, attr, fn)
    try:
        yield
    finally:
        setattr(target, attr, old)


def _time_loop(step: Callable[[], Any], steps: int, warmup: int,
               device: torch.device) -> dict[str, float]:
    for _ in range(warmup):
        step()
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    _sync(device)  # one sync at the end: no per-step host round trip in our loop
    # Process CPU time too: on a busy CPU it is steadier than wall time (it omits waiting).
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
            "peak_memory_mib": _peak_memory_mib(device)}


def bench_training(cfg: RunConfig, data: Any, device: torch.device, steps: int, warmup: int,
                   compile_mode: str = "off", channels_last: bool = False) -> dict[str, Any]:
    """Throughput of our loop (both GP implementations) and of the notebook loop."""
    t = cfg.train
    n_classes = len(data.class_names) if cfg.model.conditional else 0
    out: dict[str, Any] = {}
    for loop in LOOPS:
        impl = "autograd" if loop == "ours_autograd" else "explicit"
        vcfg, patch = _gp_variant(cfg, impl)
        gan = GAN(vcfg, data.size, data.channels, n_classes, device)
        if channels_last and device.type == "cuda":
            gan.G.to(memory_format=torch.channels_last)
            gan.D.to(memory_format=torch.channels_last)
        note = ""
        if loop == "reference":
            nb = NotebookStep(gan)
            r = _time_loop(lambda nb=nb: nb(data), steps, warmup, device)
        else:
            fn = (losses.wgan_gp_critic_loss if impl == "autograd"
                  else fastgp.wgan_gp_critic_loss_explicit)
            if impl == "explicit" and compile_mode != "off" and device.type == "cuda":
                fn, note = _compiled(fn, gan, data, compile_mode, patch)
            with _gp_loss_installed(gan, fn, patch):
                r = _time_loop(lambda gan=gan: gan.train_step(data), steps, warmup, device)
        sec = r["seconds"] / steps
        out[loop] = {"ms_per_gen_step": 1000 * sec, "gen_steps_per_s": 1 / sec,
                     "process_cpu_ms_per_gen_step": 1000 * r["cpu_seconds"] / steps,
                     "real_images_per_s": t.batch_size * t.n_critic / sec,
                     "peak_memory_mib": r["peak_memory_mib"],
                     "gp_switch": "config" if not patch else "patched losses module",
                     **({"note": note} if note else {})}
        del gan
    ref = out["reference"]
    for loop in LOOPS[:2]:
        out[loop]["speedup_vs_reference"] = ref["ms_per_gen_step"] / out[loop]["ms_per_gen_step"]
        out[loop]["speedup_vs_reference_cpu_time"] = (ref["process_cpu_ms_per_gen_step"]
                                                      / out[loop]["process_cpu_ms_per_gen_step"])
    return out


def _compiled(fn: Callable, gan: GAN, data: Any, mode: str, patch: bool) -> tuple[Callable, str]:
    """torch.compile the explicit critic loss (CUDA only); eager if compiling fails."""
    if not patch and not hasattr(gan, "_gp_loss"):
        return fn, "torch.compile not applied: GAN has no _gp_loss hook"
    compiled = torch.compile(fn, mode=mode)
    try:
        with _gp_loss_installed(gan, compiled, patch):
            gan.train_step(data)  # compiles (outside the timed steps)
    except Exception as e:  # noqa: BLE001 - any compiler failure means: measure eager instead
        return fn, f"torch.compile failed, eager used: {type(e).__name__}: {str(e)[:120]}"
    return compiled, f"torch.compile mode={mode}"


def bench_rendering(gan: GAN, cfg: RunConfig, class_names: list[str], device: torch.device,
                    repeats: int) -> dict[str, Any]:
    """Renderer latencies (median ms): 1 and 64 images, slider move, 60-frame morph GIF."""
    size, ch = gan.size, gan.channels
    model = LoadedModel(cfg, copy.deepcopy(gan.G_ema), 0, list(class_names), [], ch, size)
    r = Renderer(model, device)
    g = torch.Generator().manual_seed(0)
    z = torch.randn(64, cfg.model.z_dim, generator=g)
    y = torch.eye(len(class_names))[torch.arange(64) % len(class_names)] if gan.n_classes else None

    def median_ms(fn: Callable[[], Any]) -> float:
        fn()  # warm-up
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()  # render() returns host numpy, which waits for the device
            ts.append(time.perf_counter() - t0)
        return 1000 * statistics.median(ts)

    d = torch.randn(cfg.model.z_dim, generator=g)
    d /= d.norm()
    alphas = iter(np.tile(np.linspace(-3, 3, 7), repeats + 1).tolist())
    y1 = None if y is None else y[:1]
    out: dict[str, Any] = {
        "render_1_ms": median_ms(lambda: r.render(z[:1], y1)),
        "render_64_ms": median_ms(lambda: r.render(z, y)),
        "slider_ms": median_ms(lambda: r.render(z[:1] + next(alphas) * d, y1))}
    frames_z = interpolate_frames(z[0], z[1], 60, spherical=True)
    frames_y = None if y is None else y[:1].expand(60, -1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "morph.gif"
        t0 = time.perf_counter()
        frames = r.render(frames_z, frames_y)
        t1 = time.perf_counter()
        save_gif(frames, path, fps=20.0)
        t2 = time.perf_counter()
    return out | {"gif_60_frames_ms": 1000 * (t2 - t0), "gif_render_ms": 1000 * (t1 - t0),
                  "gif_encode_ms": 1000 * (t2 - t1)}


def _gp_accuracy(gan: GAN, data: Any, n: int) -> dict[str, float]:
    """Critic-loss gradient error of both GP implementations in fp32 against fp64 (on the
    device, so cuDNN/TF32 settings count; MPS has no float64, so it is measured on the CPU)."""
    real, labels = data.batch(n, gan.rng)
    y = gan._one_hot(labels)
    with torch.no_grad():
        fake = gan.G(torch.randn(n, gan.cfg.model.z_dim, device=gan.device), y)
    eps = torch.rand(n, device=gan.device)
    args = [real, fake, y, eps]
    D = gan.D
    if gan.device.type == "mps":
        D, args = copy.deepcopy(D).cpu(), [None if a is None else a.cpu() for a in args]
    return fastgp.gradient_error_vs_fp64(D, *args, gan.cfg.train.gp_lambda)


def system_info(device: torch.device) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as f:
        cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    info = {"device": str(device), "torch": torch.__version__, "python": platform.python_version(),
            "platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads()}
    with contextlib.suppress(OSError, AttributeError):  # other work on the machine skews timings
        info["load_average_1min"] = os.getloadavg()[0]
    if device.type == "cuda":
        info |= {"gpu": torch.cuda.get_device_name(device), "cuda": torch.version.cuda,
                 "cudnn": torch.backends.cudnn.version()}
    return info


def run_bench(names: list[str], device: torch.device, steps: int, warmup: int = 1,
              batch: int | None = None, size: int | None = None, width: int | None = None,
              compile_mode: str = "off", channels_last: bool = False, render_repeats: int = 5,
              accuracy: bool = True,
              progress: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Benchmark each named config; returns the JSON-ready result."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    result: dict[str, Any] = {"system": system_info(device), "settings": {
        "steps": steps, "warmup_steps": warmup, "compile": compile_mode,
        "channels_last": channels_last and device.type == "cuda", "data": "shapes, conditional",
        "peak_memory": ("torch.cuda.max_memory_allocated per loop" if device.type == "cuda"
                        else "process peak RSS (ru_maxrss), cumulative over the run")},
        "configs": {}}
    for name in names:
        cfg = bench_config(name, device, batch, size, width)
        data = make_shapes(max(64, 2 * cfg.train.batch_size), cfg.data.size).to(device)
        m, t = cfg.model, cfg.train
        entry: dict[str, Any] = {"model": {
            "size": cfg.data.size, "z_dim": m.z_dim, "width": m.width, "batch_size": t.batch_size,
            "preset_batch_size": PRESETS[t.preset]["train"]["batch_size"],
            "n_critic": t.n_critic, "preset": t.preset, "n_classes": len(data.class_names)}}
        progress(f"{name}: training loops ({steps} steps each after {warmup} warm-up)")
        entry["train"] = bench_training(cfg, data, device, steps, warmup, compile_mode,
                                        channels_last)
        gan = GAN(cfg, data.size, data.channels, len(data.class_names), device)
        progress(f"{name}: rendering")
        entry["render"] = bench_rendering(gan, cfg, data.class_names, device, render_repeats)
        if accuracy:
            progress(f"{name}: gradient accuracy vs float64")
            entry["gp_grad_rel_error_vs_fp64"] = _gp_accuracy(gan, data, min(8, t.batch_size))
        result["configs"][name] = entry
    return result
