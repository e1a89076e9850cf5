import pytest
import torch
from torch import nn

from trainer import losses
from trainer.config import ModelConfig
from trainer.models import UpConv, build_critic, build_generator, ema_update


@pytest.mark.parametrize("arch", ["dcgan", "mlp"])
@pytest.mark.parametrize("size", [8, 16, 32, 64])
@pytest.mark.parametrize("n_classes", [0, 3])
def test_shapes(arch, size, n_classes):
    m = ModelConfig(arch=arch, z_dim=5, width=4, conditional=n_classes > 0)
    G = build_generator(m, size, 3, n_classes)
    D = build_critic(m, size, 3, n_classes)
    y = torch.eye(3)[[0, 1]] if n_classes else None
    x = G(torch.randn(2, 5), y)
    assert x.shape == (2, 3, size, size)
    assert x.abs().max() <= 1
    assert D(x, y).shape == (2,)


def test_conditional_accepts_soft_class_mix_and_indices():
    m = ModelConfig(z_dim=4, width=4)
    G = build_generator(m, 8, 1, 3).eval()
    z = torch.randn(2, 4)
    a = G(z, torch.tensor([0, 2]))
    b = G(z, torch.eye(3)[[0, 2]])
    assert torch.allclose(a, b)
    assert G(z, torch.full((2, 3), 1 / 3)).shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match="conditional"):
        G(z)


@pytest.mark.parametrize("n,hw,cin,cout,stride,pad,im2col", [
    (1, 1, 12, 16, 1, 0, True),   # 1x1 input
    (2, 4, 16, 8, 2, 1, True),    # small input
    (8, 8, 16, 8, 2, 1, False),   # big input: the default (oneDNN) path
    (8, 8, 16, 3, 2, 1, True),    # RGB output, at any size
])
def test_upconv_fast_cpu_paths_equal_conv_transpose(n, hw, cin, cout, stride, pad, im2col):
    torch.manual_seed(0)
    up = UpConv(cin, cout, 4, stride, pad)
    ref = nn.ConvTranspose2d(cin, cout, 4, stride, pad)
    ref.load_state_dict(up.state_dict())
    x = torch.randn(n, cin, hw, hw)
    with torch.inference_mode(), torch.profiler.profile() as prof:
        out = up(x)
    with torch.inference_mode():
        assert torch.allclose(out, ref(x), atol=1e-5)
    ops = {e.name for e in prof.events()}
    assert ("aten::slow_conv_transpose2d" in ops) == im2col
    # with autograd on (training) it is an ordinary ConvTranspose2d, gradients included
    x.requires_grad_(True)
    up(x).square().sum().backward()
    assert x.grad is not None and up.weight.grad is not None


def test_upconv_under_cpu_autocast_keeps_autocast_dtypes():
    up = UpConv(8, 3, 4, 2, 1)  # RGB layer: the im2col path, were it not for autocast
    x = torch.randn(2, 8, 8, 8)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert up(x).dtype == up(x.bfloat16()).dtype == torch.bfloat16


def test_bad_size_rejected():
    with pytest.raises(ValueError, match="power of two"):
        build_generator(ModelConfig(), 48, 3, 0)


class TinyCritic(nn.Module):
    """C(x) = sum(w * x^2): grad_x C = 2 w x, computable by hand."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x, y=None):
        return (self.w * x**2).flatten(1).sum(1)


def test_gradient_penalty_matches_hand_computation():
    torch.manual_seed(0)
    w = torch.randn(1, 2, 2, dtype=torch.float64)
    real = torch.randn(3, 1, 2, 2, dtype=torch.float64)
    fake = torch.randn(3, 1, 2, 2, dtype=torch.float64)
    eps = torch.tensor([0.0, 0.3, 1.0], dtype=torch.float64)
    gp = losses.gradient_penalty(TinyCritic(w), real, fake, None, eps)
    x_hat = eps.view(3, 1, 1, 1) * real + (1 - eps.view(3, 1, 1, 1)) * fake
    norms = (2 * w * x_hat).flatten(1).norm(dim=1)
    assert torch.allclose(gp, ((norms - 1) ** 2).mean())


def test_gradient_penalty_is_differentiable_wrt_critic_weights():
    critic = TinyCritic(torch.ones(1, 2, 2))
    real, fake = torch.randn(4, 1, 2, 2), torch.randn(4, 1, 2, 2)
    gp = losses.gradient_penalty(critic, real, fake, None, torch.rand(4))
    gp.backward()
    assert critic.w.grad is not None and critic.w.grad.abs().sum() > 0


def test_wgan_gp_loss_combines_terms():
    critic = TinyCritic(torch.ones(1, 2, 2))
    real, fake = torch.randn(4, 1, 2, 2), torch.randn(4, 1, 2, 2)
    eps = torch.rand(4)
    loss, stats = losses.wgan_gp_critic_loss(critic, real, fake, None, eps, 10.0)
    w = critic(real).mean() - critic(fake).mean()
    gp = losses.gradient_penalty(critic, real, fake, None, eps)
    assert torch.allclose(loss, -w + 10 * gp)
    assert torch.allclose(stats["wdist"], w.detach())


def test_bce_losses_and_clip():
    critic = TinyCritic(torch.ones(1, 2, 2))
    real, fake = torch.zeros(2, 1, 2, 2), torch.zeros(2, 1, 2, 2)
    loss, _ = losses.bce_critic_loss(critic, real, fake, None)
    assert torch.allclose(loss, torch.tensor(2 * 0.6931471805599453), atol=1e-6)
    assert torch.allclose(losses.bce_generator_loss(torch.zeros(3)), torch.tensor(0.6931472))
    losses.clip_weights(critic, 0.01)
    assert critic.w.abs().max() <= 0.01


def test_ema_update():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    before = a.weight.detach().clone()
    ema_update(a, b, 0.9)
    assert torch.allclose(a.weight, 0.9 * before + 0.1 * b.weight)
