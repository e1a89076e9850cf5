"""Events yielded by the training loop and the control object that steers it.

Events carry plain data (numbers, strings, numpy arrays, CPU tensors), so a GUI worker can forward
them across threads as they are.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from trainer.checkpoint import ModelInfo
from trainer.config import RunConfig


@dataclass
class Started:
    run_dir: Path
    # The model being trained, described as a checkpoint of it is (step: where the run starts;
    # no file): the window hands its Previews to the other tabs with this description.
    model: ModelInfo
    total_steps: int
    device: str
    data_summary: str
    resumed: bool = False
    step_impl: str = ""  # how the step runs: "explicit gradient penalty, eager, fp32"

    @property
    def config(self) -> RunConfig:
        return self.model.config

    @property
    def start_step(self) -> int:
        return self.model.step

    @property
    def class_names(self) -> list[str]:
        return list(self.model.data_class_names)

    @property
    def attribute_names(self) -> list[str]:
        return list(self.model.attribute_names)


@dataclass
class StepStats:
    """Loss values for a batch of consecutive generator steps (one host sync per batch).

    A GAN fills the critic and generator columns, a VAE ``recon`` and ``kl`` (the others are
    then empty): each model's own curves."""

    steps: list[int]
    critic_loss: list[float]
    gen_loss: list[float]
    gp: list[float]
    wdist: list[float]
    steps_per_s: float
    images_per_s: float  # real images trained on per second (through a GAN's critic)
    # The critic's overfitting signal E[sign(C(real) - b)] and the augmentation strength
    # (trainer/augment.py); empty where a producer does not know them.
    r: list[float] = field(default_factory=list)
    aug_p: list[float] = field(default_factory=list)
    # A VAE's mean reconstruction error (sum of squares per image, pixels in [-1, 1]) and KL
    # (nats per image).
    recon: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)

    @property
    def step(self) -> int:
        return self.steps[-1]


@dataclass
class Preview:
    step: int
    grid: np.ndarray  # (H, W, 3) uint8
    path: Path | None
    # A frozen CPU copy of G_ema's weights, so a viewer can render without touching the live model.
    generator_state: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)
    # Real images as the critic sees them under augmentation, (H, W, 3) uint8; None when the
    # run does not augment.
    critic_view: np.ndarray | None = field(default=None, repr=False)
    # A VAE's fixed real images beside its reconstructions (real | reconstruction pairs),
    # (H, W, 3) uint8; None for a GAN.
    reconstructions: np.ndarray | None = field(default=None, repr=False)


@dataclass
class CheckpointSaved:
    step: int
    path: Path


@dataclass
class Paused:
    step: int


@dataclass
class Resumed:
    step: int


@dataclass
class Finished:
    step: int
    reason: str  # "completed" or "stopped"
    checkpoint: Path | None


@dataclass
class Notice:
    """Something the user should know that does not stop training (a compile fell back)."""

    step: int
    message: str


@dataclass
class Failed:
    step: int
    message: str


Event = (Started | StepStats | Preview | CheckpointSaved | Paused | Resumed | Finished | Failed
         | Notice)


class TrainControl:
    """Thread-safe pause / resume / stop flags, set from any thread, read by the loop."""

    def __init__(self) -> None:
        self._run = threading.Event()
        self._run.set()
        self._stop = threading.Event()

    def pause(self) -> None:
        self._run.clear()

    def resume(self) -> None:
        self._run.set()

    def stop(self) -> None:
        self._stop.set()
        self._run.set()  # wake a paused loop so it can stop

    @property
    def paused(self) -> bool:
        return not self._run.is_set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait_while_paused(self, timeout: float | None = None) -> bool:
        """Block until resumed or stopped; True if running again."""
        return self._run.wait(timeout)
