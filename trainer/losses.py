"""GAN losses as small pure functions of a critic and tensors.

Each critic loss returns ``(loss, stats)`` where stats are detached 0-d tensors kept on the device
(the loop reads them back in batches, never per step).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

Stats = dict[str, torch.Tensor]


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
    w_dist = critic(real, y).mean() - critic(fake, y).mean()
    gp = gradient_penalty(critic, real, fake, y, eps)
    loss = -w_dist + gp_lambda * gp
    return loss, {"critic_loss": loss.detach(), "wdist": w_dist.detach(), "gp": gp.detach()}


def wgan_critic_loss(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     y: torch.Tensor | None) -> tuple[torch.Tensor, Stats]:
    """Weight-clipped WGAN: mean C(fake) - mean C(real); clip with ``clip_weights`` after step."""
    w_dist = critic(real, y).mean() - critic(fake, y).mean()
    loss = -w_dist
    return loss, {"critic_loss": loss.detach(), "wdist": w_dist.detach()}


def bce_critic_loss(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                    y: torch.Tensor | None) -> tuple[torch.Tensor, Stats]:
    """Discriminator of the non-saturating GAN: BCE(D(real), 1) + BCE(D(fake), 0)."""
    s_real, s_fake = critic(real, y), critic(fake, y)
    loss = (F.binary_cross_entropy_with_logits(s_real, torch.ones_like(s_real))
            + F.binary_cross_entropy_with_logits(s_fake, torch.zeros_like(s_fake)))
    # For BCE the "Wasserstein estimate" column shows the logit gap, a comparable separation signal.
    gap = s_real.mean() - s_fake.mean()
    return loss, {"critic_loss": loss.detach(), "wdist": gap.detach()}


def wgan_generator_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    """-mean C(G(z)), for both WGAN variants."""
    return -scores_fake.mean()


def bce_generator_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: BCE(D(G(z)), 1)."""
    return F.binary_cross_entropy_with_logits(scores_fake, torch.ones_like(scores_fake))


@torch.no_grad()
def clip_weights(critic: nn.Module, c: float) -> None:
    for p in critic.parameters():
        p.clamp_(-c, c)
