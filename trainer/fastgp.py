"""WGAN-GP with the DCGAN critic's input gradient written out as forward ops (no double backward).

The reference penalty (``losses.gradient_penalty``) asks autograd for grad_x C(x_hat) with
``create_graph=True`` and then back-propagates through that backward graph: a double backward,
whose cost is dominated by the second derivative of the first convolution (measured; see
docs/gp_impl_comparison.md). Here the critic's backward pass is written as ordinary tensor ops:
LeakyReLU -> a map of its slopes, InstanceNorm(affine) -> the closed-form normalisation
backward, Conv2d -> conv_transpose2d with the same weight. The penalty is then a plain
differentiable function of the critic weights, so the critic loss needs one first-order
backward, and the whole step is a graph that torch.compile and CUDA graphs can capture.

Supported critics: an ``nn.Sequential`` ``critic.net`` made of Conv2d, InstanceNorm2d (no running
stats) and LeakyReLU, ending in a one-channel conv; class planes appended to the input as in
``models.DCGANCritic``. Anything else (the MLP critic) should use the autograd reference;
``supports(critic)`` says which.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainer import losses
from trainer.losses import Stats


def supports(critic: nn.Module) -> bool:
    """True if ``critic`` is a Conv/InstanceNorm/LeakyReLU stack this module can differentiate."""
    net = getattr(critic, "net", None)
    if not isinstance(net, nn.Sequential) or len(net) == 0:
        return False
    for m in net:
        if isinstance(m, nn.Conv2d):
            if m.groups != 1 or m.dilation != (1, 1) or m.padding_mode != "zeros" or \
                    isinstance(m.padding, str):
                return False
        elif isinstance(m, nn.InstanceNorm2d):
            if m.track_running_stats:
                return False
        elif not isinstance(m, nn.LeakyReLU):
            return False
    # The class planes are cut from the first conv's weight; the score is the last conv's map.
    return (isinstance(net[0], nn.Conv2d) and isinstance(net[-1], nn.Conv2d)
            and net[-1].out_channels == 1)


def _critic_input(critic: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    """Append the class planes exactly as DCGANCritic.forward does: (N, C + K, H, W)."""
    k = getattr(critic, "n_classes", 0)
    if not k:
        return x
    if y is None:
        raise ValueError(f"this is a conditional critic: pass a class vector y of shape (N, {k})")
    if y.dim() == 1:
        y = F.one_hot(y.long(), k)
    planes = y.to(x)[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
    return torch.cat([x, planes], dim=1)


def _forward(net: nn.Sequential, h: torch.Tensor) -> tuple[torch.Tensor, list]:
    """Run the critic functionally (no in-place ops), keeping what its backward needs.

    Returns the score map (N, 1, 1, 1) and a tape with one entry per layer: for a conv its input
    spatial size, for a norm (x_hat, rstd), for a LeakyReLU its slope map.
    """
    tape: list = []
    for m in net:
        if isinstance(m, nn.Conv2d):
            tape.append(h.shape[-2:])
            h = F.conv2d(h, m.weight, m.bias, m.stride, m.padding)
        elif isinstance(m, nn.InstanceNorm2d):
            # Per (sample, channel) over H, W with the biased variance, like F.instance_norm.
            mu = h.mean(dim=(2, 3), keepdim=True)
            var = (h - mu).square().mean(dim=(2, 3), keepdim=True)
            rstd = torch.rsqrt(var + m.eps)  # (N, c, 1, 1)
            x_hat = (h - mu) * rstd  # (N, c, h, w)
            tape.append((x_hat, rstd))
            h = x_hat
            if m.affine:
                h = h * m.weight[:, None, None] + m.bias[:, None, None]
        else:  # LeakyReLU
            # Its derivative as a (N, c, h, w) map of 1 / negative_slope; a multiply in the
            # backward walk is much cheaper on CPU than torch.where, and it needs no grad.
            ns = m.negative_slope
            tape.append((h > 0).to(h.dtype).mul_(1 - ns).add_(ns))
            h = F.leaky_relu(h, ns)
    return h, tape


def _input_grad(net: nn.Sequential, tape: list, g: torch.Tensor, n_image_channels: int,
                start: int) -> torch.Tensor:
    """d(sum of scores)/d(input image) for samples ``start:``, as forward ops.

    ``g`` starts as the gradient of the sum w.r.t. the score map (ones, (n, 1, 1, 1)) and walks
    the layers backwards, always the gradient w.r.t. the current layer's output (n, c, h, w).
    The class planes are constants, so the first conv's weight is cut to the image channels.
    """
    for i in range(len(net) - 1, -1, -1):
        m, saved = net[i], tape[i]
        if isinstance(m, nn.Conv2d):
            w = m.weight if i > 0 else m.weight[:, :n_image_channels]
            # conv_transpose2d is conv2d's input gradient; output_padding restores rows/cols the
            # forward stride skipped (zero for the k4 s2 p1 layers on even sizes).
            op = tuple(int(s - ((o - 1) * st - 2 * p + k)) for s, o, st, p, k in zip(
                saved, g.shape[-2:], m.stride, m.padding, m.kernel_size, strict=True))
            g = F.conv_transpose2d(g, w, None, m.stride, m.padding, op)
        elif isinstance(m, nn.InstanceNorm2d):
            x_hat, rstd = saved[0][start:], saved[1][start:]
            gx = g * m.weight[:, None, None] if m.affine else g
            # Normalisation backward: rstd * (g - mean(g) - x_hat * mean(g * x_hat)).
            g = rstd * (gx - gx.mean(dim=(2, 3), keepdim=True)
                        - x_hat * (gx * x_hat).mean(dim=(2, 3), keepdim=True))
        else:  # LeakyReLU: slope 1 where the pre-activation was positive, negative_slope elsewhere
            g = g * saved[start:]
    return g


def critic_and_input_grad(critic: nn.Module, x: torch.Tensor, y: torch.Tensor | None,
                          grad_from: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores C(x) (N,) and grad_x of sum C for samples ``grad_from:``, (N - grad_from, C, H, W).

    Both are differentiable w.r.t. the critic's parameters with a first-order backward. Passing
    a concatenated batch [real, fake, x_hat] with ``grad_from=2N`` scores all three in one pass
    and differentiates only the interpolates (InstanceNorm is per sample, so batching is exact).
    """
    if not supports(critic):
        raise TypeError(f"{type(critic).__name__} is not a Conv/InstanceNorm/LeakyReLU critic; "
                        "use losses.gradient_penalty")
    net = critic.net
    score_map, tape = _forward(net, _critic_input(critic, x, y))
    seed = torch.ones_like(score_map[grad_from:])  # d(sum of scores)/d(score map)
    grad = _input_grad(net, tape, seed, x.shape[1], grad_from)
    return score_map.flatten(), grad


def _interpolate(real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    e = eps.view(-1, *([1] * (real.dim() - 1))).to(real.dtype)
    return e * real + (1 - e) * fake


def _penalty(grad: torch.Tensor) -> torch.Tensor:
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def gradient_penalty_explicit(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                              y: torch.Tensor | None, eps: torch.Tensor) -> torch.Tensor:
    """Same value and parameter gradients as ``losses.gradient_penalty``, no double backward."""
    _, grad = critic_and_input_grad(critic, _interpolate(real, fake, eps).detach(), y)
    return _penalty(grad)


def wgan_gp_critic_loss_explicit(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                                 y: torch.Tensor | None, eps: torch.Tensor,
                                 gp_lambda: float) -> tuple[torch.Tensor, Stats]:
    """Drop-in for ``losses.wgan_gp_critic_loss``: real, fake and x_hat in ONE critic pass."""
    n = len(real)
    x_hat = _interpolate(real, fake, eps).detach()
    x = torch.cat([real, fake.detach(), x_hat])  # (3N, C, H, W)
    y3 = None if y is None else torch.cat([y, y, y])
    scores, grad = critic_and_input_grad(critic, x, y3, grad_from=2 * n)
    w_dist = scores[:n].mean() - scores[n:2 * n].mean()
    gp = _penalty(grad)
    loss = -w_dist + gp_lambda * gp
    return loss, {"critic_loss": loss.detach(), "wdist": w_dist.detach(), "gp": gp.detach(),
                  "r": losses.overfit_signal(scores[:n], scores[n:2 * n], False)}
