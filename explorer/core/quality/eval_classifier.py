"""The eval classifier: a small CNN trained once on a run's real data, cached in the run folder.

It predicts the data's classes, else its attributes (standardised regression), else it is a
fixed random-feature CNN and says so. Its 128-d penultimate features are the feature space of
the Fréchet distance in evaluate.py. Cached as ``eval_classifier.pt``, loaded with
``weights_only=True`` (never executes code from the file). Qt-free.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.demo import run_folder
from explorer.core.jobs import StepText
from trainer.config import DataConfig
from trainer.plainfile import PlainFileError, load_plain, save_plain
from trainer.runfolder import RunFolder

FORMAT, VERSION = "latent-lab-eval-classifier", 1
CACHE_NAME = RunFolder.EVAL_CLASSIFIER
INPUT = 32  # images are resized to 32x32 first: one architecture serves every image size
FEATURES = 128


class FeatureNet(nn.Module):
    """(N, C, H, W) in [-1, 1] -> 128-d features -> n_out outputs."""

    def __init__(self, channels: int, n_out: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 16 x 16
            nn.Conv2d(32, 64, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),  # 64 x 8 x 8
            nn.Conv2d(64, 128, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),  # 128 x 4 x 4
            nn.Flatten(), nn.Linear(128 * 16, FEATURES), nn.ReLU(),  # 128 (the FD feature space)
        )
        self.head = nn.Linear(FEATURES, max(n_out, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != INPUT:
            x = F.interpolate(x, size=(INPUT, INPUT), mode="bilinear", antialias=True,
                              align_corners=False)
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@dataclass
class EvalClassifier:
    net: FeatureNet
    kind: str  # "classes" | "attributes" | "random-features"
    class_names: list[str]
    held_out: dict[str, Any]  # {"metric": "accuracy" | "r2" | None, "value": float, "n": int}
    data_key: str  # the DataConfig it was trained on, as JSON (cache invalidation)
    trained_now: bool = False

    @torch.inference_mode()
    def run(self, x: torch.Tensor, batch: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
        """images (N, C, H, W) -> (features (N, 128), head outputs (N, n_out)), on the CPU."""
        self.net.eval()
        dev = next(self.net.parameters()).device
        feats, outs = [], []
        for i in range(0, len(x), batch):
            f = self.net.features(x[i:i + batch].to(dev, torch.float32))
            feats.append(f.cpu())
            outs.append(self.net.head(f).cpu())
        return torch.cat(feats), torch.cat(outs)


def data_key(cfg: DataConfig) -> str:
    return json.dumps(dataclasses.asdict(cfg), sort_keys=True)


def split_indices(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed (train, held-out) split of n images; the held-out part is 10% (at most 2000)."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    k = min(2000, max(1, n // 10)) if n > 1 else 0
    return perm[k:], perm[:k]


def as_float(images_u8: torch.Tensor) -> torch.Tensor:
    return images_u8.float().div(127.5).sub(1.0)


def _kind(data: Any) -> tuple[str, int]:
    """What the classifier learns and its output count: classes, else attributes, else nothing."""
    attrs = getattr(data, "attributes", None)
    if data.labels is not None and data.class_names:
        return "classes", len(data.class_names)
    if attrs is not None and attrs.shape[1]:
        return "attributes", int(attrs.shape[1])
    return "random-features", 1


def train_classifier(data: Any, key: str, steps: int = 500, batch: int = 128,
                     device: str | torch.device = "cpu", seed: int = 0,
                     progress: StepText | None = None,
                     random_features: bool = False) -> EvalClassifier:
    """Train on the data's classes (else attributes), scored on a held-out split (ImageData).

    With ``random_features`` (or data without either) it is a fixed random CNN of this seed,
    its features scaled on the data: a feature space that owes nothing to the data's labels,
    to check FDs measured in a classifier trained on a few hundred images.
    """
    torch.manual_seed(seed)  # also fixes the random-feature net
    kind, n_out = ("random-features", 1) if random_features else _kind(data)
    net = FeatureNet(data.channels, n_out).to(device)
    train_idx, held_idx = split_indices(len(data), seed)
    held: dict[str, Any] = {"metric": None, "value": None, "n": int(len(held_idx))}
    clf = EvalClassifier(net, kind, list(data.class_names), held, key, trained_now=True)
    if kind == "random-features":
        net.cpu().eval().requires_grad_(False)
        _unit_feature_scale(net, as_float(data.images[train_idx[:512].to(data.images.device)]))
        return clf
    images = data.images  # (N, C, H, W) uint8, on the data's device
    # Class indices (N,), or attributes standardised to zero mean and unit variance (N, A).
    target = data.labels.cpu() if kind == "classes" else data.attributes.cpu().float()
    if kind == "attributes":
        target = (target - target.mean(0)) / (target.std(0) + 1e-6)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(seed)
    for step in range(steps):
        idx = train_idx[torch.randint(len(train_idx), (batch,), generator=g)]
        out = net(as_float(images[idx.to(images.device)]).to(device))
        t = target[idx].to(device)
        loss = F.cross_entropy(out, t) if kind == "classes" else F.mse_loss(out, t)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if progress is not None and (step + 1) % 100 == 0:
            progress(f"classifier step {step + 1}/{steps}, loss {loss.item():.3f}")
    net.cpu().eval().requires_grad_(False)
    if len(held_idx):
        _, out = clf.run(as_float(images[held_idx.to(images.device)]))
        t = target[held_idx]
        if kind == "classes":
            held |= {"metric": "accuracy", "value": float((out.argmax(1) == t).float().mean())}
        else:  # mean R^2 over the attributes
            r2 = 1 - ((out - t) ** 2).mean(0) / t.var(0, unbiased=False).clamp_min(1e-12)
            held |= {"metric": "r2", "value": float(r2.mean())}
    return clf


@torch.no_grad()
def _unit_feature_scale(net: FeatureNet, x: torch.Tensor) -> None:
    """Scale a random net's features so real images give a mean per-feature std of 1.

    Untrained, the features are ~100x smaller than a trained net's, so every FD printed as 0.000
    and the real-vs-real floor was unreadable. The last Linear's weight and bias are scaled:
    ReLU is positively homogeneous, so the features scale and FD ratios stay the same.
    """
    std = float(net.features(x.cpu()).std(0).mean()) if len(x) > 1 else 0.0
    if std > 0:
        linear = net.body[-2]
        linear.weight.mul_(1 / std)
        linear.bias.mul_(1 / std)


def save_classifier(path: Path, clf: EvalClassifier) -> None:
    payload = {"kind": clf.kind,
               "state": clf.net.state_dict(), "channels": clf.net.body[0].in_channels,
               "n_out": clf.net.head.out_features,
               "class_names": clf.class_names, "held_out": json.dumps(clf.held_out),
               "data_key": clf.data_key}
    save_plain(Path(path), FORMAT, VERSION, payload)


def load_classifier(path: Path) -> EvalClassifier | None:
    """A cached classifier, or None if the file is missing, damaged or not ours."""
    try:
        d = load_plain(Path(path), FORMAT, VERSION, "eval classifier")
        net = FeatureNet(int(d["channels"]), int(d["n_out"]))
        net.load_state_dict(d["state"])
        return EvalClassifier(net.eval().requires_grad_(False), str(d["kind"]),
                              list(d["class_names"]), json.loads(d["held_out"]),
                              str(d["data_key"]))
    except (PlainFileError, RuntimeError, KeyError, TypeError, ValueError):
        return None


def classifier_for_run(run_dir: Path | None, data_cfg: DataConfig, data: Any, steps: int = 500,
                       device: str | torch.device = "cpu", retrain: bool = False,
                       progress: StepText | None = None) -> tuple[EvalClassifier, str]:
    """The run's cached classifier, else a new one (cached if possible). Returns (clf, note)."""
    key = data_key(data_cfg)
    path = run_folder(run_dir).eval_classifier if run_dir is not None else None
    if path is not None and path.is_file() and not retrain:
        clf = load_classifier(path)
        if clf is not None and clf.data_key == key:
            return clf, f"loaded from {path}"
    if progress:
        progress(f"training the eval classifier ({steps} steps) on {len(data)} real images")
    clf = train_classifier(data, key, steps, device=device, progress=progress)
    if run_dir is None:
        return clf, "not cached (no run folder)"
    path = run_folder(run_dir).side_save_path(CACHE_NAME)
    try:
        save_classifier(path, clf)
    except OSError as e:
        return clf, f"not cached: cannot write {path} ({e.strerror or e})"
    made = "made" if clf.kind == "random-features" else "trained"
    return clf, f"{made} and cached in {path}"


