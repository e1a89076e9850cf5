"""The explicit gradient penalty equals autograd's double-backward reference (float64)."""

import pytest
import torch

from trainer import fastgp, losses
from trainer.config import ModelConfig
from trainer.models import build_critic, init_weights


def _critic(size: int, n_classes: int, arch: str = "dcgan") -> torch.nn.Module:
    torch.manual_seed(size + n_classes)
    m = ModelConfig(arch=arch, width=4, conditional=n_classes > 0)
    D = build_critic(m, size, 3, n_classes).double()
    init_weights(D)
    # Non-trivial affine norms and biases, so every term of the formula is exercised.
    with torch.no_grad():
        for p in D.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return D


def _batch(size: int, n_classes: int, n: int = 5):
    g = torch.Generator().manual_seed(1)
    real = torch.rand(n, 3, size, size, generator=g, dtype=torch.float64) * 2 - 1
    fake = torch.rand(n, 3, size, size, generator=g, dtype=torch.float64) * 2 - 1
    eps = torch.rand(n, generator=g, dtype=torch.float64)
    y = None
    if n_classes:
        y = torch.eye(n_classes, dtype=torch.float64)[torch.arange(n) % n_classes]
    return real, fake, y, eps


def _grads(D, loss):
    """Gradients w.r.t. every parameter; biases the penalty does not depend on give zeros."""
    params = list(D.parameters())
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=True)]


@pytest.mark.parametrize("size", [8, 16])
@pytest.mark.parametrize("n_classes", [0, 3])
def test_penalty_and_parameter_gradients_match_autograd(size, n_classes):
    D = _critic(size, n_classes)
    real, fake, y, eps = _batch(size, n_classes)
    ref = losses.gradient_penalty(D, real, fake, y, eps)
    exp = fastgp.gradient_penalty_explicit(D, real, fake, y, eps)
    assert abs(ref.item() - exp.item()) < 1e-10 * max(1.0, abs(ref.item()))
    for a, b in zip(_grads(D, ref), _grads(D, exp), strict=True):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-10), (a - b).abs().max()


@pytest.mark.parametrize("n_classes", [0, 3])
def test_input_gradient_and_scores_match_autograd(n_classes):
    D = _critic(16, n_classes)
    x, _, y, _ = _batch(16, n_classes)
    x = x.requires_grad_(True)
    scores = D(x, y)
    (ref,) = torch.autograd.grad(scores.sum(), x)
    s, g = fastgp.critic_and_input_grad(D, x.detach(), y)
    assert torch.allclose(s, scores, rtol=0, atol=1e-12)
    assert torch.allclose(g, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n_classes", [0, 3])
def test_fused_critic_loss_matches_reference_loss(n_classes):
    D = _critic(8, n_classes)
    real, fake, y, eps = _batch(8, n_classes)
    ref, ref_stats = losses.wgan_gp_critic_loss(D, real, fake, y, eps, 10.0)
    exp, exp_stats = fastgp.wgan_gp_critic_loss_explicit(D, real, fake, y, eps, 10.0)
    for k in ("critic_loss", "wdist", "gp"):
        assert abs(ref_stats[k].item() - exp_stats[k].item()) < 1e-10
    for a, b in zip(_grads(D, ref), _grads(D, exp), strict=True):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-10)


def test_no_double_backward_needed():
    """The penalty's graph is first order: backward works without create_graph anywhere."""
    D = _critic(8, 0).float()
    real, fake, _, eps = (t.float() if t is not None else None for t in _batch(8, 0))
    fastgp.gradient_penalty_explicit(D, real, fake, None, eps).backward()
    weights = [m.weight for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(w.grad is not None and torch.isfinite(w.grad).all() for w in weights)


def test_supports_only_conv_critics():
    assert fastgp.supports(_critic(8, 0))
    mlp = _critic(8, 0, arch="mlp")
    assert not fastgp.supports(mlp)
    with pytest.raises(TypeError, match="autograd|gradient_penalty"):
        fastgp.critic_and_input_grad(mlp, torch.zeros(1, 3, 8, 8, dtype=torch.float64), None)
