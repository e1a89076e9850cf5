"""The SN-GAN generator's two ways of doubling its maps, and runs made before the choice."""

import pytest
import torch

from trainer.config import ModelConfig, RunConfig, apply_preset
from trainer.models import NearestUpConv, SNGANGenerator, build_generator


def test_runs_made_before_the_field_keep_transposed_convolutions_and_weight_names():
    d = RunConfig().to_dict()
    del d["model"]["upsample"]  # a config.json written before the field existed
    old = RunConfig.from_dict(d)
    assert old.model.upsample == "transposed"
    m = ModelConfig(arch="sngan", width=8)
    assert list(build_generator(m, 16, 3, 5).state_dict()) == list(
        SNGANGenerator(m.z_dim, 16, 3, 8, 5).state_dict())


@pytest.mark.parametrize("size", [8, 32, 64])
def test_nearest_draws_every_size_in_range(size):
    g = build_generator(ModelConfig(arch="sngan", width=4, upsample="nearest"), size, 3, 5).eval()
    x = g(torch.randn(3, g.z_dim), torch.eye(5)[:3])
    assert x.shape == (3, 3, size, size) and x.abs().max() <= 1
    # nothing transposed left: no checkerboard-prone layer
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in g.ups.modules())


def test_presets_name_their_upsampling_so_a_switch_leaves_none_behind():
    cfg = apply_preset(RunConfig(), "sngan")
    assert cfg.model.upsample == "nearest"
    for name in ("cpu-fast", "reference", "vae"):
        assert apply_preset(cfg, name).model.upsample == "transposed"


def test_nearest_layer_equals_upsampling_then_a_3x3_convolution_with_its_gradients():
    torch.manual_seed(0)
    layer = NearestUpConv(6, 5)
    x = torch.randn(3, 6, 4, 4, requires_grad=True)
    fast = layer(x)
    slow = layer[1](torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest"))
    assert fast.shape == slow.shape == (3, 5, 8, 8)
    assert torch.allclose(fast, slow, atol=1e-5)
    w = layer[1].weight
    g_fast = torch.autograd.grad(fast.square().sum(), [x, w])
    g_slow = torch.autograd.grad(slow.square().sum(), [x, w])
    for a, b in zip(g_fast, g_slow, strict=True):
        assert torch.allclose(a, b, atol=1e-4)
    # the 3x3 convolution's parameters under the same names: checkpoints load either way
    assert list(layer.state_dict()) == ["1.weight", "1.bias"]
