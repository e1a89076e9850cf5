"""One GAN training step, as an object that owns the models, optimisers and random state.

The loop (loop.py) drives it and handles logging, previews and checkpoints; the benchmark drives
it directly. Everything random comes from ``self.rng`` (a generator on the training device) so a
resumed run continues exactly.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from trainer import augment, losses, speed
from trainer.config import AUGMENT_AUTO_IMAGES, RunConfig, augment_on
from trainer.distributed import DistInfo
from trainer.models import build_critic, build_generator, ema_update, init_weights

# What a GAN step reports (the loop logs these columns; see trainer/runlog.py).
GAN_STATS = ("critic_loss", "gen_loss", "gp", "wdist", "r", "aug_p")


class GAN:
    stat_keys = GAN_STATS
    has_critic = True

    def __init__(self, cfg: RunConfig, size: int, channels: int, n_classes: int,
                 device: torch.device, dist: DistInfo | None = None, n_images: int = 0):
        self.cfg, self.device = cfg, device
        self.dist = dist or DistInfo()
        self.size, self.channels = size, channels
        self.n_classes = n_classes if cfg.model.conditional else 0
        torch.manual_seed(cfg.train.seed)
        self.G = build_generator(cfg.model, size, channels, n_classes).to(device)
        self.D = build_critic(cfg.model, size, channels, n_classes,
                              aux_classifier=cfg.train.class_loss > 0).to(device)
        init_weights(self.G)
        init_weights(self.D)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        t = cfg.train
        fused = device.type == "cuda"
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=t.lr, betas=t.betas, fused=fused)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=t.lr_critic or t.lr, betas=t.betas,
                                      fused=fused)
        # Adaptive augmentation (trainer/augment.py): p, the chance of each op, lives on the
        # device and moves every step without a host sync; n_images = 0 (unknown) means large.
        self.augmenting = augment_on(t.augment, n_images or 1 << 30)
        self.aug_p = torch.zeros((), device=device)
        # The precision the step computes in ("auto" resolved for this device); the losses see
        # it in place of the setting, which the config keeps.
        self.precision = speed.resolve_precision(t.precision, device)
        speed.check_precision(self.precision, device)
        t_step = dataclasses.replace(t, precision=self.precision)
        # What the step runs through: the losses as modules (trainer/speed.py); under torchrun the
        # critic loss and the generator in DDP wrappers (gradients averaged across processes).
        # State is always read from the plain G and D.
        critic_loss: nn.Module = speed.CriticLoss(self.D, t_step)
        self._G: nn.Module = self.G
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [device.index] if device.type == "cuda" else None
            critic_loss, self._G = DDP(critic_loss, device_ids=ids), DDP(self.G, device_ids=ids)
        # Notes for the user (start-up advice, a compile that fell back to eager); the loop
        # reports new ones as Notice events.
        mode = speed.compile_mode(t.compile, device, self.dist.enabled)
        self.notes: list[str] = speed.startup_notes(mode, t.precision, self.precision, device)
        if self.augmenting:
            why = (f"{n_images} training images, under {AUGMENT_AUTO_IMAGES}"
                   if t.augment == "auto" else "augment: ada")
            self.notes.append(f"adaptive augmentation on ({why}): the critic sees colour, "
                              f"translation and cutout at a strength steered to r = "
                              f"{t.augment_target}")
        self._n_startup_notes = len(self.notes)
        self._critic_step = speed.LossRunner("critic loss", critic_loss, self.opt_D, mode,
                                             self.notes)
        # The critic's weights are constants in the generator step (so the plain critic, not a
        # DDP wrapper, which would wait for critic gradients that never come).
        self._gen_step = speed.LossRunner(
            "generator loss", speed.GeneratorLoss(self._G, self.D, t_step), self.opt_G, mode,
            self.notes)
        self.rng = torch.Generator(device=device).manual_seed(self._rank_seed(0))
        self.images_per_step = t.batch_size * t.n_critic  # real images through the critic
        self.step = 0

    # --- one generator step (n_critic critic steps first) -------------------------------------
    def train_step(self, data: Any) -> dict[str, torch.Tensor]:
        """Returns detached 0-d device tensors: critic_loss, gen_loss, gp, wdist, r, aug_p."""
        t = self.cfg.train
        bs, z_dim = t.batch_size, self.cfg.model.z_dim
        if t.lr_decay:
            f = lr_factor(self.step, t.steps, t.lr_decay, t.lr_decay_to)
            for opt, lr in ((self.opt_G, t.lr), (self.opt_D, t.lr_critic or t.lr)):
                for group in opt.param_groups:
                    group["lr"] = lr * f
        stats: dict[str, torch.Tensor] = {}
        if self._critic_step.is_compiled and self.device.type == "cuda":
            torch.compiler.cudagraph_mark_step_begin()
        self.D.requires_grad_(True)
        for _ in range(t.n_critic):
            real, labels = data.batch(bs, self.rng)
            y = self._one_hot(labels)
            z = torch.randn(bs, z_dim, device=self.device, generator=self.rng)
            with torch.no_grad(), speed.autocast(self.precision, self.device):
                fake = self._G(z, y)
            eps = (torch.rand(bs, device=self.device, generator=self.rng)
                   if t.loss == "wgan-gp" else None)
            fake = fake.to(real.dtype)
            if self.augmenting:
                real = augment.apply(real, augment.draw(bs, self.size, self.aug_p, self.rng))
                fake = augment.apply(fake, augment.draw(bs, self.size, self.aug_p, self.rng))
            stats = self._critic_step(real, fake, y, eps)
            self.opt_D.step()
            if self.augmenting:
                self.aug_p = augment.adjust(self.aug_p, stats["r"], t.augment_target, bs)
            if t.loss == "wgan-clip":
                losses.clip_weights(self.D, t.clip)

        self.D.requires_grad_(False)
        z = torch.randn(bs, z_dim, device=self.device, generator=self.rng)
        y = self._random_classes(bs)
        aug = augment.draw(bs, self.size, self.aug_p, self.rng) if self.augmenting else None
        g_stats = self._gen_step(z, y, aug)
        self.opt_G.step()
        ema_update(self.G_ema, self.G, ema_decay_at(self.step, t.ema_decay))
        self.step += 1
        zero = torch.zeros((), device=self.device)
        return {"critic_loss": stats["critic_loss"], "gen_loss": g_stats["gen_loss"],
                "gp": stats.get("gp", zero), "wdist": stats["wdist"], "r": stats["r"],
                "aug_p": self.aug_p.clone()}

    @property
    def step_impl(self) -> str:
        """How the step runs, for the user: "explicit gradient penalty, eager, fp32"."""
        return speed.describe(self._critic_step, self.precision)

    @property
    def fallback_notes(self) -> list[str]:
        """Notes from running (a compile that fell back to eager), not the start-up advice."""
        return self.notes[self._n_startup_notes:]

    @property
    def compiled(self) -> bool:
        return self._critic_step.is_compiled

    def _one_hot(self, labels: torch.Tensor | None) -> torch.Tensor | None:
        return one_hot(labels, self.n_classes)

    def _random_classes(self, n: int) -> torch.Tensor | None:
        if not self.n_classes:
            return None
        labels = torch.randint(self.n_classes, (n,), device=self.device, generator=self.rng)
        return F.one_hot(labels, self.n_classes).float()

    # --- state ---------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step, "G": self.G.state_dict(), "G_ema": self.G_ema.state_dict(),
                "D": self.D.state_dict(), "opt_G": self.opt_G.state_dict(),
                "opt_D": self.opt_D.state_dict(), "rng": rng_state(self.rng),
                "aug_p": float(self.aug_p)}

    def snapshot_state(self) -> dict[str, Any]:
        """What a snapshot keeps: the averaged generator, for exploring."""
        return {"G_ema": self.G_ema.state_dict()}

    def tensors_to_check(self) -> list[torch.Tensor]:
        """Every float tensor a checkpoint holds (weights, buffers, optimiser state)."""
        out = [v for m in (self.G, self.G_ema, self.D) for v in m.state_dict().values()]
        for opt in (self.opt_G, self.opt_D):
            out += [v for st in opt.state.values() for v in st.values()
                    if isinstance(v, torch.Tensor)]
        return out

    def load_state_dict(self, d: dict[str, Any]) -> None:
        self.G.load_state_dict(d["G"])
        self.G_ema.load_state_dict(d["G_ema"])
        self.D.load_state_dict(d["D"])
        self.opt_G.load_state_dict(d["opt_G"])
        self.opt_D.load_state_dict(d["opt_D"])
        self.step = int(d["step"])
        self.aug_p.fill_(float(d.get("aug_p", 0.0)))
        # Only rank 0's stream is saved; other ranks start a fresh, distinct one.
        restore_rng(d["rng"], self.rng, self._rank_seed(self.step), self.notes,
                    own_stream=self.dist.rank == 0, cuda=not self.dist.enabled)

    def _rank_seed(self, step: int) -> int:
        return self.cfg.train.seed + 1_000_003 * self.dist.rank + step

    def ema_state_cpu(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().to("cpu", copy=True) for k, v in self.G_ema.state_dict().items()}

    @torch.no_grad()
    def sample_ema(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.G_ema(z, y)


def nonfinite(values: list[float]) -> bool:
    return any(v != v or v in (float("inf"), float("-inf")) for v in values)


def one_hot(labels: torch.Tensor | None, n_classes: int) -> torch.Tensor | None:
    """Class labels as float one-hot rows; None for an unconditional model or no labels."""
    if not n_classes or labels is None:
        return None
    return F.one_hot(labels.long(), n_classes).float()


def rng_state(loop: torch.Generator) -> dict[str, Any]:
    """A run's random state for its checkpoint: torch's global generator, the loop's own stream
    and, where there are GPUs, theirs."""
    rng: dict[str, Any] = {"torch": torch.get_rng_state(), "loop": loop.get_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return rng


def restore_rng(saved: dict[str, Any], loop: torch.Generator, reseed: int, notes: list[str],
                own_stream: bool = True, cuda: bool = True) -> None:
    """Put back what ``rng_state`` saved. The loop's stream is restored if ``own_stream``, else
    seeded with ``reseed``; a stream saved on another kind of device cannot be restored (a CPU
    and a CUDA generator keep states of different kinds), so it is reseeded and a note says so.
    The GPUs' generators are restored if ``cuda`` and the same GPUs are there as when saved."""
    torch.set_rng_state(saved["torch"].cpu())
    if not own_stream:
        loop.manual_seed(reseed)
    else:
        try:
            loop.set_state(saved["loop"].cpu())
        except RuntimeError:
            loop.manual_seed(reseed)
            notes.append("this run was saved on another kind of device: the batches and noise "
                         "from here on differ from an uninterrupted run's")
    if (cuda and "cuda" in saved and torch.cuda.is_available()
            and len(saved["cuda"]) == torch.cuda.device_count()):
        torch.cuda.set_rng_state_all(saved["cuda"])


# The average's horizon, 1 / (1 - decay) steps, is held to this fraction of the steps taken so far
# (StyleGAN2-ADA's EMA ramp-up), until the configured decay is reached: early on a 1000-step
# average would be dominated by weights from the start. At 0.05 a 2-minute run (1,700 steps)
# averages over its last ~86 steps, and runs past 20,000 steps reach 0.999. On Shapes 32 px at
# 1,700 steps a horizon of ~6% gave 51% class accuracy against 41% with one of ~11%
# (docs/recipes.md).
EMA_RAMPUP = 0.05


def ema_decay_at(step: int, decay: float) -> float:
    """The EMA decay used at ``step``: ``decay``, or less while the run is young."""
    return min(decay, 1.0 - 1.0 / (1.0 + EMA_RAMPUP * step))


def lr_factor(step: int, steps: int, decay: float, to: float = 0.0) -> float:
    """The learning rates' multiplier at ``step`` of ``steps``: 1, then linearly down to ``to``
    over the final ``decay`` fraction of the run (never below ``to`` if a run goes past its
    steps)."""
    start = steps * (1.0 - decay)
    if step < start or decay <= 0:
        return 1.0
    return to + (1.0 - to) * max(0.0, (steps - step) / (steps - start))
