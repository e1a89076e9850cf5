"""How a training step runs: the losses as modules, torch.compile with an eager fallback, bf16.

The critic's loss is one ``nn.Module`` (``CriticLoss``) whose forward makes every use of the
critic's weights: the scores of real and fake images and, for WGAN-GP, the gradient penalty. That
gives three things one shape:

* under ``torchrun`` it is what DistributedDataParallel wraps, so gradients are averaged for the
  explicit penalty too (it calls the critic's layers directly, which a DDP wrapper around the
  critic alone would not see);
* it is what ``torch.compile`` compiles (with CUDA graphs on a GPU: "reduce-overhead");
* ``precision="bf16"`` autocasts the critic's scores inside it, and keeps the penalty float32.

``LossRunner`` runs "zero the gradients, forward, backward" for one loss. If the compiled version
fails (a compiler missing, an unsupported layer, a graph that cannot be captured), it says so once
in ``notes`` and runs eager from then on; the step is pure up to the backward, so redoing it eager
is safe.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from trainer import augment, fastgp, losses
from trainer.config import TrainConfig
from trainer.losses import Stats


def class_loss_weight(critic: nn.Module, t: TrainConfig) -> float:
    """The weight of the auxiliary class loss: ``t.class_loss`` where the critic has a class
    head (``classify``), else 0 (no class loss at all)."""
    return t.class_loss if getattr(critic, "classify", None) is not None else 0.0


class CriticLoss(nn.Module):
    """forward(real, fake, y, eps) -> (loss, stats) for the configured loss (eps: WGAN-GP's
    interpolation weights, one per sample; None for the other losses).

    With ``precision="bf16"`` the critic's scores run under bfloat16 autocast, but the gradient
    penalty stays float32: it differentiates the critic's input gradient, whose norm bf16 gets
    wrong by several percent (README, "How a training step runs": bf16 only where it is numerically
    safe, and the gradient penalty is not).
    """

    def __init__(self, critic: nn.Module, t: TrainConfig):
        super().__init__()
        self.critic, self.loss, self.gp_lambda = critic, t.loss, t.gp_lambda
        self.precision = t.precision
        self.class_loss = class_loss_weight(critic, t)
        # The explicit penalty (first-order only) where the critic's layers allow it; autograd's
        # double backward otherwise (the MLP critic).
        self.explicit = (t.loss == "wgan-gp" and t.gp_impl == "explicit"
                         and fastgp.supports(critic))

    def forward(self, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None,
                eps: torch.Tensor | None) -> tuple[torch.Tensor, Stats]:
        if self.loss == "wgan-gp":
            assert eps is not None, "WGAN-GP needs one interpolation weight per sample"
            if self.precision == "fp32":
                fn = (fastgp.wgan_gp_critic_loss_explicit if self.explicit
                      else losses.wgan_gp_critic_loss)
                return fn(self.critic, real, fake, y, eps, self.gp_lambda)
            return self._mixed_wgan_gp(real, fake, y, eps)
        with autocast(self.precision, real.device):
            if self.loss == "hinge":
                loss, stats = losses.hinge_critic_loss(self.critic, real, fake, y,
                                                       self.class_loss)
            else:
                fn = {"wgan-clip": losses.wgan_critic_loss, "bce": losses.bce_critic_loss}
                loss, stats = fn[self.loss](self.critic, real, fake, y)
        return loss.float(), stats

    def _mixed_wgan_gp(self, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None,
                       eps: torch.Tensor) -> tuple[torch.Tensor, Stats]:
        """Scores of real and fake (one pass) in low precision; the penalty in float32."""
        n = len(real)
        with autocast(self.precision, real.device):
            scores = self.critic(torch.cat([real, fake]),
                                 None if y is None else torch.cat([y, y])).float()
        w_dist = scores[:n].mean() - scores[n:].mean()
        gp_fn = (fastgp.gradient_penalty_explicit if self.explicit
                 else losses.gradient_penalty)
        gp = gp_fn(self.critic, real, fake, y, eps)
        loss = -w_dist + self.gp_lambda * gp
        return loss, {"critic_loss": loss.detach(), "wdist": w_dist.detach(), "gp": gp.detach(),
                      "r": losses.overfit_signal(scores[:n], scores[n:], False)}


class GeneratorLoss(nn.Module):
    """forward(z, y, aug) -> (loss, stats): the critic's weights are constants here.

    ``aug``: augmentation parameters (trainer/augment.py) or None; the critic sees the generated
    images augmented as it sees real ones, and the gradient flows back through the augmentation.
    """

    def __init__(self, generator: nn.Module, critic: nn.Module, t: TrainConfig):
        super().__init__()
        self.generator, self.critic = generator, critic
        self.loss, self.precision = t.loss, t.precision
        self.class_loss = class_loss_weight(critic, t)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None,
                aug: augment.Params | None = None) -> tuple[torch.Tensor, Stats]:
        with autocast(self.precision, z.device):
            fake = self.generator(z, y)
            if aug is not None:
                fake = augment.apply(fake, aug)
            scores, logits = (self.critic.scores_and_logits(fake, y) if self.class_loss
                              else (self.critic(fake, y), None))
        scores = scores.float()
        g = (losses.bce_generator_loss(scores) if self.loss == "bce"
             else losses.wgan_generator_loss(scores))
        if logits is not None and y is not None:  # the auxiliary head: "is it the asked class?"
            g = g + self.class_loss * F.cross_entropy(logits.float(), y.float())
        return g, {"gen_loss": g.detach()}


def compile_mode(setting: str, device: torch.device, distributed: bool) -> str | None:
    """The torch.compile mode for a config's ``compile`` setting, or None for eager.

    "auto" compiles on a single CUDA GPU only. On the CPU the step is convolution-bound and
    inductor gains nothing at real sizes (measured at 32 px, batch 32: 283 ms of CPU time per
    step compiled, 261 ms eager) while costing ~30 s of compiling; only toy models (16 px,
    width 8) gain, from less Python overhead. Under DDP the eager path is the tested one.
    """
    if setting == "off" or (setting == "auto" and (device.type != "cuda" or distributed)):
        return None
    return "reduce-overhead" if device.type == "cuda" else "default"


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` is a CPU with bf16 matrix units (Intel AMX), where oneDNN runs the
    convolutions in bf16 faster than fp32. Measured on a 2-core Xeon with AMX: the SN-GAN step
    at 32 px 58 ms of CPU against 78 (docs/recipes.md); without such units bf16 is emulated,
    16x slower on a 2-core EPYC."""
    if device.type != "cpu":
        return False
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    try:
        return bool(probe and probe())
    except RuntimeError:
        return False


def resolve_precision(setting: str, device: torch.device) -> str:
    """The precision a run computes in for its ``precision`` setting: "auto" is bf16 on a CPU
    with bf16 units and fp32 elsewhere (on GPUs bf16 is not yet measured against fp32 here)."""
    if setting == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return setting


def startup_notes(mode: str | None, setting: str, precision: str,
                  device: torch.device) -> list[str]:
    """Advice shown when a run starts; ``setting`` is the config's precision, ``precision``
    what it resolved to."""
    notes = []
    if mode:
        notes.append("compiling the training step (torch.compile): the first steps take a "
                     "minute or so, then it runs faster")
    if precision == "bf16" and device.type == "cpu":
        if setting == "auto":
            notes.append("precision auto: bf16 on this CPU's bf16 units (about a quarter less "
                         "time per step than fp32)")
        elif not native_bf16(device):
            notes.append("bf16 on a CPU without bf16 units is emulated and much slower than fp32 "
                         "(16x slower measured on a 2-core EPYC); precision auto picks fp32 "
                         "here")
    return notes


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def check_precision(precision: str, device: torch.device) -> None:
    """Raise RuntimeError with a user message if ``precision`` cannot run on ``device``."""
    if precision != "bf16":
        return
    try:
        with autocast(precision, device):
            torch.nn.functional.conv2d(torch.ones(1, 1, 2, 2, device=device),
                                       torch.ones(1, 1, 1, 1, device=device))
    except (RuntimeError, TypeError) as e:
        raise RuntimeError(f"precision bf16 is not supported on {device}: {str(e)[:160]} "
                           "(use precision fp32)") from None


class LossRunner:
    """Zero the optimiser's gradients, compute one loss (compiled if asked), back-propagate."""

    def __init__(self, name: str, module: nn.Module, opt: torch.optim.Optimizer,
                 mode: str | None, notes: list[str]):
        self.name, self.module, self.opt, self.mode, self.notes = name, module, opt, mode, notes
        self.compiled: Callable | None = torch.compile(module, mode=mode) if mode else None

    @property
    def is_compiled(self) -> bool:
        return self.compiled is not None

    def __call__(self, *args: Any) -> Stats:
        if self.compiled is not None:
            try:
                return self._run(self.compiled, args)
            except torch.OutOfMemoryError:
                raise
            except Exception as e:  # noqa: BLE001 - any compiler failure: run eager instead
                self.notes.append(f"torch.compile of the {self.name} failed, running it eager "
                                  f"from now on ({type(e).__name__}: {str(e).strip()[:200]})")
                self.compiled = None
        return self._run(self.module, args)

    def _run(self, fn: Callable, args: tuple) -> Stats:
        self.opt.zero_grad(set_to_none=True)
        loss, stats = fn(*args)
        loss.backward()
        # float32 for the log (bf16 stats otherwise); outputs of a CUDA graph are overwritten by
        # its next replay, so compiled ones are copied.
        if self.compiled is not None:
            return {k: v.float().clone() for k, v in stats.items()}
        return {k: v.float() for k, v in stats.items()}


def describe(critic_runner: LossRunner, precision: str) -> str:
    """One line for the user: how the step runs ("explicit gradient penalty, eager, fp32")."""
    m = critic_runner.module
    inner = getattr(m, "module", m)  # a DDP wrapper's module
    loss = getattr(inner, "loss", "")
    parts = []
    if loss == "wgan-gp":
        parts.append("explicit gradient penalty" if getattr(inner, "explicit", False)
                     else "autograd gradient penalty (double backward)")
    mode = critic_runner.mode if critic_runner.is_compiled else None
    parts.append(f"torch.compile {mode}" if mode else "eager")
    parts.append("bf16 scores, fp32 penalty" if precision == "bf16" and loss == "wgan-gp"
                 else precision)
    if inner is not m:
        parts.append("DDP")
    return ", ".join(parts)
