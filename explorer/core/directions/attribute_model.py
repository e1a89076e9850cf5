"""The attribute model: a small CNN that reads attributes and classes off images.

InterFaceGAN labels generated images with attribute classifiers that were never released; here
one is trained on the run's own real data (Shapes factors, CelebA / CSV attributes, classes) and
cached in the run folder as ``attribute_model.pt`` so it is trained once per run. Continuous
attributes are regressed in standardised units; 0/1 attributes get a logit (BCE); classes get
logits. Qt-free.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.demo import run_folder
from explorer.core.directions.direction import DirectionsError
from explorer.core.jobs import CancelFn, Cancelled, Fraction
from trainer.config import DataConfig
from trainer.data import DataError, ImageData, in_memory, load_dataset
from trainer.plainfile import PlainFileError, load_plain, save_plain
from trainer.runfolder import RunFolder

FORMAT = "latent-lab-attribute-model"
VERSION = 1
INPUT = 32  # images are resized to 32x32 first, so one architecture serves every image size


class AttributeNet(nn.Module):
    def __init__(self, channels: int, n_out: int):
        super().__init__()
        self.net = nn.Sequential(
            # Narrow on purpose: it must train in a couple of minutes on a laptop CPU.
            nn.Conv2d(channels, 16, 4, 2, 1), nn.LeakyReLU(0.2),  # 16 x 16 x 16
            nn.Conv2d(16, 32, 4, 2, 1), nn.LeakyReLU(0.2),  # 32 x 8 x 8
            nn.Conv2d(32, 64, 4, 2, 1), nn.LeakyReLU(0.2),  # 64 x 4 x 4
            # Flatten rather than pool: position (x, y) must survive to the head.
            nn.Flatten(), nn.Linear(64 * 16, 128), nn.LeakyReLU(0.2),
            nn.Linear(128, n_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W) float in [-1, 1] -> (N, n_out)."""
        if x.shape[-1] != INPUT:
            x = F.interpolate(x, size=(INPUT, INPUT), mode="bilinear", antialias=True,
                              align_corners=False)
        return self.net(x)


@dataclass
class AttributeModel:
    """The trained net plus what its outputs mean: A attribute columns, then C class logits."""

    net: AttributeNet
    attribute_names: list[str]
    binary: list[bool]  # per attribute: 0/1 label (logit output) or continuous (standardised)
    mean: torch.Tensor  # (A,) of the continuous attributes on the real data
    std: torch.Tensor  # (A,)
    class_names: list[str]
    data_key: str  # the data config it was trained on (cache invalidation)
    # Held-out R² per attribute (NaN = not measured): how well the net reads each attribute.
    # Shapes' rotation, circular and invisible on circles and rings, scores near 0.
    scores: list[float] = dataclasses.field(default_factory=list)
    class_accuracy: float = float("nan")

    def readable(self, min_score: float = 0.5) -> list[str]:
        """The attributes it reads well enough to label generated images with."""
        scores = self.scores or [float("nan")] * self.n_attributes
        return [a for a, s in zip(self.attribute_names, scores, strict=True)
                if not s < min_score]  # NaN (unknown) is kept

    @torch.no_grad()
    def predict(self, images: torch.Tensor, batch: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
        """images (N, C, H, W) float [-1, 1] -> (attributes (N, A), class probs (N, C)).

        Continuous attributes in standardised units (0 = real-data mean, 1 = one std), binary ones
        as probabilities."""
        self.net.eval()
        outs = [self.net(images[i:i + batch].float()) for i in range(0, len(images), batch)]
        out = torch.cat(outs) if outs else torch.zeros(0, self.n_out)
        a, c = out[:, :self.n_attributes], out[:, self.n_attributes:]
        binary = torch.tensor(self.binary, dtype=torch.bool)
        a = torch.where(binary, torch.sigmoid(a), a)
        return a, (c.softmax(1) if c.shape[1] else c)

    @property
    def n_attributes(self) -> int:
        return len(self.attribute_names)

    @property
    def n_out(self) -> int:
        return self.n_attributes + len(self.class_names)




def train_attribute_model(data: ImageData, steps: int = 1000, batch_size: int = 64,
                          device: str | torch.device = "cpu", seed: int = 0,
                          progress: Fraction | None = None, cancel: CancelFn | None = None,
                          data_key: str = "") -> AttributeModel:
    """Fit the CNN on real images -> (standardised attributes, classes). Adam, a few epochs."""
    device = torch.device(device)
    attrs = data.attributes.float().cpu() if data.attributes is not None else None
    a_names = list(data.attribute_names) if attrs is not None else []
    labels = data.labels.cpu() if data.labels is not None and data.class_names else None
    if not a_names and labels is None:
        raise DirectionsError("this dataset has neither attribute labels nor classes, so no "
                              "attribute model can be trained")
    if attrs is None:
        attrs = torch.zeros(len(data), 0)
    binary = [bool(((col == 0) | (col == 1)).all()) for col in attrs.T]
    is_bin = torch.tensor(binary, dtype=torch.bool)
    mean = torch.where(is_bin, 0.0, attrs.mean(0)) if a_names else torch.zeros(0)
    std = torch.where(is_bin, 1.0, attrs.std(0).clamp_min(1e-6)) if a_names else torch.zeros(0)
    target = (attrs - mean) / std  # binary columns stay 0/1
    n_cls = len(data.class_names) if labels is not None else 0
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    # Hold out up to 2000 images to score how well each attribute is read.
    perm = torch.randperm(len(data), generator=g)
    n_val = min(2000, len(data) // 10) if len(data) >= 100 else 0
    val, train = perm[:n_val], perm[n_val:]
    net = AttributeNet(data.channels, len(a_names) + n_cls).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    images = data.images.cpu()
    for step in range(steps):
        if cancel is not None and cancel():
            raise Cancelled
        idx = train[torch.randint(len(train), (batch_size,), generator=g)]
        x = images[idx].to(device).float().div_(127.5).sub_(1.0)
        out = net(x)
        loss = torch.zeros((), device=device)
        if a_names:
            t, a = target[idx].to(device), out[:, :len(a_names)]
            bmask = is_bin.to(device)
            if (~bmask).any():
                loss = loss + F.mse_loss(a[:, ~bmask], t[:, ~bmask])
            if bmask.any():
                loss = loss + F.binary_cross_entropy_with_logits(a[:, bmask], t[:, bmask])
        if n_cls:
            loss = loss + F.cross_entropy(out[:, len(a_names):], labels[idx].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if progress is not None and step % 20 == 0:
            progress(step / steps)
    net.eval().cpu().requires_grad_(False)
    model = AttributeModel(net, a_names, binary, mean, std,
                           list(data.class_names) if n_cls else [], data_key)
    if n_val:
        a, probs = model.predict(images[val].float().div_(127.5).sub_(1.0))
        t = target[val]
        model.scores = (1 - ((a - t) ** 2).mean(0) / t.var(0).clamp_min(1e-12)).tolist()
        if n_cls:
            model.class_accuracy = (probs.argmax(1) == labels[val]).float().mean().item()
    return model


def save_attribute_model(path: Path, model: AttributeModel) -> None:
    payload = {
        "state": model.net.state_dict(),
        "channels": model.net.net[0].in_channels, "attribute_names": model.attribute_names,
        "binary": model.binary, "mean": model.mean, "std": model.std,
        "class_names": model.class_names, "data_key": model.data_key,
        "scores": list(model.scores), "class_accuracy": model.class_accuracy,
    }
    save_plain(Path(path), FORMAT, VERSION, payload)


def load_attribute_model(path: Path) -> AttributeModel:
    """Load a cached model (weights_only: never executes code from the file)."""
    try:
        d = load_plain(Path(path), FORMAT, VERSION, "attribute model")
    except PlainFileError as e:
        raise DirectionsError(str(e)) from None
    try:
        names, classes = list(d["attribute_names"]), list(d["class_names"])
        net = AttributeNet(int(d["channels"]), len(names) + len(classes))
        net.load_state_dict(d["state"])
        return AttributeModel(net.eval().requires_grad_(False), names, list(d["binary"]),
                              d["mean"], d["std"], classes, str(d["data_key"]),
                              [float(x) for x in d.get("scores", [])],
                              float(d.get("class_accuracy", float("nan"))))
    except (KeyError, TypeError, RuntimeError) as e:
        raise DirectionsError(f"{Path(path).name} is malformed: {str(e)[:120]}") from None


def attribute_model_for_run(run_dir: Path, data_cfg: DataConfig, steps: int = 1000,
                            device: str | torch.device = "cpu", progress: Fraction | None = None,
                            cancel: CancelFn | None = None, train: bool = True
                            ) -> AttributeModel | None:
    """The run's cached attribute model, trained (and cached) on its real data if missing or
    trained on other data. ``train=False`` returns None instead of training."""
    path = run_folder(run_dir).attribute_model
    key = json.dumps(dataclasses.asdict(data_cfg), sort_keys=True)
    if path.is_file():
        try:
            model = load_attribute_model(path)
            if model.data_key == key:
                return model
        except DirectionsError:
            pass  # a damaged cache is simply retrained below
    if not train:
        return None
    try:
        data = load_dataset(data_cfg)
    except DataError as e:
        raise DirectionsError(f"cannot load the run's real data to train the attribute model: "
                              f"{e}") from None
    data, _ = in_memory(data)  # a fixed sample of a dataset that streams from disk
    model = train_attribute_model(data, steps, device=device, progress=progress, cancel=cancel,
                                  data_key=key)
    # Caching is an optimisation: a read-only run folder still gets its directions.
    with contextlib.suppress(OSError):
        save_attribute_model(run_folder(run_dir).side_save_path(RunFolder.ATTRIBUTE_MODEL),
                             model)
    return model
