"""Speed benchmark (``python main.py bench``): training throughput and rendering latency.

Per named config it times training loops on the same models, data and device:

* ``reference``: the course notebook's WGAN-GP step as written (reference.py);
* ``ours_*``: ``GAN.train_step`` as a user's run would do it, one variant per ``VARIANTS`` entry:
  the autograd (double backward) or explicit penalty (``trainer.fastgp``), eager or compiled
  (``trainer.speed``), fp32 or bf16 autocast (of the scores; the penalty stays fp32);

then the renderer: generator latency for 1 and 64 images, slider-to-image latency and the time to
export a 60-frame morph GIF, and each variant's critic-gradient error against float64. Optionally
a profile of one variant (the ops that limit it). Warm-up is excluded and timings are
synchronised with the device. Qt-free; the CLI (explorer/cli/bench.py) prints the table and
writes the JSON.
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
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer.core.bench.op_profile import profile_ops
from explorer.core.bench.reference import NotebookStep
from explorer.core.latent.export import save_gif
from explorer.core.latent.latent_math import interpolate_frames
from explorer.core.latent.render import Renderer
from trainer import speed
from trainer.checkpoint import LoadedModel, ModelInfo
from trainer.config import PRESETS, RunConfig
from trainer.data.shapes import make_shapes
from trainer.gan import GAN

# name -> (image size, preset). 128px is the course's reference model (README, "Presets").
CONFIGS: dict[str, tuple[int, str]] = {"32px": (32, "cpu-fast"), "64px": (64, "reference"),
                                       "128px": (128, "reference")}
# Default batch on a CPU: the preset's batch would take minutes per step on a laptop at 128px.
CPU_BATCH = {"32px": 32, "64px": 8, "128px": 4}
# Our loop's variants: the TrainConfig fields each sets. "reference" is the notebook loop.
VARIANTS: dict[str, dict[str, str]] = {
    "ours_autograd": {"gp_impl": "autograd", "compile": "off", "precision": "fp32"},
    "ours_explicit": {"gp_impl": "explicit", "compile": "off", "precision": "fp32"},
    "ours_compiled": {"gp_impl": "explicit", "compile": "on", "precision": "fp32"},
    "ours_bf16": {"gp_impl": "explicit", "compile": "off", "precision": "bf16"},
    "ours_compiled_bf16": {"gp_impl": "explicit", "compile": "on", "precision": "bf16"},
    # The SN-GAN recipe's step (the default on a CPU) on the same model size, batch and data:
    # the sngan preset's loss, critic steps, class head and precision (auto: bf16 on a CPU
    # with bf16 units, so this is the step a default run takes).
    "ours_sngan": {**{k: PRESETS["sngan"]["train"][k]
                      for k in ("loss", "n_critic", "class_loss", "precision")},
                   "compile": "off"},
}
# Variants that also change the model (the same width and z size): the sngan preset's networks.
MODEL_VARIANTS: dict[str, dict[str, str]] = {
    "ours_sngan": {k: PRESETS["sngan"]["model"][k] for k in ("arch", "mbstd", "upsample")}}
LOOPS = ("reference", *VARIANTS)


def variant_config(cfg: RunConfig, loop: str) -> RunConfig:
    """The config a loop variant of VARIANTS runs: ``cfg`` with the variant's fields."""
    return cfg.with_changes(train=VARIANTS[loop], model=MODEL_VARIANTS.get(loop, {}))


def default_loops(device: torch.device) -> list[str]:
    """CPU: the eager loops (inductor gains nothing there, see trainer/speed.compile_mode);
    CUDA: the compiled ones and bf16 too."""
    if device.type == "cuda":
        return list(LOOPS)
    return ["reference", "ours_autograd", "ours_explicit", "ours_sngan"]


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


def _make_gan(cfg: RunConfig, data: Any, device: torch.device, channels_last: bool) -> GAN:
    n_classes = len(data.class_names) if cfg.model.conditional else 0
    gan = GAN(cfg, data.size, data.channels, n_classes, device)
    if channels_last and device.type == "cuda":
        gan.G.to(memory_format=torch.channels_last)
        gan.D.to(memory_format=torch.channels_last)
    return gan


def bench_training(cfg: RunConfig, data: Any, device: torch.device, steps: int, warmup: int,
                   loops: list[str], channels_last: bool = False) -> dict[str, Any]:
    """Throughput of each loop variant on the same models, data and device."""
    t = cfg.train
    out: dict[str, Any] = {}
    for loop in loops:
        vcfg = cfg if loop == "reference" else variant_config(cfg, loop)
        gan = _make_gan(vcfg, data, device, channels_last)
        entry: dict[str, Any] = {}
        if loop == "reference":
            nb = NotebookStep(gan)
            r = _time_loop(lambda nb=nb: nb(data), steps, warmup, device)
        else:
            # A compiled step compiles (and records its CUDA graphs) in the first calls.
            w = max(warmup, 3) if gan.compiled else warmup
            r = _time_loop(lambda gan=gan: gan.train_step(data), steps, w, device)
            entry["step"] = gan.step_impl
            if gan.fallback_notes:
                entry["notes"] = gan.fallback_notes
        entry["precision"] = "fp32" if loop == "reference" else gan.precision
        sec = r["seconds"] / steps
        out[loop] = {"ms_per_gen_step": 1000 * sec, "gen_steps_per_s": 1 / sec,
                     "process_cpu_ms_per_gen_step": 1000 * r["cpu_seconds"] / steps,
                     "real_images_per_s": t.batch_size * vcfg.train.n_critic / sec,
                     "peak_memory_mib": r["peak_memory_mib"], **entry}
        compiled = loop != "reference" and gan.compiled
        del gan
        if compiled:  # free its graphs (and CUDA-graph memory pool) before the next loop
            torch.compiler.reset()
    ref = out.get("reference")
    for loop, r in out.items():
        if ref is not None and loop != "reference":
            r["speedup_vs_reference"] = ref["ms_per_gen_step"] / r["ms_per_gen_step"]
            r["speedup_vs_reference_cpu_time"] = (ref["process_cpu_ms_per_gen_step"]
                                                  / r["process_cpu_ms_per_gen_step"])
    return out


def profile_step(cfg: RunConfig, data: Any, device: torch.device, loop: str,
                 steps: int) -> dict[str, Any]:
    """What limits a loop variant: its top ops per generator step (op_profile.py)."""
    gan = _make_gan(variant_config(cfg, loop), data, device, False)
    for _ in range(3 if gan.compiled else 1):  # compiling and CUDA-graph recording first
        gan.train_step(data)
    _sync(device)
    return {"loop": loop, "step": gan.step_impl,
            **profile_ops(lambda: gan.train_step(data), steps, device)}


def bench_rendering(gan: GAN, cfg: RunConfig, class_names: list[str], device: torch.device,
                    repeats: int) -> dict[str, Any]:
    """Renderer latencies (median ms): 1 and 64 images, slider move, 60-frame morph GIF."""
    size, ch = gan.size, gan.channels
    model = LoadedModel(copy.deepcopy(gan.G_ema),
                        ModelInfo(cfg, 0, tuple(class_names), (), ch, size))
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


def _gp_accuracy(gan: GAN, data: Any, n: int, loops: list[str]) -> dict[str, float]:
    """Relative error of the critic-loss gradient (before the optimiser) against the autograd
    loss in float64, for both penalties in fp32 and for the compiled / bf16 variants benched.
    On the device, so cuDNN/TF32 settings count; MPS has no float64, so it is measured on the
    CPU. ||g - g64|| / ||g64|| over all critic parameters at once."""
    real, labels = data.batch(n, gan.rng)
    y = gan._one_hot(labels)
    with torch.no_grad():
        fake = gan.G(torch.randn(n, gan.cfg.model.z_dim, device=gan.device), y)
    eps = torch.rand(n, device=gan.device)
    args = [real, fake, y, eps]
    D, device = gan.D, gan.device
    if device.type == "mps":
        D, device = copy.deepcopy(D).cpu(), torch.device("cpu")
        args = [None if a is None else a.cpu() for a in args]
    t = gan.cfg.train

    def flat_grad(settings: dict[str, str], dtype: torch.dtype) -> torch.Tensor:
        critic = copy.deepcopy(D).to(dtype).requires_grad_(True)
        module = speed.CriticLoss(critic, replace(t, **settings))
        mode = speed.compile_mode(settings["compile"], device, distributed=False)
        fn = torch.compile(module, mode="default") if mode else module
        loss, _ = fn(*[None if a is None else a.to(dtype) for a in args])
        params = list(critic.parameters())
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        return torch.cat([(torch.zeros_like(p) if g is None else g).flatten().double()
                          for p, g in zip(params, grads, strict=True)])

    ref = flat_grad(VARIANTS["ours_autograd"], torch.float64)
    names = {"ours_autograd": "autograd_fp32", "ours_explicit": "explicit_fp32",
             "ours_compiled": "explicit_compiled_fp32", "ours_bf16": "explicit_bf16",
             "ours_compiled_bf16": "explicit_compiled_bf16"}
    out = {}
    for loop, name in names.items():
        if loop in ("ours_autograd", "ours_explicit") or loop in loops:
            g = flat_grad(VARIANTS[loop], torch.float32)
            out[name] = float((g - ref).norm() / ref.norm().clamp_min(1e-30))
    return out


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
              loops: list[str] | None = None, channels_last: bool = False,
              render_repeats: int = 5, accuracy: bool = True, profile: str | None = None,
              progress: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Benchmark each named config; returns the JSON-ready result.

    ``loops``: names from LOOPS (default: ``default_loops(device)``); ``profile``: a variant of
    VARIANTS to profile per config (None: no profile).
    """
    loops = loops or default_loops(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    result: dict[str, Any] = {"system": system_info(device), "settings": {
        "steps": steps, "warmup_steps": warmup, "loops": loops,
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
        progress(f"{name}: training loops {', '.join(loops)} ({steps} steps each after "
                 f"{warmup} warm-up)")
        entry["train"] = bench_training(cfg, data, device, steps, warmup, loops, channels_last)
        gan = GAN(cfg, data.size, data.channels, len(data.class_names), device)
        progress(f"{name}: rendering")
        entry["render"] = bench_rendering(gan, cfg, data.class_names, device, render_repeats)
        if accuracy:
            progress(f"{name}: gradient accuracy vs float64")
            entry["gp_grad_rel_error_vs_fp64"] = _gp_accuracy(gan, data, min(8, t.batch_size),
                                                              loops)
        if profile:
            progress(f"{name}: profiling {profile}")
            entry["profile"] = profile_step(cfg, data, device, profile, max(1, min(steps, 5)))
        result["configs"][name] = entry
    return result
