"""Time to quality: seconds of training each recipe needs to reach a class accuracy.

Per-step speed says little about which recipe to use: a recipe with a cheaper step can need many
more steps. So this trains each recipe (a preset name) in-process on the same data, stops the
training clock every ``eval_every`` seconds to measure class accuracy (and FD) of G_ema with the
eval classifier, and reports when each threshold was first reached. Only training counts towards
the clock; evaluation time is excluded.

A recipe whose learning rate decays (``lr_decay``) needs to know where its run ends, as a user's
run does from its step count: its run is planned to the budget, the step count set from the
steps per second measured so far (re-planned at every evaluation), so the decay ends with the
budget. A budget of 120 s and one of 600 s are then two different trainings, as they would be
for a user.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from explorer.core.quality.eval_classifier import EvalClassifier
from explorer.core.quality.evaluate import RealSet, evaluate_generator, noise_floor
from trainer.config import RunConfig, apply_preset
from trainer.gan import GAN

THRESHOLDS = (0.8, 0.9, 0.95)


def run_recipe(recipe: str, base: RunConfig, data: Any, clf: EvalClassifier, real: RealSet,
               budget_s: float, eval_every_s: float, device: torch.device,
               overrides: dict[str, dict[str, Any]] | None = None,
               stop_at: float | None = None,
               progress: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Train ``recipe`` for ``budget_s`` seconds of training; evaluate every ``eval_every_s``.

    Stops early once class accuracy reaches ``stop_at`` (if given). Returns the curve of
    (seconds, step, accuracy, FD) and the first time each threshold of THRESHOLDS was reached.
    """
    cfg = apply_preset(base, recipe)
    for section, changes in (overrides or {}).items():
        cfg = cfg.with_changes(**{section: changes})
    planned = cfg.train.lr_decay > 0
    cfg = cfg.with_changes(train={"steps": 10_000_000})
    n_classes = len(data.class_names) if cfg.model.conditional else 0
    gan = GAN(cfg, data.size, data.channels, n_classes, device, n_images=len(data))
    curve: list[dict[str, Any]] = []
    trained, cpu = 0.0, 0.0
    next_eval = min(eval_every_s, budget_s)
    if planned:  # a first guess from 20 steps, re-planned at every evaluation
        t0 = time.perf_counter()
        for _ in range(20):
            gan.train_step(data)
        trained += time.perf_counter() - t0
        gan.cfg = _planned(cfg, gan.step, trained, budget_s)
    while True:
        t0, c0 = time.perf_counter(), time.process_time()
        while time.perf_counter() - t0 < next_eval - trained:
            if planned and gan.step >= gan.cfg.train.steps:  # faster than planned: plan again
                gan.cfg = _planned(cfg, gan.step, trained + time.perf_counter() - t0, budget_s)
            gan.train_step(data)
        if device.type == "cuda":
            torch.cuda.synchronize()
        trained += time.perf_counter() - t0
        cpu += time.process_time() - c0
        fig = evaluate_generator(gan.G_ema, clf, real, cfg.model.z_dim, bool(n_classes))
        point = {"seconds": round(trained, 1), "cpu_seconds": round(cpu, 1), "step": gan.step,
                 "accuracy": fig.get("accuracy"), "fd": round(fig["fd"], 3)}
        curve.append(point)
        progress(f"{recipe}: {point['seconds']:.0f} s, step {gan.step}, accuracy "
                 f"{_pct(point['accuracy'])}, FD {point['fd']:.1f}")
        acc = point["accuracy"] or 0.0
        if trained >= budget_s or (stop_at is not None and acc >= stop_at):
            break
        next_eval = min(trained + eval_every_s, budget_s)
        if planned:
            gan.cfg = _planned(cfg, gan.step, trained, budget_s)
    reached = {}
    for th in THRESHOLDS:
        hit = next((p for p in curve if (p["accuracy"] or 0.0) >= th), None)
        reached[f"{th:.0%}"] = None if hit is None else {"seconds": hit["seconds"],
                                                         "step": hit["step"]}
    return {"recipe": recipe, "budget_s": budget_s, "config": gan.cfg.to_dict(),
            "step_impl": gan.step_impl, "precision": gan.precision,
            "reached": reached, "curve": curve,
            "steps_per_s": round(gan.step / max(trained, 1e-9), 2)}


def _planned(cfg: RunConfig, step: int, trained_s: float, budget_s: float) -> RunConfig:
    """``cfg`` with the step count that ends its run with the budget at the speed so far."""
    rate = step / max(trained_s, 1e-9)
    return cfg.with_changes(train={"steps": max(step + 1, round(rate * budget_s))})


def time_to_quality(recipes: list[str], base: RunConfig, data: Any, clf: EvalClassifier,
                    real: RealSet, budgets_s: list[float], eval_every_s: float,
                    device: torch.device, stop_at: float | None = None,
                    overrides: dict[str, dict[str, Any]] | None = None,
                    progress: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Each recipe trained once per budget, a fresh run each (a planned run's decay ends with
    its budget, so a 2-minute and a 10-minute training differ all along). ``overrides``
    (section -> fields) apply to every recipe after its preset."""
    floor, _ = noise_floor(real)
    return {"thresholds": [f"{t:.0%}" for t in THRESHOLDS], "budgets_s": budgets_s,
            "eval_every_s": eval_every_s, "n_eval": len(real.features),
            "fd_real_vs_real": round(floor, 3),
            "recipes": [run_recipe(r, base, data, clf, real, b, eval_every_s, device,
                                   overrides=overrides, stop_at=stop_at, progress=progress)
                        for r in recipes for b in budgets_s]}


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1%}"
