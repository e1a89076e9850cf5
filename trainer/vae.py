"""One VAE training step, as an object with the GAN's small interface (gan.py), so the loop,
checkpoints, snapshots, previews and events serve both.

The model: an encoder with the DCGAN critic's convolutions gives the posterior q(z | x, y) as a
mean and log-variance; the decoder is the DCGAN generator, so G(z, y) is rendered, explored and
evaluated exactly as a GAN's generator is. The loss per image is

    reconstruction + beta * KL(q(z | x, y) || N(0, I))

with the reconstruction the sum of squared errors over the image's pixels in [-1, 1]: the
negative log-likelihood of a Gaussian decoder with a fixed variance of 1/2, up to a constant.
Squared error (rather than L1) keeps the loss an evidence bound, so beta = 1 means what the
ELBO means and the KL is in nats against a likelihood; it is also the pixel error that the
projections are measured by, so the encoder and the GAN projection are compared on one scale.
Summed, not averaged, over pixels: averaging would weigh the KL 3072 times more at 32 px RGB
and collapse the posterior to the prior.

Everything random (batches, the reparameterisation noise, classes) comes from ``self.rng``, so a
resumed run continues exactly. The encoder and the decoder have exponential moving averages like
the GAN's generator (E_ema, G_ema): sampling, projection and evaluation use the averages.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from trainer.config import RunConfig
from trainer.distributed import DistInfo
from trainer.errors import UserError
from trainer.gan import lr_factor, one_hot, restore_rng, rng_state
from trainer.models import build_encoder, build_generator, ema_update, init_weights

# What a VAE step reports: the mean reconstruction error (sum of squares per image) and the mean
# KL per image (nats).
VAE_STATS = ("recon", "kl")


def vae_loss(x: torch.Tensor, recon: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             beta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, reconstruction error, KL), each the mean over the batch of per-image sums."""
    rec = (recon - x).pow(2).flatten(1).sum(1).mean()
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()
    return rec + beta * kl, rec, kl


def encode(encoder: nn.Module, x: torch.Tensor, y: torch.Tensor | None
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """(mu, logvar) of images ``x`` in [-1, 1] (and class vectors ``y`` for a conditional
    model); the log-variance is clamped to a range where exp() stays finite."""
    mu, logvar = encoder(x, y)
    return mu, logvar.clamp(-30.0, 20.0)


class VAE:
    """The GAN's interface (train_step, state, sampling, notes) for a VAE: ``G`` is the decoder,
    ``E`` the encoder."""

    stat_keys = VAE_STATS
    has_critic = False
    augmenting = False  # nothing adversarial to keep from memorising

    def __init__(self, cfg: RunConfig, size: int, channels: int, n_classes: int,
                 device: torch.device, dist: DistInfo | None = None, n_images: int = 0):
        self.cfg, self.device = cfg, device
        self.dist = dist or DistInfo()
        if self.dist.enabled:
            raise UserError("a VAE trains in one process: run it without torchrun")
        self.size, self.channels = size, channels
        self.n_classes = n_classes if cfg.model.conditional else 0
        torch.manual_seed(cfg.train.seed)
        self.G = build_generator(cfg.model, size, channels, n_classes).to(device)
        self.E = build_encoder(cfg.model, size, channels, n_classes).to(device)
        init_weights(self.G)
        init_weights(self.E)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.E_ema = copy.deepcopy(self.E).eval().requires_grad_(False)
        t = cfg.train
        self.opt = torch.optim.Adam([*self.E.parameters(), *self.G.parameters()], lr=t.lr,
                                    betas=t.betas, fused=device.type == "cuda")
        self.aug_p = torch.zeros((), device=device)
        self.notes: list[str] = []
        self.precision = "fp32"
        if t.compile == "on" or t.precision == "bf16":
            self.notes.append("a VAE trains eager in fp32: the compile and precision settings "
                              "apply to GANs")
        self._n_startup_notes = len(self.notes)
        self.images_per_step = t.batch_size
        self.rng = torch.Generator(device=device).manual_seed(t.seed)
        self.step = 0

    def train_step(self, data: Any) -> dict[str, torch.Tensor]:
        """One step on one batch; detached 0-d device tensors ``recon`` and ``kl``."""
        t = self.cfg.train
        if t.lr_decay:
            for group in self.opt.param_groups:
                group["lr"] = t.lr * lr_factor(self.step, t.steps, t.lr_decay, t.lr_decay_to)
        x, labels = data.batch(t.batch_size, self.rng)
        y = self._one_hot(labels)
        self.E.train()
        self.G.train()
        mu, logvar = encode(self.E, x, y)
        eps = torch.randn(mu.shape, device=self.device, generator=self.rng)
        z = mu + eps * (0.5 * logvar).exp()
        loss, rec, kl = vae_loss(x, self.G(z, y), mu, logvar, t.beta)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        decay = min(t.ema_decay, (1 + self.step) / (10 + self.step))
        ema_update(self.G_ema, self.G, decay)
        ema_update(self.E_ema, self.E, decay)
        self.step += 1
        return {"recon": rec.detach(), "kl": kl.detach()}

    @property
    def step_impl(self) -> str:
        return "VAE, eager, fp32"

    @property
    def fallback_notes(self) -> list[str]:
        return self.notes[self._n_startup_notes:]

    @property
    def compiled(self) -> bool:
        return False

    def _one_hot(self, labels: torch.Tensor | None) -> torch.Tensor | None:
        return one_hot(labels, self.n_classes)

    # --- state ---------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step, "G": self.G.state_dict(), "G_ema": self.G_ema.state_dict(),
                "E": self.E.state_dict(), "E_ema": self.E_ema.state_dict(),
                "opt": self.opt.state_dict(), "rng": rng_state(self.rng)}

    def snapshot_state(self) -> dict[str, Any]:
        """What a snapshot keeps: the averaged decoder and encoder (sampling and projection)."""
        return {"G_ema": self.G_ema.state_dict(), "E_ema": self.E_ema.state_dict()}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        for key in ("E", "E_ema", "opt"):
            if key not in d:
                raise KeyError(f"the checkpoint has no '{key}' (not a VAE's)")
        self.G.load_state_dict(d["G"])
        self.G_ema.load_state_dict(d["G_ema"])
        self.E.load_state_dict(d["E"])
        self.E_ema.load_state_dict(d["E_ema"])
        self.opt.load_state_dict(d["opt"])
        self.step = int(d["step"])
        restore_rng(d["rng"], self.rng, self.cfg.train.seed + self.step, self.notes)

    def tensors_to_check(self) -> list[torch.Tensor]:
        """Every float tensor a checkpoint holds (weights, buffers, optimiser state)."""
        out = [v for m in (self.G, self.G_ema, self.E, self.E_ema)
               for v in m.state_dict().values()]
        return out + [v for st in self.opt.state.values() for v in st.values()
                      if isinstance(v, torch.Tensor)]

    def ema_state_cpu(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().to("cpu", copy=True) for k, v in self.G_ema.state_dict().items()}

    @torch.no_grad()
    def sample_ema(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.G_ema(z, y)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """The averaged decoder's image of the averaged encoder's mean: x -> G(mu(x), y)."""
        mu, _ = encode(self.E_ema, x, y)
        return self.G_ema(mu, y)
