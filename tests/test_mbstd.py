"""The SN-GAN critic's minibatch standard deviation: groups never mix real and generated images."""

import torch

from trainer.config import ModelConfig
from trainer.models import MinibatchStd, SNProjectionCritic, build_critic


def test_each_group_sees_only_its_own_images():
    x = torch.cat([torch.zeros(8, 2, 4, 4), torch.randn(8, 2, 4, 4)])  # 8 "real", 8 "fake"
    out = MinibatchStd(4)(x)
    assert out.shape == (16, 3, 4, 4)
    assert torch.all(out[:8, 2] < 1e-3)  # identical images: no spread in their groups
    assert torch.all(out[8:, 2] > 0.1)


def test_a_batch_that_is_not_a_multiple_of_the_group_is_one_group():
    out = MinibatchStd(4)(torch.randn(6, 2, 4, 4))
    assert torch.allclose(out[:, 2], out[0, 2].expand(6, 4, 4))


def test_off_keeps_the_critic_and_its_weight_names_as_before():
    plain = SNProjectionCritic(16, 3, 8, 5, aux_classifier=True)
    off = build_critic(ModelConfig(arch="sngan", width=8), 16, 3, 5, aux_classifier=True)
    assert list(off.state_dict()) == list(plain.state_dict())
    on = build_critic(ModelConfig(arch="sngan", width=8, mbstd=4), 16, 3, 5)
    assert on(torch.randn(8, 3, 16, 16), torch.randint(5, (8,))).shape == (8,)


def test_the_plane_is_the_groups_population_std_averaged_over_channels_and_pixels():
    x = torch.randn(8, 3, 4, 4, dtype=torch.float64)
    out = MinibatchStd(4)(x)
    groups = x.view(2, 4, 3, 4, 4)
    want = (groups.var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))
    assert torch.allclose(out[:, 3, 0, 0], want.repeat_interleave(4))
    # The plane carries a gradient back to every image of its group.
    x.requires_grad_(True)
    MinibatchStd(4)(x)[:4, 3].sum().backward()
    assert x.grad is not None and torch.all(x.grad[:4].abs().sum(dim=(1, 2, 3)) > 0)
    assert torch.all(x.grad[4:] == 0)
