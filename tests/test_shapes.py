import torch

from trainer.data.shapes import CLASS_NAMES, FACTOR_NAMES, make_shapes


def test_deterministic_and_labelled():
    a, b = make_shapes(40, 16, seed=3), make_shapes(40, 16, seed=3)
    assert torch.equal(a.images, b.images)
    assert not torch.equal(a.images, make_shapes(40, 16, seed=4).images)
    assert a.images.shape == (40, 3, 16, 16) and a.images.dtype == torch.uint8
    assert a.class_names == CLASS_NAMES and a.attribute_names == FACTOR_NAMES
    assert a.attributes.shape == (40, 6)
    assert set(a.labels.tolist()) <= set(range(5))


def test_factors_visible_in_pixels():
    d = make_shapes(200, 32, seed=0)
    x = d.images.float()
    bg_measured = x[:, :, 0, 0].mean(1) / 255  # a corner pixel is background
    assert torch.corrcoef(torch.stack([bg_measured, d.attributes[:, 5]]))[0, 1] > 0.99
    fg = (x - x[:, :, :1, :1]).abs().sum(1) > 30  # foreground mask
    area = fg.float().mean((1, 2))
    assert torch.corrcoef(torch.stack([area, d.attributes[:, 0]]))[0, 1] > 0.7
    cols = torch.arange(32).float()
    cx = (fg.float().sum(1) * cols).sum(1) / fg.float().sum((1, 2)) / 32
    assert torch.corrcoef(torch.stack([cx, d.attributes[:, 1]]))[0, 1] > 0.95


def test_batch_is_float_in_range():
    d = make_shapes(32, 8)
    x, y = d.batch(5, torch.Generator().manual_seed(0))
    assert x.shape == (5, 3, 8, 8) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1 and y.shape == (5,)
