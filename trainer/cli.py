"""``python main.py train``: headless training with a progress bar.

Ctrl-C asks the loop to stop: it finishes the current step, writes a checkpoint and exits; a
second Ctrl-C aborts at once (the last periodic checkpoint is still intact). SIGTERM (a cluster
scheduler ending the job) and SIGHUP (the terminal closed) do the same. A run ended by a signal
exits with 128 + the signal's number, as shells report it: 130 for Ctrl-C, 143 for SIGTERM, 129
for SIGHUP.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path

from tqdm import tqdm

from trainer.config import (
    ARCHS,
    AUGMENT,
    AUGMENT_AUTO_IMAGES,
    COMPILE,
    DATASETS,
    LOSSES,
    PRECISIONS,
    PRESETS,
    SIZES,
    ConfigError,
    RunConfig,
    apply_preset,
    default_preset,
)
from trainer.distributed import from_env
from trainer.events import (
    CheckpointSaved,
    Failed,
    Finished,
    Notice,
    Started,
    StepStats,
    TrainControl,
)
from trainer.gan import resolve_device


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, help="run folder to create (default: runs/<dataset>-<size>)")
    p.add_argument("--resume", type=Path, metavar="RUN", help="continue the run in this folder")
    p.add_argument("--config", type=Path, help="start from a config JSON (flags below override it)")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="hyper-parameter preset (default: sngan on CPU/MPS, reference on CUDA; "
                   "docs/recipes.md)")
    p.add_argument("--dataset", choices=DATASETS, help="default: shapes")
    p.add_argument("--data-path", help="image folder, or download cache for torchvision sets")
    p.add_argument("--attributes-csv", help="per-image attribute CSV for an image folder")
    p.add_argument("--size", type=int, choices=SIZES, help="image size in px (default 32)")
    p.add_argument("--n-images", type=int, help="number of Shapes images (default 20000)")
    p.add_argument("--arch", choices=ARCHS,
                   help="dcgan (the course's), mlp, or sngan (spectral-norm projection critic, "
                   "class-conditional BatchNorm generator; the sngan preset's)")
    p.add_argument("--loss", choices=LOSSES, help="wgan-gp (the course presets') or hinge (sngan)")
    cond = p.add_mutually_exclusive_group()
    cond.add_argument("--conditional", dest="conditional", action="store_true", default=None,
                      help="class-conditional model (default when the data has classes)")
    cond.add_argument("--unconditional", dest="conditional", action="store_false")
    p.add_argument("--z-dim", type=int)
    p.add_argument("--width", type=int, help="base channel count")
    p.add_argument("--steps", type=int, help="generator steps in total")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--lr-critic", type=float,
                   help="the critic's learning rate (default: --lr; two time-scales)")
    p.add_argument("--class-loss", type=float,
                   help="weight of the SN-GAN critic's auxiliary class head (AC-GAN) for "
                   "conditional models; 0 = projection only (sngan preset: 1)")
    p.add_argument("--betas", type=float, nargs=2)
    p.add_argument("--n-critic", type=int)
    p.add_argument("--gp-lambda", type=float)
    p.add_argument("--clip", type=float, help="weight clip bound for wgan-clip")
    p.add_argument("--ema-decay", type=float)
    p.add_argument("--augment", choices=AUGMENT,
                   help="adaptive differentiable augmentation of what the critic sees: auto "
                   f"(default) = on for datasets under {AUGMENT_AUTO_IMAGES} images")
    p.add_argument("--augment-target", type=float,
                   help="the overfitting signal r that augmentation steers to (default 0.6)")
    p.add_argument("--preview-every", type=int)
    p.add_argument("--checkpoint-every", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default=None)
    p.add_argument("--gp-impl", choices=("explicit", "autograd"),
                   help="gradient penalty: explicit input gradient (default, first-order only) or "
                   "autograd's double backward (the reference)")
    p.add_argument("--compile", choices=COMPILE,
                   help="torch.compile the step: auto (default) = on a single CUDA GPU, with CUDA "
                   "graphs; falls back to eager if compiling fails")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="fp32 (default) or bf16 autocast of the critic's scores and the generator "
                   "(for GPUs; the penalty stays fp32; critic-gradient error 0.28%% at 32 px "
                   "against float64, 1e-6 for fp32)")
    p.add_argument("--dry-run", action="store_true", help="print the config and exit")


_DATA_FLAGS = {"dataset": "dataset", "data_path": "path", "attributes_csv": "attributes_csv",
               "size": "size", "n_images": "n_images"}
_MODEL_FLAGS = {"arch": "arch", "z_dim": "z_dim", "width": "width", "conditional": "conditional"}
_TRAIN_FLAGS = {"loss": "loss", "steps": "steps", "batch_size": "batch_size", "lr": "lr",
                "lr_critic": "lr_critic", "class_loss": "class_loss", "augment": "augment",
                "augment_target": "augment_target",
                "betas": "betas", "n_critic": "n_critic", "gp_lambda": "gp_lambda", "clip": "clip",
                "ema_decay": "ema_decay", "preview_every": "preview_every",
                "checkpoint_every": "checkpoint_every", "seed": "seed", "device": "device",
                "gp_impl": "gp_impl", "compile": "compile", "precision": "precision"}


def config_from_args(args: argparse.Namespace) -> RunConfig:
    cfg = RunConfig.load(args.config) if args.config else RunConfig()
    device = args.device or cfg.train.device
    if args.preset or not args.config:
        name = args.preset or _default_preset(device)
        cfg = apply_preset(cfg, name)

    def pick(flags: dict[str, str]) -> dict:
        return {f: getattr(args, a) for a, f in flags.items() if getattr(args, a) is not None}

    data = pick(_DATA_FLAGS)
    if data.get("dataset", cfg.data.dataset) == "shapes":
        data.setdefault("path", "")
    cfg = cfg.with_changes(data=data, model=pick(_MODEL_FLAGS), train=pick(_TRAIN_FLAGS))
    if args.conditional is None and cfg.data.dataset in ("celeba",):
        cfg = cfg.with_changes(model={"conditional": False})
    if args.conditional is None and cfg.data.dataset == "folder":
        from trainer.data.folder import folder_is_labelled  # the loader's own rule

        if not folder_is_labelled(cfg.data.path):
            cfg = cfg.with_changes(model={"conditional": False})
    return cfg


def _default_preset(device: str) -> str:
    try:
        dev = resolve_device(device).type
    except RuntimeError:
        dev = device
    return default_preset(dev)


def run(args: argparse.Namespace) -> int:
    try:
        if args.resume:
            cfg, run_dir = None, args.resume
        else:
            cfg = config_from_args(args)
            run_dir = args.out or Path("runs") / f"{cfg.data.dataset}-{cfg.data.size}"
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(cfg.to_json() if cfg else f"would resume {run_dir}")
        return 0
    from trainer.loop import train  # imported here so --help stays fast

    control = TrainControl()
    caught: list[int] = []  # the signals received, in order
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def on_signal(signum: int, frame: object) -> None:  # 1st: stop cleanly; 2nd: abort
        caught.append(signum)
        if control.stop_requested:
            raise KeyboardInterrupt
        control.stop()
        _say(f"{_signal_name(signum)}: finishing this step and writing a checkpoint "
             f"({'Ctrl-C' if signum == signal.SIGINT else 'a second signal'} again to abort)")

    for sig in STOP_SIGNALS:
        signal.signal(sig, on_signal)
    bar = None
    code = 0
    quiet = from_env().rank != 0  # under torchrun only rank 0 reports
    loading: list[tqdm] = []  # the decoding bar, made on the first report

    def on_loading(done: int, total: int) -> None:  # from the decoder's threads
        if quiet:
            return
        if not loading:
            loading.append(tqdm(total=total, unit="img", desc="loading", dynamic_ncols=True,
                                file=sys.stderr))
        loading[0].update(done - loading[0].n)

    try:
        for ev in train(run_dir, cfg, control, resume=bool(args.resume),
                        total_steps=args.steps if args.resume else None, on_loading=on_loading):
            if loading:
                loading.pop().close()
            if quiet and not isinstance(ev, Failed):
                continue
            if isinstance(ev, Started):
                _say(f"{'resuming' if ev.resumed else 'training'} {ev.run_dir} on {ev.device}: "
                     f"{ev.data_summary}; preset {ev.config.train.preset}, loss "
                     f"{ev.config.train.loss}; {ev.step_impl}")
                bar = tqdm(total=ev.total_steps, initial=ev.start_step, unit="step",
                           dynamic_ncols=True, file=sys.stderr)
            elif isinstance(ev, StepStats) and bar is not None:
                bar.update(ev.steps[-1] - bar.n)
                extra = f" r {ev.r[-1]:.2f} p {ev.aug_p[-1]:.2f}" if ev.r else ""
                bar.set_postfix_str(f"D {ev.critic_loss[-1]:+.3f} G {ev.gen_loss[-1]:+.3f} "
                                    f"W {ev.wdist[-1]:.3f} GP {ev.gp[-1]:.3f}{extra} "
                                    f"{ev.images_per_s:.0f} img/s", refresh=False)
            elif isinstance(ev, Notice):
                _say(f"note: {ev.message}")
            elif isinstance(ev, CheckpointSaved) and bar is not None:
                bar.set_description_str(f"ckpt @{ev.step}", refresh=False)
            elif isinstance(ev, Failed):
                if bar:
                    bar.close()
                _say(f"error: {ev.message}")
                code = 1
            elif isinstance(ev, Finished):
                if bar:
                    bar.close()
                _say(f"{ev.reason} at step {ev.step}; checkpoint: {ev.checkpoint}")
                if caught and ev.reason == "stopped" and code == 0:
                    code = 128 + caught[0]  # stopped by a signal: say so to the caller
    except KeyboardInterrupt:
        if bar:
            bar.close()
        _say("aborted; the last periodic checkpoint is intact")
        code = 128 + (caught[-1] if caught else signal.SIGINT)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


# Signals that stop a run cleanly: Ctrl-C, a scheduler's SIGTERM, a closed terminal's SIGHUP.
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, n))


def _signal_name(signum: int) -> str:
    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name


def _say(message: str) -> None:
    """Print a line to stderr (above the progress bar). After SIGHUP the terminal may be gone
    (writes fail with EIO): then stdout and stderr go to os.devnull, so training still finishes
    and writes its checkpoint instead of dying on its next message."""
    try:
        tqdm.write(message, file=sys.stderr)
        sys.stderr.flush()
    except OSError:
        null = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                os.dup2(null, fd)
        os.close(null)
