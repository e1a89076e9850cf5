"""The baseline of ``python main.py bench``: the course notebook's WGAN-GP step, as written.

Kept deliberately unoptimised (it is what users start from), so the benchmark can report our
training loop's speed as a ratio to it on the same models, data and device.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from trainer.gan import GAN


class NotebookStep:
    """The course notebook's WGAN-GP training step, kept as written (the baseline we compare to).

    fp32; a fresh real batch per generator step reused by every critic step; separate critic
    calls for real, fake and the interpolates; ``autograd.grad(create_graph=True)``;
    ``backward(retain_graph=True)``; ``.item()`` after every critic step (a host sync); plain
    Adam; the critic is not frozen during the generator step.
    """

    def __init__(self, gan: GAN):
        t = gan.cfg.train
        self.gan, self.t = gan, t
        self.gen, self.crit = copy.deepcopy(gan.G), copy.deepcopy(gan.D)
        self.gen_opt = torch.optim.Adam(self.gen.parameters(), lr=t.lr, betas=t.betas)
        self.crit_opt = torch.optim.Adam(self.crit.parameters(), lr=t.lr, betas=t.betas)
        self.losses: list[float] = []

    def __call__(self, data: Any) -> None:
        gan, t, dev = self.gan, self.t, self.gan.device
        real, labels = data.batch(t.batch_size, gan.rng)
        y = gan._one_hot(labels)
        n = len(real)
        mean_critic_loss = 0.0
        for _ in range(t.n_critic):
            self.crit_opt.zero_grad()
            fake = self.gen(torch.randn(n, gan.cfg.model.z_dim, device=dev), y)
            crit_fake_pred = self.crit(fake.detach(), y)
            crit_real_pred = self.crit(real, y)
            epsilon = torch.rand(n, 1, 1, 1, device=dev, requires_grad=True)
            mixed = real * epsilon + fake.detach() * (1 - epsilon)
            mixed_scores = self.crit(mixed, y)
            gradient = torch.autograd.grad(inputs=mixed, outputs=mixed_scores,
                                           grad_outputs=torch.ones_like(mixed_scores),
                                           create_graph=True, retain_graph=True)[0]
            gp = ((gradient.view(n, -1).norm(2, dim=1) - 1) ** 2).mean()
            crit_loss = crit_fake_pred.mean() - crit_real_pred.mean() + t.gp_lambda * gp
            mean_critic_loss += crit_loss.item() / t.n_critic
            crit_loss.backward(retain_graph=True)
            self.crit_opt.step()
        self.losses.append(mean_critic_loss)
        self.gen_opt.zero_grad()
        fake_2 = self.gen(torch.randn(n, gan.cfg.model.z_dim, device=dev), y)
        gen_loss = -self.crit(fake_2, y).mean()
        gen_loss.backward()
        self.gen_opt.step()
        self.losses.append(gen_loss.item())
