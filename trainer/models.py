"""Generators and critics: the course's DCGAN-style pair and MLP GAN, and the SN-GAN recipe.

All models take an optional class vector ``y`` of shape (N, n_classes): one-hot for training, any
soft mix of classes when exploring. The course's generators append it to z and their critics to
the image as constant planes. The SN-GAN pair (``arch="sngan"``) conditions the way the published
small-GAN results do: class-conditional BatchNorm in the generator and a projection critic
(Miyato & Koyama 2018) with spectral normalisation (Miyato et al. 2018).

Every generator exposes ``stem``: its first layer (z, and for conditional models the class
vector, to 4x4 features), its norm and activation, which the direction finders read (SeFa's
weights, GANSpace's early features).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from trainer.config import ModelConfig


class UpConv(nn.ConvTranspose2d):
    """A ConvTranspose2d that renders small CPU batches fast.

    oneDNN, PyTorch's default CPU path, pays a per-call cost proportional to the weight, which
    dominates when the input is a handful of pixels: for the reference 128 px generator and one
    image, its 1024->512 layer on a 4x4 input takes ~20 ms of a ~39 ms render on a 2-core CPU, and
    PyTorch's plain im2col path does the layer in ~7 ms. That path loses on big inputs, where
    oneDNN's compute wins, except into a few output channels (the RGB layer), where it wins at any
    batch. So without autograd on the CPU, with small inputs or few output channels, use it.
    Training (autograd on) and every other device keep the default path.
    """

    # measured crossover on a 2-core CPU: N*H*W input pixels per channel (python main.py bench)
    SMALL_INPUT = 64
    FEW_CHANNELS = 4

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if (x.device.type == "cpu" and not torch.is_grad_enabled() and output_size is None
                and self.groups == 1 and x.dim() == 4 and x.dtype == self.weight.dtype
                and not torch.is_autocast_enabled("cpu")  # autocast casts only the default op
                and (x.shape[0] * x.shape[2] * x.shape[3] <= self.SMALL_INPUT
                     or self.out_channels <= self.FEW_CHANNELS)):
            return torch.ops.aten.slow_conv_transpose2d(
                x, self.weight, self.kernel_size, self.bias, self.stride, self.padding,
                self.output_padding, self.dilation)
        return super().forward(x, output_size)


def _levels(size: int) -> int:
    """Number of stride-2 stages between 4x4 and ``size`` (size = 4 * 2**levels)."""
    levels = int(math.log2(size)) - 2
    if levels < 1 or 4 * 2**levels != size:
        raise ValueError(f"image size must be a power of two >= 8 (got {size})")
    return levels


class DCGANGenerator(nn.Module):
    def __init__(self, z_dim: int, size: int, channels: int, width: int, n_classes: int = 0):
        super().__init__()
        self.z_dim, self.size, self.channels, self.n_classes = z_dim, size, channels, n_classes
        levels = _levels(size)
        c = width * 2 ** (levels - 1)
        layers: list[nn.Module] = [
            # (z + classes) x 1 x 1 -> c x 4 x 4
            UpConv(z_dim + n_classes, c, 4, 1, 0, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(True),
        ]
        for _ in range(levels - 1):
            # c x s x s -> c/2 x 2s x 2s
            layers += [UpConv(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2),
                       nn.ReLU(True)]
            c //= 2
        # width x size/2 x size/2 -> channels x size x size, in [-1, 1]
        layers += [UpConv(c, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    @property
    def stem(self) -> nn.Sequential:
        return self.net[:3]

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_classes:
            z = torch.cat([z, _class_vector(y, z, self.n_classes)], dim=1)
        return self.net(z[:, :, None, None])


def dcgan_trunk(in_channels: int, size: int, width: int) -> tuple[list[nn.Module], int]:
    """The DCGAN critic's convolutions down to 4x4, shared by the critic and the VAE's encoder:
    (layers, channels of the 4x4 map). Conv(k4, s2) + InstanceNorm(affine) + LeakyReLU(0.2), no
    norm on the input layer."""
    c = width
    # in_channels x size x size -> width x size/2 x size/2
    layers: list[nn.Module] = [nn.Conv2d(in_channels, c, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    for _ in range(_levels(size) - 1):
        # c x s x s -> 2c x s/2 x s/2
        layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False),
                   nn.InstanceNorm2d(c * 2, affine=True), nn.LeakyReLU(0.2, True)]
        c *= 2
    return layers, c


class DCGANCritic(nn.Module):
    """Mirror of the generator: Conv(k4, s2) + InstanceNorm(affine) + LeakyReLU(0.2).

    No BatchNorm (the gradient penalty is per sample) and no sigmoid: the score is unbounded, and
    the BCE loss applies its sigmoid inside ``binary_cross_entropy_with_logits``.
    """

    def __init__(self, size: int, channels: int, width: int, n_classes: int = 0):
        super().__init__()
        self.size, self.channels, self.n_classes = size, channels, n_classes
        layers, c = dcgan_trunk(channels + n_classes, size, width)
        # c x 4 x 4 -> 1 x 1 x 1
        layers += [nn.Conv2d(c, 1, 4, 1, 0)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_classes:
            y = _class_vector(y, x, self.n_classes)
            planes = y[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
            x = torch.cat([x, planes.to(x.dtype)], dim=1)
        return self.net(x).flatten()  # (N,)


class MLPGenerator(nn.Module):
    """The course's first GAN: fully connected blocks with BatchNorm, Tanh output."""

    def __init__(self, z_dim: int, size: int, channels: int, width: int, n_classes: int = 0):
        super().__init__()
        self.z_dim, self.size, self.channels, self.n_classes = z_dim, size, channels, n_classes
        h = width * 4
        dims = [z_dim + n_classes, h, h * 2, h * 4]
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU(True)]
        layers += [nn.Linear(dims[-1], channels * size * size), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    @property
    def stem(self) -> nn.Sequential:
        return self.net[:3]

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_classes:
            z = torch.cat([z, _class_vector(y, z, self.n_classes)], dim=1)
        return self.net(z).view(-1, self.channels, self.size, self.size)


class MLPCritic(nn.Module):
    def __init__(self, size: int, channels: int, width: int, n_classes: int = 0):
        super().__init__()
        self.size, self.channels, self.n_classes = size, channels, n_classes
        h = width * 4
        dims = [channels * size * size + n_classes, h * 4, h * 2, h]
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            layers += [nn.Linear(a, b), nn.LeakyReLU(0.2, True)]
        layers += [nn.Linear(dims[-1], 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = x.flatten(1)
        if self.n_classes:
            x = torch.cat([x, _class_vector(y, x, self.n_classes).to(x.dtype)], dim=1)
        return self.net(x).flatten()


class ClassBatchNorm(nn.Module):
    """BatchNorm whose scale and shift depend on the class: gamma = 1 + y·Wg, beta = y·Wb.

    Linear in y, so a soft mix of classes mixes their scales and shifts (class morphs stay smooth);
    an unconditional model (n_classes 0) is a plain affine BatchNorm.
    """

    def __init__(self, channels: int, n_classes: int):
        super().__init__()
        self.n_classes = n_classes
        self.bn = nn.BatchNorm2d(channels, affine=n_classes == 0)
        if n_classes:
            self.gamma = nn.Linear(n_classes, channels, bias=False)
            self.beta = nn.Linear(n_classes, channels, bias=False)
            nn.init.zeros_(self.gamma.weight)
            nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        x = self.bn(x)
        if not self.n_classes:
            return x
        y = _class_vector(y, x, self.n_classes)
        return x * (1 + self.gamma(y))[:, :, None, None] + self.beta(y)[:, :, None, None]


class NearestUpConv(nn.Sequential):
    """Nearest upsampling x2, then a 3x3 convolution (padding 1), computed as the single 4x4
    stride-2 transposed convolution it equals.

    Upsampling repeats each pixel 2x2, so each output pixel's 3x3 window covers only a 2x2
    block of input pixels, the taps that land on the same input pixel summed: for an even
    output row the window's top row reads the input row above and its middle and bottom rows the
    same input row; for an odd one, top and middle the same row, the bottom the row below. The
    4x4 kernel is that sum (``taps``, per axis), so the layer's output and gradients
    are those of upsample-then-convolve (to float rounding; tests/test_upsample.py) at 4 instead
    of 9 multiply-adds per output and without the 4x larger intermediate map: 3-4x faster on a
    CPU. Its parameters are the 3x3 convolution's, under the same names (``1.weight``).
    """

    def __init__(self, c_in: int, c_out: int, bias: bool = True):
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias))
        # 4x4 kernel row (or column) <- 3x3 kernel rows: rows 0..3 take w2, w1 + w2, w0 + w1, w0
        self.register_buffer("taps", torch.tensor([[0.0, 0, 1], [0, 1, 1], [1, 1, 0], [1, 0, 0]]),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = self[1]
        taps = self.taps.to(conv.weight.dtype)
        kernel = torch.einsum("ka,lb,oiab->iokl", taps, taps, conv.weight)  # (in, out, 4, 4)
        bias = None if conv.bias is None else conv.bias.to(x.dtype)
        return nn.functional.conv_transpose2d(x, kernel.to(x.dtype), bias, stride=2, padding=1)


def _doubling(c_in: int, c_out: int, upsample: str, bias: bool = True) -> nn.Module:
    """A layer that doubles the map's side: a 4x4 stride-2 transposed convolution, or nearest
    upsampling then a 3x3 convolution (no uneven overlap, so no checkerboard to unlearn)."""
    if upsample == "nearest":
        return NearestUpConv(c_in, c_out, bias=bias)
    return UpConv(c_in, c_out, 4, 2, 1, bias=bias)


class SNGANGenerator(nn.Module):
    """DCGAN shapes with class-conditional BatchNorm after every upsampling layer.

    The class vector also enters the first layer beside z (as in the course's generator), so the
    4x4 features, and SeFa's and GANSpace's view of them, stay comparable between the two recipes.
    """

    def __init__(self, z_dim: int, size: int, channels: int, width: int, n_classes: int = 0,
                 upsample: str = "transposed"):
        super().__init__()
        self.z_dim, self.size, self.channels, self.n_classes = z_dim, size, channels, n_classes
        levels = _levels(size)
        c = width * 2 ** (levels - 1)
        # (z + classes) x 1 x 1 -> c x 4 x 4
        self.net = nn.Sequential(UpConv(z_dim + n_classes, c, 4, 1, 0, bias=False),
                                 nn.BatchNorm2d(c), nn.ReLU(True))
        self.ups = nn.ModuleList()
        self.norms = nn.ModuleList()
        for _ in range(levels - 1):
            # c x s x s -> c/2 x 2s x 2s
            self.ups.append(_doubling(c, c // 2, upsample, bias=False))
            self.norms.append(ClassBatchNorm(c // 2, n_classes))
            c //= 2
        # width x size/2 x size/2 -> channels x size x size, in [-1, 1]
        self.to_rgb = _doubling(c, channels, upsample)

    @property
    def stem(self) -> nn.Sequential:
        return self.net

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_classes:
            y = _class_vector(y, z, self.n_classes)
            z = torch.cat([z, y], dim=1)
        h = self.net(z[:, :, None, None])
        for up, norm in zip(self.ups, self.norms, strict=True):
            h = torch.relu(norm(up(h), y))
        return torch.tanh(self.to_rgb(h))


class SNProjectionCritic(nn.Module):
    """Spectrally normalised convolutions (no other norm), a projection head for classes.

    score(x, y) = w·h(x) + (y·E)·h(x), with h(x) the critic's features summed over the last 4x4
    map: the class enters as an inner product with the features rather than as extra input
    planes, which is what took conditional CIFAR-10 FID from ~46 to ~13 in StudioGAN's table
    (with spectral norm and the hinge loss).
    """

    def __init__(self, size: int, channels: int, width: int, n_classes: int = 0,
                 aux_classifier: bool = False, mbstd: int = 0):
        super().__init__()
        self.size, self.channels, self.n_classes = size, channels, n_classes
        sn = nn.utils.parametrizations.spectral_norm
        levels = _levels(size)
        c = width
        # channels x size x size -> width x size/2 x size/2
        layers: list[nn.Module] = [sn(nn.Conv2d(channels, c, 4, 2, 1)), nn.LeakyReLU(0.1, True)]
        for _ in range(levels - 1):
            # c x s x s -> 2c x s/2 x s/2
            layers += [sn(nn.Conv2d(c, c * 2, 4, 2, 1)), nn.LeakyReLU(0.1, True)]
            c *= 2
        # With mbstd, one more plane before the last convolution: how much images of the same
        # small group differ (StyleGAN's minibatch standard deviation), so a generator that draws
        # too little variety is told apart from real data.
        if mbstd:
            layers.append(MinibatchStd(mbstd))
        # c x 4 x 4 -> c x 4 x 4: one more look at the whole 4x4 map before pooling
        layers += [sn(nn.Conv2d(c + (1 if mbstd else 0), c, 3, 1, 1)), nn.LeakyReLU(0.1, True)]
        self.net = nn.Sequential(*layers)
        self.head = sn(nn.Linear(c, 1))
        self.embed = sn(nn.Linear(n_classes, c, bias=False)) if n_classes else None
        # An auxiliary classifier on the same features (AC-GAN's head, beside the projection):
        # trained on real images, it hands the generator a direct "which class is this" gradient.
        self.classify = nn.Linear(c, n_classes) if n_classes and aux_classifier else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.scores_and_logits(x, y)[0]

    def scores_and_logits(self, x: torch.Tensor, y: torch.Tensor | None = None
                          ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Scores (N,) and the auxiliary classifier's class logits (N, n_classes) or None."""
        h = self.net(x).sum(dim=(2, 3))  # (N, c)
        score = self.head(h).flatten()
        if self.embed is not None:
            y = _class_vector(y, h, self.n_classes)
            score = score + (self.embed(y) * h).sum(1)
        return score, None if self.classify is None else self.classify(h)


class MinibatchStd(nn.Module):
    """Appends one plane: the standard deviation across each group of ``group`` consecutive
    images, averaged over channels and pixels (StyleGAN's minibatch standard deviation).

    Groups are consecutive images, so a batch of real images followed by generated ones (the
    hinge loss's single critic call) never mixes the two, as long as each half is a multiple of
    the group; a batch that is not a multiple of the group uses one group of the whole batch.
    """

    def __init__(self, group: int):
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = self.group if n % self.group == 0 else n
        y = x.float().view(n // g, g, c, h, w)
        # The variance written out: torch's var over this middle dimension takes a slow strided
        # path on the CPU (6.5 ms against 0.65 ms, forward and backward, for 64 x 128 x 4 x 4).
        d = y - y.mean(dim=1, keepdim=True)
        std = ((d * d).mean(dim=1) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (n // g,)
        plane = std.repeat_interleave(g).view(n, 1, 1, 1).expand(n, 1, h, w).to(x.dtype)
        return torch.cat([x, plane], dim=1)


class VAEEncoder(nn.Module):
    """The VAE's encoder: the DCGAN critic's convolutions (class planes appended to the image for
    a conditional model), ending in the posterior's mean and log-variance, ``z_dim`` each."""

    def __init__(self, z_dim: int, size: int, channels: int, width: int, n_classes: int = 0):
        super().__init__()
        self.z_dim, self.size, self.channels, self.n_classes = z_dim, size, channels, n_classes
        layers, c = dcgan_trunk(channels + n_classes, size, width)
        self.net = nn.Sequential(*layers)
        # c x 4 x 4 -> 2 z_dim x 1 x 1: mean and log-variance
        self.head = nn.Conv2d(c, 2 * z_dim, 4, 1, 0)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar), each (N, z_dim)."""
        if self.n_classes:
            y = _class_vector(y, x, self.n_classes)
            planes = y[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
            x = torch.cat([x, planes.to(x.dtype)], dim=1)
        h = self.head(self.net(x)).flatten(1)
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar


def _class_vector(y: torch.Tensor | None, like: torch.Tensor, n_classes: int) -> torch.Tensor:
    if y is None:
        raise ValueError("this is a conditional model: pass a class vector y of shape (N, "
                         f"{n_classes})")
    if y.dim() == 1:  # class indices
        y = nn.functional.one_hot(y.long(), n_classes)
    return y.to(device=like.device, dtype=like.dtype)


# The VAE's decoder is the DCGAN generator: the same G(z, y) every explorer tab renders.
GENERATORS: dict[str, type[nn.Module]] = {
    "dcgan": DCGANGenerator, "mlp": MLPGenerator, "sngan": SNGANGenerator, "vae": DCGANGenerator}
CRITICS: dict[str, type[nn.Module]] = {
    "dcgan": DCGANCritic, "mlp": MLPCritic, "sngan": SNProjectionCritic}


def build_generator(m: ModelConfig, size: int, channels: int, n_classes: int) -> nn.Module:
    n = n_classes if m.conditional else 0
    if m.arch == "sngan":
        return SNGANGenerator(m.z_dim, size, channels, m.width, n, m.upsample)
    return GENERATORS[m.arch](m.z_dim, size, channels, m.width, n)


def build_encoder(m: ModelConfig, size: int, channels: int, n_classes: int) -> VAEEncoder:
    return VAEEncoder(m.z_dim, size, channels, m.width, n_classes if m.conditional else 0)


def build_critic(m: ModelConfig, size: int, channels: int, n_classes: int,
                 aux_classifier: bool = False) -> nn.Module:
    """``aux_classifier``: give a conditional SN-GAN critic an auxiliary class head."""
    if m.arch not in CRITICS:
        raise ValueError(f"a {m.arch} model has no critic")
    n = n_classes if m.conditional else 0
    if m.arch == "sngan":
        return SNProjectionCritic(size, channels, m.width, n, aux_classifier, m.mbstd)
    return CRITICS[m.arch](size, channels, m.width, n)


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: N(0, 0.02) convolutions, N(1, 0.02) norm scales.

    Spectrally normalised layers keep PyTorch's default init: their scale is set by the norm.
    """
    for m in module.modules():
        if nn.utils.parametrize.is_parametrized(m):
            continue
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.InstanceNorm2d)) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model for parameters; buffers (BN statistics) copied."""
    ema_p = list(ema.parameters())
    torch._foreach_lerp_(ema_p, list(model.parameters()), 1.0 - decay)
    for b_ema, b in zip(ema.buffers(), model.buffers(), strict=True):
        b_ema.copy_(b)
