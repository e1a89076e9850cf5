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

from trainer import losses
from trainer.config import (
    PRESETS,
    ConfigError,
    RunConfig,
    Spec,
    apply_preset,
    params,
)
from trainer.device import default_preset_for
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
from trainer.runfolder import BEST_SNAPSHOT_HINT, RunFolder


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, help="run folder to create (default: runs/<dataset>-<size>)")
    p.add_argument("--resume", type=Path, metavar="RUN", help="continue the run in this folder")
    p.add_argument("--config", type=Path, help="start from a config JSON (flags below override it)")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="hyper-parameter preset (default: sngan on CPU/MPS, reference on CUDA; "
                   "docs/recipes.md)")
    add_config_flags(p)
    p.add_argument("--dry-run", action="store_true", help="print the config and exit")


def add_config_flags(p: argparse.ArgumentParser) -> None:
    """One flag per config field that has one, from the field's declaration (trainer/config.py):
    its rule gives the type or choices, its help the help. Every flag defaults to None: only the
    flags given override the config."""
    for spec in config_flags():
        acc, kw = spec.param.accepts, {"help": spec.param.help.replace("%", "%%") or None}
        if acc.kind == "bool":
            group = p.add_mutually_exclusive_group()
            group.add_argument(spec.flag, dest=spec.dest, action="store_true", default=None, **kw)
            if spec.param.off_flag:
                group.add_argument(spec.param.off_flag, dest=spec.dest, action="store_false")
            continue
        if acc.kind == "choice":
            kw["choices"] = acc.choices
            if all(isinstance(c, int) for c in acc.choices):
                kw["type"] = int
        elif acc.kind == "int":
            kw["type"] = int
        elif acc.kind == "float":
            kw["type"] = float
        elif acc.kind == "pair":
            kw.update(type=float, nargs=2)
        p.add_argument(spec.flag, dest=spec.dest, default=None, **kw)


def config_flags() -> list[Spec]:
    """The config fields that have a `train` flag."""
    return [s for s in params() if s.flag]


def config_from_args(args: argparse.Namespace) -> RunConfig:
    cfg = RunConfig.load(args.config) if args.config else RunConfig()
    device = args.device or cfg.train.device
    if args.preset or not args.config:
        # --arch vae alone starts from the VAE's preset, not a GAN recipe's.
        arch = getattr(args, "arch", None)
        name = args.preset or ("vae" if arch == "vae" else default_preset_for(device))
        cfg = apply_preset(cfg, name)

    given: dict[str, dict] = {"data": {}, "model": {}, "train": {}}
    for spec in config_flags():
        value = getattr(args, spec.dest)
        if value is not None:
            given[spec.section][spec.name] = value
    if given["data"].get("dataset", cfg.data.dataset) == "shapes":
        given["data"].setdefault("path", "")
    cfg = cfg.with_changes(**given)
    if args.conditional is None:
        from trainer.data import has_classes  # the loader's own rule

        if not has_classes(cfg.data.dataset, cfg.data.path):
            cfg = cfg.with_changes(model={"conditional": False})
    return cfg


# What --resume may change: when the run ends and how its learning rate falls. Everything else
# (the data, the model, the optimiser) is the run's own, read from its checkpoint.
RESUME_FLAGS = ("train.steps", "train.lr_decay", "train.lr_decay_to", "train.device")


def resume_changes(args: argparse.Namespace) -> dict[str, object]:
    """The schedule fields a resumed run takes from the flags; ConfigError for any other flag."""
    changes, refused = {}, []
    for spec in config_flags():
        value = getattr(args, spec.dest)
        if value is None:
            continue
        if spec.key in RESUME_FLAGS:
            changes[spec.name] = value
        else:
            refused.append(spec.flag)
    if args.config or args.preset:
        refused.append("--config" if args.config else "--preset")
    if refused:
        allowed = [spec.flag for spec in config_flags() if spec.key in RESUME_FLAGS]
        raise ConfigError(f"--resume continues a run with its own settings; only "
                          f"{', '.join(allowed[:-1])} and {allowed[-1]} can change "
                          f"(got {', '.join(refused)})")
    return changes


def run(args: argparse.Namespace) -> int:
    try:
        if args.resume:
            cfg, run_dir = None, args.resume
            changes = resume_changes(args)
            RunConfig().with_changes(train=changes)  # checked like any config value
        else:
            changes = {}
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
                        total_steps=args.steps if args.resume else None,
                        changes=changes, on_loading=on_loading):
            if loading:
                loading.pop().close()
            if quiet and not isinstance(ev, Failed):
                continue
            if isinstance(ev, Started):
                started = ev
                loss = ("reconstruction + KL" if ev.model.is_vae
                        else f"loss {ev.config.train.loss}")
                _say(f"{'resuming' if ev.resumed else 'training'} {ev.run_dir} on {ev.device}: "
                     f"{ev.data_summary}; preset {ev.config.train.preset}, {loss}; "
                     f"{ev.step_impl}")
                bar = tqdm(total=ev.total_steps, initial=ev.start_step, unit="step",
                           dynamic_ncols=True, file=sys.stderr)
            elif isinstance(ev, StepStats) and bar is not None:
                bar.update(ev.steps[-1] - bar.n)
                bar.set_postfix_str(_losses_text(ev, started.config.train.loss), refresh=False)
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
                if ev.checkpoint and RunFolder(ev.checkpoint.parent).has_several_snapshots():
                    _say(f"note: {BEST_SNAPSHOT_HINT}: python main.py eval --checkpoint "
                         f"{ev.checkpoint.parent} --over-steps marks it (RUN/best)")
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


def _losses_text(ev: StepStats, loss: str) -> str:
    """The progress bar's newest losses: a VAE's reconstruction error and KL, a GAN's critic
    and generator losses, its score gap named for the loss, and the penalty where it has one."""
    if ev.recon:
        return f"rec {ev.recon[-1]:.2f} KL {ev.kl[-1]:.2f} {ev.images_per_s:.0f} img/s"
    extra = f" r {ev.r[-1]:.2f} p {ev.aug_p[-1]:.2f}" if ev.r else ""
    gp = f" GP {ev.gp[-1]:.3f}" if loss in losses.PENALTY_LOSSES else ""
    return (f"D {ev.critic_loss[-1]:+.3f} G {ev.gen_loss[-1]:+.3f} "
            f"{losses.gap_name(loss)[1]} {ev.wdist[-1]:.3f}{gp}{extra} {ev.images_per_s:.0f} img/s")


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
