"""GAN losses as small pure functions of a critic and tensors.

Each critic loss returns ``(loss, stats)`` where stats are detached 0-d tensors kept on the device
(the loop reads them back in batches, never per step).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

Stats = dict[str, torch.Tensor]

# The losses whose critic has a gradient penalty (stat "gp"; the others report 0).
PENALTY_LOSSES = ("wgan-gp",)


def gap_name(loss: str) -> tuple[str, str]:
    """What the stat "wdist" of a loss is, long and short, for curves and progress lines: the
    critic's mean score on real minus fake images, a Wasserstein estimate for the WGAN losses,
    a separation signal for hinge and BCE."""
    if loss.startswith("wgan"):
        return "Wasserstein estimate", "W"
    return "score gap (real − fake)", "gap"


def overfit_signal(s_real: torch.Tensor, s_fake: torch.Tensor,
                   fixed_boundary: bool) -> torch.Tensor:
    """r = E[sign(C(real) - b)], the critic's overfitting signal (ADA), detached, 0-d.

    b = 0 where the loss fixes the decision boundary (hinge, BCE); the WGAN losses leave the
    scores' offset free, so there b = mean C(fake). r near 1: the critic is sure of every real
    image (trainer/augment.py raises the augmentation then).
    """
    b = 0.0 if fixed_boundary else s_fake.detach().float().mean()
    return torch.sign(s_real.detach().float() - b).mean()


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     y: torch.Tensor | None, eps: torch.Tensor) -> torch.Tensor:
    """mean over the batch of (||grad_x C(x_hat)||_2 - 1)^2, x_hat = eps*real + (1-eps)*fake.

    ``eps`` has shape (N,), one U(0, 1) draw per sample. Reference autograd implementation
    (double backward through the critic).
    """
    e = eps.view(-1, *([1] * (real.dim() - 1))).to(real.dtype)
    x_hat = (e * real + (1 - e) * fake).requires_grad_(True)
    scores = critic(x_hat, y)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norm = grad.flatten(1).norm(2, dim=1)
    return ((norm - 1) ** 2).mean()


def wgan_gp_critic_loss(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                        y: torch.Tensor | None, eps: torch.Tensor,
                        gp_lambda: float) -> tuple[torch.Tensor, Stats]:
    """mean C(fake) - mean C(real) + lambda * GP."""
    s_real, s_fake = critic(real, y), critic(fake, y)
    w_dist = s_real.mean() - s_fake.mean()
    gp = gradient_penalty(critic, real, fake, y, eps)
    loss = -w_dist + gp_lambda * gp
    return loss, {"critic_loss": loss.detach(), "wdist": w_dist.detach(), "gp": gp.detach(),
                  "r": overfit_signal(s_real, s_fake, False)}


def wgan_critic_loss(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     y: torch.Tensor | None) -> tuple[torch.Tensor, Stats]:
    """Weight-clipped WGAN: mean C(fake) - mean C(real); clip with ``clip_weights`` after step."""
    s_real, s_fake = critic(real, y), critic(fake, y)
    w_dist = s_real.mean() - s_fake.mean()
    loss = -w_dist
    return loss, {"critic_loss": loss.detach(), "wdist": w_dist.detach(),
                  "r": overfit_signal(s_real, s_fake, False)}


def bce_critic_loss(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                    y: torch.Tensor | None) -> tuple[torch.Tensor, Stats]:
    """Discriminator of the non-saturating GAN: BCE(D(real), 1) + BCE(D(fake), 0)."""
    s_real, s_fake = critic(real, y), critic(fake, y)
    loss = (F.binary_cross_entropy_with_logits(s_real, torch.ones_like(s_real))
            + F.binary_cross_entropy_with_logits(s_fake, torch.zeros_like(s_fake)))
    # For BCE the "Wasserstein estimate" column shows the logit gap, a comparable separation signal.
    gap = s_real.mean() - s_fake.mean()
    return loss, {"critic_loss": loss.detach(), "wdist": gap.detach(),
                  "r": overfit_signal(s_real, s_fake, True)}


def hinge_critic_loss(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                      y: torch.Tensor | None, class_loss: float = 0.0
                      ) -> tuple[torch.Tensor, Stats]:
    """Hinge loss (SN-GAN, BigGAN): mean relu(1 - C(real)) + mean relu(1 + C(fake)).

    Real and fake go through the critic in one batch: one call per step instead of two. With
    ``class_loss`` > 0 the critic's auxiliary head also learns the real images' classes.
    """
    n = len(real)
    yy = None if y is None else torch.cat([y, y])
    if class_loss > 0:
        scores, logits = critic.scores_and_logits(torch.cat([real, fake]), yy)
    else:
        scores, logits = critic(torch.cat([real, fake]), yy), None
    s_real, s_fake = scores[:n], scores[n:]
    loss = F.relu(1 - s_real).mean() + F.relu(1 + s_fake).mean()
    if logits is not None and y is not None:
        loss = loss + class_loss * F.cross_entropy(logits[:n].float(), y.float())
    gap = s_real.mean() - s_fake.mean()
    return loss, {"critic_loss": loss.detach(), "wdist": gap.detach(),
                  "r": overfit_signal(s_real, s_fake, True)}


def wgan_generator_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    """-mean C(G(z)), for both WGAN variants and the hinge loss."""
    return -scores_fake.mean()


def bce_generator_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: BCE(D(G(z)), 1)."""
    return F.binary_cross_entropy_with_logits(scores_fake, torch.ones_like(scores_fake))


@torch.no_grad()
def clip_weights(critic: nn.Module, c: float) -> None:
    for p in critic.parameters():
        p.clamp_(-c, c)
