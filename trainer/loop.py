"""The training loop: ``train(...)`` is a plain-Python generator of events (events.py).

No Qt and no printing: the CLI prints the events, the GUI worker forwards them as signals. The
caller steers it through a ``TrainControl`` (pause / resume / stop from any thread).

The run folder's layout (its config, checkpoint, snapshots, log, previews and lock) is
``RunFolder``'s (trainer/runfolder.py); what a checkpoint holds is checkpoint.py's.

Crash safety: every file is replaced atomically; the log is flushed before each checkpoint, and
a resume truncates it back to the checkpoint's step, so after a crash each step is logged
exactly once. Nothing non-finite is ever saved: the losses and weights are checked (one host
sync) right before each checkpoint, so a NaN rollback always lands on finite weights.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from trainer import augment
from trainer.checkpoint import (
    CheckpointError,
    ModelInfo,
    checkpoint_state,
    config_of,
    load_raw,
    mismatch_message,
    save_checkpoint,
)
from trainer.config import ConfigError, RunConfig, TrainConfig
from trainer.data import DataError, ImageData, StreamingData, load_dataset
from trainer.data.decode import LoadProgress
from trainer.device import resolve_device
from trainer.distributed import DistInfo, any_rank, from_env, init, shutdown
from trainer.errors import UserError
from trainer.events import (
    CheckpointSaved,
    Event,
    Failed,
    Finished,
    Notice,
    Paused,
    Preview,
    Resumed,
    Started,
    StepStats,
    TrainControl,
)
from trainer.fileio import (
    atomic_open,
    atomic_write_text,
    check_writable_dir,
    removed_on_failure,
    write_error_message,
)
from trainer.gan import GAN, nonfinite
from trainer.images import make_grid, to_uint8
from trainer.runfolder import RunFolder
from trainer.runlock import RunLock, RunLocked, remove_stale_temp_files
from trainer.runlog import truncate_log
from trainer.vae import VAE

Data = ImageData | StreamingData
# What the loop trains: a GAN, or a VAE with the same small interface (chosen by model.arch).
# Below, ``gan`` names either.
Model = GAN | VAE

PREVIEW_COLS = 8


class RunError(UserError):
    """A run cannot start; the message is for the user."""


def train(run_dir: Path | str, cfg: RunConfig | None = None, control: TrainControl | None = None,
          resume: bool = False, total_steps: int | None = None,
          changes: dict[str, Any] | None = None,
          data: Data | None = None, on_loading: LoadProgress | None = None) -> Iterator[Event]:
    """Train, yielding events. ``resume=True`` continues the checkpoint in ``run_dir``.

    ``total_steps`` overrides the config's step count (e.g. to train a resumed run further);
    ``changes`` other ``train`` fields a resumed run may change (its lr decay, its device).
    ``data`` may pass an already loaded dataset (tests, benchmarks). ``on_loading(done, total)``
    follows the decoding of the images before the first event (from worker threads).
    Under ``torchrun`` every process runs this; only rank 0 writes the run folder.
    """
    run_dir = Path(run_dir)
    control = control or TrainControl()
    dist = from_env()
    lock = RunLock(run_dir)  # taken by rank 0 in _setup, held until the run ends
    try:
        # A run that fails to start takes back the folders it made (rank 0 makes them, and its
        # lock file), if empty.
        with removed_on_failure(run_dir, (RunFolder.LOCK,)) if dist.is_main \
                else contextlib.nullcontext():
            gan, data, cfg, start_step = _setup(run_dir, cfg, resume, data, dist, on_loading,
                                                total_steps, lock, changes or {})
        total = cfg.train.steps
    except (RunError, RunLocked, DataError, CheckpointError, ConfigError, RuntimeError,
            OSError) as e:
        lock.release()
        shutdown(dist)
        plain = isinstance(e, RunLocked) or not isinstance(e, OSError)
        yield Failed(0, str(e) if plain else write_error_message(e, run_dir))
        return
        shutdown(dist)
        yield Failed(0, str(e))
        return
    try:
        model = ModelInfo(cfg, start_step, tuple(data.class_names), tuple(data.attribute_names),
                          data.channels, data.size)
        yield Started(run_dir, model, total, str(gan.device), _summary(data), resumed=resume,
                      step_impl=gan.step_impl)
        yield from _run(gan, data, cfg, run_dir, control, total)
    except torch.OutOfMemoryError:
        yield Failed(gan.step, f"out of GPU memory at batch size {cfg.train.batch_size}, "
                     f"image size {cfg.data.size}, width {cfg.model.width}: lower the batch size "
                     "or the image size (or width) and resume")
    except OSError as e:  # a full disk while saving: the last complete checkpoint is intact
        yield Failed(gan.step, write_error_message(e, run_dir))
    finally:
        if hasattr(data, "close"):
            data.close()
        lock.release()
        gan = None  # its DDP wrappers hold the process group: let go of them before leaving it
        shutdown(dist)


def _summary(data: Data) -> str:
    s = f"{data.name or 'dataset'}: {data.report.summary()}, {data.size}px, {data.channels} ch"
    if data.class_names:
        s += f", {len(data.class_names)} classes"
    return s


def _setup(run_dir: Path, cfg: RunConfig | None, resume: bool, data: Data | None,
           dist: DistInfo, on_loading: LoadProgress | None = None,
           total_steps: int | None = None, lock: RunLock | None = None,
           changes: dict[str, Any] | None = None) -> tuple[Model, Data, RunConfig, int]:
    run = RunFolder(run_dir)
    ckpt_path = run.checkpoint
    state = None
    if resume and not ckpt_path.is_file():
        raise RunError(f"nothing to resume: {ckpt_path} does not exist")
    if cfg is None and not resume:
        raise RunError("no config given")
    restart = False
    if dist.is_main:
        problem = check_writable_dir(run_dir)
        if problem:
            raise RunError(problem)
        if lock is not None:
            lock.acquire()  # one writer per folder; before anything in it is read or written
        remove_stale_temp_files(run_dir)  # partial files of a killed run
        restart = not resume and run.unfinished_start()
    if resume:
        state = load_raw(ckpt_path)
        if state.get("kind") != "full":
            raise RunError(f"{ckpt_path} is a snapshot without optimiser state; it cannot resume")
        cfg = config_of(state, ckpt_path.name)
        if total_steps is not None and total_steps < state["step"]:
            raise RunError(f"the run is already at step {state['step']}: ask for at least that "
                           f"many steps in total to continue it (got {total_steps})")

    elif run.holds_run():
        raise RunError(f"{run_dir} already holds a run; resume it or choose another folder")
    # The new target and schedule are the run's own from here on (Resume, the progress bar, the
    # lr decay, which the GAN reads from its config); a new run saves its config below.
    new = {**(changes or {}), **({"steps": total_steps} if total_steps else {})}
    if any(getattr(cfg.train, k) != v for k, v in new.items()):
        cfg = cfg.with_changes(train=new)
        if resume and dist.is_main:
            cfg.save(run.config)
    device = init(dist, resolve_device(cfg.train.device))
    if data is None:
        data = load_dataset(cfg.data, device, progress=on_loading)
    if cfg.model.conditional and not data.class_names:
        raise RunError(f"dataset '{cfg.data.dataset}' has no classes: turn 'conditional' off "
                       "(or, for an image folder, put each class in its own sub-folder)")
    n_classes = len(data.class_names) if cfg.model.conditional else 0
    if cfg.data.size != data.size:
        raise RunError(f"dataset images are {data.size}px but the config asks for "
                       f"{cfg.data.size}px")
    kind = VAE if cfg.model.arch == "vae" else GAN
    try:
        gan = kind(cfg, data.size, data.channels, n_classes, device, dist, n_images=len(data))
    except UserError as e:
        raise RunError(str(e)) from None
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    if state is not None:
        try:
            gan.load_state_dict(state)
        except (RuntimeError, KeyError, ValueError) as e:
            raise RunError(f"{ckpt_path} does not match its config: "
                           f"{mismatch_message(e)}") from None
        if dist.is_main:
            truncate_log(run.log, gan.step)
    elif dist.is_main:
        if restart:  # a run killed before its first checkpoint: nothing to resume, start over
            for p in run.preview_files():
                p.unlink()
            gan.notes.append(f"{run_dir} held a run stopped before its first checkpoint; it "
                             "starts over")
        with removed_on_failure(run_dir, RunFolder.START_FILES):  # all or none (a full disk)
            run.previews.mkdir(exist_ok=True)
            run.snapshots.mkdir(exist_ok=True)
            cfg.save(run.config)
            atomic_write_text(run.log, "")
    return gan, data, cfg, gan.step


def _run(gan: Model, data: Data, cfg: RunConfig, run_dir: Path, control: TrainControl,
         total: int) -> Iterator[Event]:
    t = cfg.train
    main = gan.dist.is_main
    fixed_z, fixed_y = _fixed_noise(cfg, gan)
    last_good: int | None = gan.step if gan.step else None
    notified = 0  # gan.notes already reported
    # Other ranks log nowhere: their loss values only feed their own (silent) events.
    log_path = RunFolder(run_dir).log if main else Path(os.devnull)
    log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - held for the run
    window = _LogWindow(gan, log, gan.step + 1)
    fixed_real = _fixed_real(gan, data)
    try:
        if gan.step == 0 and main:
            yield _preview(gan, fixed_z, fixed_y, run_dir, data, fixed_real)
        notified = yield from _notices(gan, notified, main)  # start-up advice
        while gan.step < total:
            if any_rank(control.stop_requested, gan.dist, gan.device):
                break
            if control.paused:
                yield from window.flush(gan.step + 1)
                yield Paused(gan.step)
                control.wait_while_paused()
                if control.stop_requested:
                    break
                yield Resumed(gan.step)
                window.restart_clock()
            window.append(gan.train_step(data))
            step = gan.step
            if len(gan.notes) > notified:
                notified = yield from _notices(gan, notified, main)
            if len(window) >= t.log_every or step == total:
                yield from window.flush(step + 1)
            if main and (step % t.preview_every == 0 or step == total):
                yield _preview(gan, fixed_z, fixed_y, run_dir, data, fixed_real)
            if step % t.checkpoint_every == 0 and step != total:
                # Log up to the checkpoint (a crash then loses no logged step) and check that
                # nothing non-finite is about to be saved.
                yield from window.flush(step + 1)
                _check_weights(gan)
                last_good = step
                if main:
                    yield _save(gan, cfg, data, run_dir, snapshot=True)
                    window.restart_clock()
        yield from window.flush(gan.step + 1)
        _check_weights(gan)
        path = None
        if main:
            saved = _save(gan, cfg, data, run_dir, snapshot=gan.step == total)
            yield saved
            path = saved.path
        yield Finished(gan.step, "completed" if gan.step >= total else "stopped", path)
    except _NonFinite:
        yield _nan_failure(gan, run_dir, last_good)
    finally:
        log.close()


def _notices(gan: Model, notified: int, main: bool) -> Iterator[Event]:
    """Yield gan.notes not reported yet (rank 0 only); returns how many are reported now."""
    if main:
        for message in gan.notes[notified:]:
            yield Notice(gan.step, message)
    return len(gan.notes)


class _NonFinite(Exception):
    """A loss or a weight went NaN/inf: the run ends with the NaN failure."""


class _LogWindow:
    """The steps trained since the last flush, written to the log together (one host sync)."""

    def __init__(self, gan: Model, log: IO[str], first: int) -> None:
        self.keys, self.images_per_step, self.log = gan.stat_keys, gan.images_per_step, log
        self.buf: list[dict[str, torch.Tensor]] = []
        self.first = first  # the step of buf[0]
        self.t0 = time.perf_counter()

    def __len__(self) -> int:
        return len(self.buf)

    def append(self, stats: dict[str, torch.Tensor]) -> None:
        self.buf.append(stats)

    def restart_clock(self) -> None:
        """Time spent outside training (paused, saving) does not count against the speed."""
        self.t0 = time.perf_counter()

    def flush(self, next_first: int) -> Iterator[StepStats]:
        """Log the window and yield its StepStats (nothing if it is empty); the next window
        starts at step ``next_first``, its clock once the event is handled. Raises _NonFinite
        (nothing logged) if a loss went NaN/inf."""
        if not self.buf:
            return
        ev = _flush(self.buf, self.first, self.t0, self.keys, self.images_per_step, self.log)
        if ev is None:
            raise _NonFinite
        yield ev
        self.buf, self.first, self.t0 = [], next_first, time.perf_counter()


def _check_weights(gan: Model) -> None:
    if not _weights_finite(gan):
        raise _NonFinite


def _flush(buf: list[dict[str, torch.Tensor]], first: int, t0: float, keys: tuple[str, ...],
           images_per_step: int, log: IO[str]) -> StepStats | None:
    """One host sync for the whole window; None if a loss went NaN/inf. ``keys``: the model's
    columns (a GAN's or a VAE's), the only ones logged."""
    values = torch.stack([torch.stack([s[k] for k in keys]) for s in buf]).tolist()
    elapsed = max(time.perf_counter() - t0, 1e-9)
    cols = list(zip(*values, strict=True))
    if any(nonfinite(list(c)) for c in cols):
        return None
    steps = list(range(first, first + len(buf)))
    for s, row in zip(steps, values, strict=True):
        log.write(json.dumps({"step": s, **dict(zip(keys, row, strict=True)),
                              "time": round(time.time(), 3)}) + "\n")
    log.flush()
    rate = len(buf) / elapsed
    col = {k: list(c) for k, c in zip(keys, cols, strict=True)}
    none: list[float] = []
    return StepStats(steps, col.get("critic_loss", none), col.get("gen_loss", none),
                     col.get("gp", none), col.get("wdist", none), rate, rate * images_per_step,
                     col.get("r", []), col.get("aug_p", []), col.get("recon", []),
                     col.get("kl", []))


def _fixed_noise(cfg: RunConfig, gan: Model) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The preview batch: fixed from the seed so the grid shows the same samples improving.

    Conditional models get one row per class (cycling if there are more than 10 classes).
    """
    g = torch.Generator().manual_seed(cfg.train.seed + 12345)
    rows = min(gan.n_classes, 10) if gan.n_classes else PREVIEW_COLS
    z = torch.randn(rows * PREVIEW_COLS, cfg.model.z_dim, generator=g).to(gan.device)
    if not gan.n_classes:
        return z, None
    labels = torch.arange(rows).repeat_interleave(PREVIEW_COLS).to(gan.device)
    return z, F.one_hot(labels, gan.n_classes).float()


RECON_PAIRS = 16  # real | reconstruction pairs in a VAE's preview


def _fixed_real(gan: Model, data: Data) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """A VAE's preview images: the data's first RECON_PAIRS (a fixed sample of a streamed set),
    in [-1, 1] on the device, with their one-hot classes; None for a GAN."""
    if not isinstance(gan, VAE):
        return None
    held = data if isinstance(data, ImageData) else data.in_memory_sample(RECON_PAIRS)
    x = held.images[:RECON_PAIRS].to(gan.device).float().div(127.5).sub(1.0)
    labels = None if held.labels is None else held.labels[:RECON_PAIRS].to(gan.device)
    return x, gan._one_hot(labels)


def _reconstructions(gan: Model, real: tuple[torch.Tensor, torch.Tensor | None] | None
                     ) -> np.ndarray | None:
    """Real | reconstruction pairs side by side, PREVIEW_COLS tiles a row."""
    if real is None or not isinstance(gan, VAE):
        return None
    x, y = real
    pairs = torch.stack([x, gan.reconstruct(x, y).to(x.dtype)], dim=1).flatten(0, 1)
    return make_grid(to_uint8(pairs).cpu().numpy(), cols=PREVIEW_COLS)


def _preview(gan: Model, z: torch.Tensor, y: torch.Tensor | None, run_dir: Path,
             data: Data, real: tuple[torch.Tensor, torch.Tensor | None] | None = None
             ) -> Preview:
    tiles = to_uint8(gan.sample_ema(z, y)).cpu().numpy()
    grid = make_grid(tiles, cols=PREVIEW_COLS)
    path = RunFolder(run_dir).preview(gan.step)
    with atomic_open(path, "wb") as f:
        Image.fromarray(grid).save(f, format="PNG")
    recon = _reconstructions(gan, real)
    if recon is not None:
        with atomic_open(RunFolder(run_dir).reconstruction(gan.step), "wb") as f:
            Image.fromarray(recon).save(f, format="PNG")
    return Preview(gan.step, grid, path, gan.ema_state_cpu(), _critic_view(gan, data), recon)


def _critic_view(gan: Model, data: Data) -> np.ndarray | None:
    """The first 16 real images as the critic sees them at the current augmentation strength
    (a generator of its own, so the training stream is untouched); None when not augmenting."""
    if not gan.augmenting or not isinstance(data, ImageData):
        return None
    x = data.images[:2 * PREVIEW_COLS].float().div(127.5).sub(1.0)
    g = torch.Generator(device=x.device).manual_seed(gan.step)
    q = augment.draw(len(x), gan.size, gan.aug_p.to(x.device), g)
    return make_grid(to_uint8(augment.apply(x, q)).cpu().numpy(), cols=PREVIEW_COLS)


def _save(gan: Model, cfg: RunConfig, data: Data, run_dir: Path, snapshot: bool) -> CheckpointSaved:
    run = RunFolder(run_dir)
    save_checkpoint(run.checkpoint, checkpoint_state(gan, cfg, data, full=True))
    if snapshot:
        save_checkpoint(run.snapshot(gan.step), checkpoint_state(gan, cfg, data, full=False))
    return CheckpointSaved(gan.step, run.checkpoint)


def _weights_finite(gan: Model) -> bool:
    """Whether every float tensor a checkpoint holds (weights, buffers, optimiser state) is
    finite, on every process: one host sync, before each save."""
    tensors = gan.tensors_to_check()
    flags = [torch.isfinite(v).all() for v in tensors if v.is_floating_point() and v.numel()]
    finite = bool(torch.stack(flags).all()) if flags else True
    return not any_rank(not finite, gan.dist, gan.device)


def _nan_advice(t: TrainConfig, arch: str = "dcgan", precision: str = "fp32") -> str:
    """What to change before resuming, for the loss and the precision computed in."""
    tips = ["Lower the learning rate"]
    if precision != "fp32":
        tips.append("train in fp32")
    if t.loss != "wgan-gp" and arch != "vae":
        tips.append("use the WGAN-GP loss, the most stable one here")
    return ", ".join(tips[:-1]) + " or " + tips[-1] if len(tips) > 1 else tips[0]


def _nan_failure(gan: Model, run_dir: Path, last_good: int | None) -> Failed:
    """Stop on a NaN/inf: roll back to the checkpoint (always finite: nothing else is saved)."""
    bad = gan.step
    advice = _nan_advice(gan.cfg.train, gan.cfg.model.arch, gan.precision)
    ckpt = RunFolder(run_dir).checkpoint
    state = None
    if last_good is not None and ckpt.is_file():
        try:
            state = load_raw(ckpt)
        except CheckpointError:
            state = None
    if state is not None:
        gan.load_state_dict(state)
        if _weights_finite(gan):
            if gan.dist.is_main:
                truncate_log(RunFolder(run_dir).log, gan.step)
            return Failed(bad, f"training went NaN/inf near step {bad}: it stopped and the "
                          f"run was rolled back to its checkpoint of step {gan.step} ({ckpt}). "
                          f"{advice} before resuming.")
        return Failed(bad, f"training went NaN/inf near step {bad}: it stopped. Its "
                      f"checkpoint ({ckpt}) holds non-finite weights too, so there is no good "
                      f"checkpoint to roll back to: start a new run. {advice}.")
    return Failed(bad, f"training went NaN/inf near step {bad}, before any checkpoint was "
                  f"written: it stopped, with no checkpoint to roll back to. {advice}.")
