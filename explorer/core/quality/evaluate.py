"""Sample quality, measured: Fréchet distance, class accuracy, coverage,
precision and recall, memorisation, and the best snapshot of a run.

Figures are taken in the feature space of the run's eval classifier (eval_classifier.py): the
Fréchet distance between real and generated images, k-NN precision and recall (fidelity.py), the
class accuracy of conditional samples at their requested class, and the per-class coverage of
the predictions (a mode-collapse check), for G_ema and G, and for every snapshot of a run.
Memorisation (nearest training image) is measured in downsampled pixels. Qt-free;
``explorer/cli/eval.py`` prints and writes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from explorer.core.jobs import StepText
from explorer.core.quality.best_snapshot import best_row, mark_best, stop_advice
from explorer.core.quality.colour import HueHistogram, hue_distance, hue_shares_report, why_no_hue
from explorer.core.quality.eval_classifier import (
    EvalClassifier,
    as_float,
    classifier_for_run,
    load_classifier,
    split_indices,
)
from explorer.core.quality.fidelity import (
    NEAR_COPY_PERCENTILE,
    K,
    memorisation,
    nearest,
    pixel_vectors,
    precision_recall,
)
from trainer.checkpoint import (
    CheckpointError,
    config_of,
    load_generator,
    load_raw,
    resolve_checkpoint,
)
from trainer.config import ConfigError, DataConfig
from trainer.data import DataError, ImageData, StreamingData, in_memory, load_dataset
from trainer.errors import UserError
from trainer.runfolder import RunFolder


class QualityError(UserError):
    """Quality cannot be measured; the message is for the user."""


@dataclass
class RealSet:
    """Real images to compare against: held-out images first (the classifier never saw them)."""

    labels: torch.Tensor | None  # (N,) class indices
    features: np.ndarray  # (N, 128) eval-classifier features
    baseline_features: np.ndarray | None  # (M, 128), M <= N, of other real images, if any
    class_share: torch.Tensor | None  # (K,) class frequencies of the whole dataset
    # Memorisation: training images as pixel vectors (fidelity.pixel_vectors), and each of the
    # real images' distance to its nearest *other* training image.
    train_pixels: torch.Tensor | None = None  # (M, D)
    real_nn: torch.Tensor | None = None  # (N,)
    # Colour (RGB data only): the hue votes of the real images and of the baseline images
    # (without spare images, of the real set's second half, as for the FD noise floor).
    hue: HueHistogram | None = None
    baseline_hue: HueHistogram | None = None


def frechet_distance_stats(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray,
                           s2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2), via symmetric eigen-solves.

    The symmetric form has the same trace as tr((S1 S2)^1/2) and stays real for singular S.
    """
    w, v = np.linalg.eigh(s1)
    r1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # S1^1/2
    m = r1 @ s2 @ r1
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    fd = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)
    return max(fd, 0.0)  # a distance: rounding can leave -1e-3 for (nearly) equal sets


def frechet_distance(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, D) and (M, D)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return frechet_distance_stats(a.mean(0), np.cov(a, rowvar=False), b.mean(0),
                                  np.cov(b, rowvar=False))


def class_report(pred: torch.Tensor, n_classes: int, real_share: torch.Tensor,
                 requested: torch.Tensor | None, min_share: float = 0.2) -> dict[str, Any]:
    """Coverage and (for conditional samples) accuracy at the requested class.

    A class is covered when it gets at least ``min_share`` of its real-data share of the
    predictions (0.2: a class the real data has 20% of must get >= 4%).
    """
    share = torch.bincount(pred, minlength=n_classes).float() / max(len(pred), 1)
    covered = share >= min_share * real_share
    out: dict[str, Any] = {"predicted_share": share.tolist(),
                           "coverage": float(covered.float().mean()),
                           "coverage_rule": f">= {min_share} x the class's real share"}
    if requested is not None:
        hit = (pred == requested).float()
        per = [float(hit[requested == c].mean()) if (requested == c).any() else None
               for c in range(n_classes)]
        out |= {"accuracy": float(hit.mean()), "per_class_accuracy": per,
                "classes_with_accuracy_ge_0.5": sum(1 for p in per if p is not None and p >= 0.5)}
    return out


def real_set(data: ImageData, clf: EvalClassifier, n: int, seed: int = 0,
             held_out: ImageData | None = None) -> RealSet:
    """n real images, and up to n others for the noise floor (fewer when the data is small).

    With ``held_out`` (images the model never trained on, labelled in ``data``'s classes), the
    real images are n of those and the floor's other set is n training images: the floor is
    then what a generator that reproduces the training images exactly would read. Memorisation
    is always measured against the training images."""
    if held_out is not None:
        return _held_out_set(data, held_out, clf, n, seed)
    train_idx, held_idx = split_indices(len(data), seed)
    order = torch.cat([held_idx, train_idx])  # held-out first, then training images
    idx = order[:n]
    spare = len(order) - n
    dev = data.images.device
    feats, _ = clf.run(as_float(data.images[idx.to(dev)]))
    base = other = None
    if spare >= 2:  # the baseline comes from the other end, disjoint from idx
        other = order.flip(0)[:min(n, spare)]
        base = clf.run(as_float(data.images[other.to(dev)]))[0].numpy()
    labels = share = None
    if data.labels is not None and data.class_names:
        labels = data.labels.cpu()[idx]
        share = torch.bincount(data.labels.cpu(), minlength=data.n_classes).float() / len(data)
    train_pixels, real_nn = memorisation_reference(data, idx, seed)
    hue = base_hue = None
    if data.images.shape[1] == 3:
        hue = _hue_of(data, idx)
        base_hue = _hue_of(data, other if other is not None else idx[len(idx) // 2:])
    return RealSet(labels, feats.numpy(), base, share, train_pixels, real_nn, hue, base_hue)


def _held_out_set(data: ImageData, held: ImageData, clf: EvalClassifier, n: int,
                  seed: int) -> RealSet:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(held), generator=g)[:n]
    other = torch.randperm(len(data), generator=g)[:n]
    feats = clf.run(as_float(held.images[idx]))[0].numpy()
    base = clf.run(as_float(data.images[other.to(data.images.device)]))[0].numpy()
    labels = share = None
    if held.labels is not None and data.class_names:
        labels = held.labels.cpu()[idx]
        share = torch.bincount(labels, minlength=data.n_classes).float() / len(labels)
    train_pixels, real_nn = memorisation_reference(data, held_queries=held.images[idx],
                                                   seed=seed)
    hue = base_hue = None
    if data.channels == 3:
        hue, base_hue = _hue_of(held, idx), _hue_of(data, other)
    return RealSet(labels, feats, base, share, train_pixels, real_nn, hue, base_hue)


def load_held_out(path: Path, cfg: DataConfig, data: ImageData, n: int) -> ImageData:
    """The images of folder ``path`` as a held-out set for a run trained on ``data``: at the
    run's size and channel count, their class sub-folders mapped to the run's classes by name
    (a conditional model is asked for each image's class)."""
    try:
        held = load_dataset(DataConfig(dataset="folder", path=str(path), size=cfg.size), "cpu")
    except (DataError, ConfigError) as e:
        raise QualityError(f"cannot load the held-out images: {e}") from None
    held, _ = in_memory(held, min_images=n)
    if held.channels != data.channels:
        if held.channels != 1:
            raise QualityError(f"the held-out images are in colour and the run's are grey: "
                               f"{path} does not hold images of the run's data")
        held = ImageData(held.images.expand(-1, 3, -1, -1).contiguous(), held.labels,
                         held.class_names, name=held.name)
    if not data.class_names:
        return held
    unknown = sorted(set(held.class_names) - set(data.class_names))
    if not held.class_names or unknown:
        raise QualityError(
            f"the held-out folder {path} needs one sub-folder per class, named as the run's "
            f"classes ({', '.join(data.class_names)})"
            + (f"; not classes of the run: {', '.join(unknown)}" if unknown else ""))
    assert held.labels is not None
    to_run = torch.tensor([data.class_names.index(c) for c in held.class_names])
    return ImageData(held.images, to_run[held.labels.cpu()], data.class_names, name=held.name)


def _hue_of(data: ImageData, idx: torch.Tensor, chunk: int = 1024) -> HueHistogram:
    """The hue votes of data's images idx, converted to float a chunk at a time."""
    hue, dev = HueHistogram(), data.images.device
    for i in range(0, len(idx), chunk):
        hue.add(as_float(data.images[idx[i:i + chunk].to(dev)]))
    return hue


MAX_TRAIN_IMAGES = 50_000  # memorisation compares with at most this many training images


def memorisation_reference(data: ImageData, idx: torch.Tensor | None = None, seed: int = 0,
                           held_queries: torch.Tensor | None = None,
                           ) -> tuple[torch.Tensor, torch.Tensor]:
    """(training images as pixel vectors (M, D), real images' distance to their nearest
    training image (N,)). The real images are ``held_queries`` (images the GAN never saw) or
    data's images ``idx``: the GAN trains on every image of its data, so every image of it is a
    training image, and an image's own copy is left out of its search (leave-one-out), which is
    what a fresh draw from the data would read."""
    n_data = len(data)
    ref_idx = torch.arange(n_data)
    if n_data > MAX_TRAIN_IMAGES:
        g = torch.Generator().manual_seed(seed + 1)
        ref_idx = torch.randperm(n_data, generator=g)[:MAX_TRAIN_IMAGES].sort().values
    dev = data.images.device
    train = torch.cat([pixel_vectors(as_float(data.images[ref_idx[i:i + 4096].to(dev)]).cpu())
                       for i in range(0, len(ref_idx), 4096)])
    if held_queries is not None:
        return train, nearest(pixel_vectors(as_float(held_queries).cpu()), train)[0][:, 0]
    assert idx is not None
    where = torch.full((n_data,), -1, dtype=torch.long)
    where[ref_idx] = torch.arange(len(ref_idx))
    queries = pixel_vectors(as_float(data.images[idx.to(dev)]).cpu())
    real_nn = nearest(queries, train, exclude=where[idx])[0][:, 0]
    return train, real_nn


def manifold_floor(real: RealSet) -> dict[str, float] | None:
    """Precision and recall of real images against other real images (the two sets of the FD
    noise floor): what a perfect generator reads at about this n. None with too few images."""
    a, b = real.features, real.baseline_features
    if b is None:
        a, b = a[: len(a) // 2], a[len(a) // 2:]
    if min(len(a), len(b)) <= K:
        return None
    return precision_recall(a, b)


def hue_floor(real: RealSet) -> tuple[float | None, str | None]:
    """(hue distance between the two sets of the FD noise floor, or None; why None): what a
    generator with the real images' colours reads at about this n."""
    if real.hue is None or real.baseline_hue is None:
        return None, "no hue distance: the images have no colour channels"
    a, b = real.hue, real.baseline_hue
    if real.baseline_features is None:  # the second half was counted: a is the first half
        a = a - b
    value = hue_distance(a, b)
    if value is not None:
        return value, None
    return None, why_no_hue(real=a + b) or ("no hue distance: one of the two sets of real "
                                            "images has (almost) no colour")


def _hue_header(real: RealSet) -> dict[str, Any]:
    """The result header's hue floor (and why it is None); nothing for data without colour
    channels, which has no hue to compare."""
    if real.hue is None:
        return {}
    value, note = hue_floor(real)
    return {"hue_distance_real_vs_real": value} | ({"hue_note": note} if note else {})


def noise_floor(real: RealSet) -> tuple[float, list[int]]:
    """FD between two disjoint sets of real images, and their sizes: what FD reads for a
    perfect generator at (about) this n. Without spare images, the two halves of the real set."""
    a = real.features
    b = real.baseline_features
    if b is None:
        a, b = a[: len(a) // 2], a[len(a) // 2:]
    return frechet_distance(a, b), [len(a), len(b)]


@torch.inference_mode()
def evaluate_generator(G: nn.Module, clf: EvalClassifier, real: RealSet, z_dim: int,
                       conditional: bool, seed: int = 0, batch: int = 256) -> dict[str, Any]:
    """FD, and for class data coverage (+ accuracy at the requested class if conditional).

    Conditional samples ask for the real set's labels, so both sides have the same class mix.
    """
    n = len(real.features)
    dev = next(G.parameters()).device
    z = torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))
    y = None
    if conditional:
        if real.labels is None or real.class_share is None:
            raise QualityError("a conditional model needs class labels in its data")
        y = torch.nn.functional.one_hot(real.labels, len(real.class_share)).float()
    feats, outs, pixels = [], [], []
    hue = HueHistogram() if real.hue is not None else None
    for i in range(0, n, batch):
        x = G(z[i:i + batch].to(dev), None if y is None else y[i:i + batch].to(dev))
        f, o = clf.run(x)  # (b, C, H, W) in [-1, 1] -> (b, 128), (b, n_out)
        feats.append(f)
        outs.append(o)
        if real.train_pixels is not None:
            pixels.append(pixel_vectors(x.float().cpu()))
        if hue is not None:
            hue.add(x)
    fake = torch.cat(feats)
    out: dict[str, Any] = {"fd": frechet_distance(real.features, fake.numpy())}
    if n > K:
        out |= precision_recall(real.features, fake)
    if real.train_pixels is not None and real.real_nn is not None:
        # On the generator's device: per snapshot this is n x (training images) distances.
        gen_nn = nearest(torch.cat(pixels).to(dev), real.train_pixels.to(dev))[0][:, 0].cpu()
        out["memorisation"] = memorisation(gen_nn, real.real_nn)
    if clf.kind == "classes" and real.class_share is not None:
        pred = torch.cat(outs).argmax(1)
        out |= class_report(pred, len(real.class_share), real.class_share,
                            real.labels if conditional else None)
    if hue is not None and real.hue is not None:
        out["hue_distance"] = hue_distance(real.hue, hue)
        out["hue_shares"] = hue_shares_report(real.hue, hue)
        note = why_no_hue(real=real.hue, generated=hue)
        if note:
            out["hue_note"] = note
    return out


def resolve_run(path: Path) -> tuple[Path, Path]:
    """(checkpoint file, run folder) for a checkpoint, a snapshot, a run folder or RUN/best."""
    try:
        path = resolve_checkpoint(path)
    except CheckpointError as e:
        raise QualityError(str(e)) from None
    return path, RunFolder.of(path).path


PATIENCE = 3  # evaluations without gain before advising to stop training


def evaluate_checkpoint(path: Path, n: int = 2000, device: str | torch.device = "cpu",
                        classifier_steps: int = 500, retrain: bool = False,
                        over_steps: bool = False, seed: int = 0,
                        progress: StepText = lambda s: None,
                        reference: Reference | None = None) -> dict[str, Any]:
    """All quality figures of a checkpoint (and optionally of every snapshot of its run)."""
    result, ctx = _setup(path, n, device, classifier_steps, retrain, seed, progress, reference)
    ckpt, run_dir, d, cfg, clf, real, cond = ctx
    n = result["n"]
    for name, use_ema in (("G_ema", True), ("G", False)):
        if name == "G" and "G" not in d:
            continue  # snapshots hold G_ema only
        progress(f"evaluating {name} on {n} samples")
        G = load_generator(ckpt, device, use_ema=use_ema).generator
        result["models"][name] = evaluate_generator(G, clf, real, cfg.model.z_dim, cond, seed)
    if over_steps:
        rows = _over_steps(run_dir, clf, real, cfg.model.z_dim, cond, device, seed, progress)
        result["over_steps"] = rows
        best = best_row(rows)
        if best is not None:
            result["best"] = mark_best(run_dir, best, n)
        result["advice"] = stop_advice(rows, PATIENCE)
    return result


@dataclass(frozen=True)
class Reference:
    """What to measure against instead of the run's own: a folder of images the model never
    trained on (``held_out``), and an eval classifier file (``classifier``, e.g. one trained on
    more of the same kind of images, or another run's, to compare runs in one feature space)."""

    held_out: Path | None = None
    classifier: Path | None = None


def _classifier_from_file(path: Path, data: ImageData) -> tuple[EvalClassifier, str]:
    clf = load_classifier(path)
    if clf is None:
        raise QualityError(f"{path} is not an eval classifier this version can read (an "
                           "eval_classifier.pt of a run folder)")
    if clf.net.body[0].in_channels != data.channels:
        raise QualityError(f"the classifier {path} reads {clf.net.body[0].in_channels}-channel "
                           f"images; the run's have {data.channels}")
    if clf.kind == "classes" and clf.class_names != data.class_names:
        if sorted(clf.class_names) != sorted(data.class_names):
            raise QualityError(f"the classifier {path} knows the classes "
                               f"{', '.join(clf.class_names)}; the run's are "
                               f"{', '.join(data.class_names) or 'none'}")
        # The same classes in another order (an image folder lists them by name): reorder the
        # head's outputs to the run's.
        order = torch.tensor([clf.class_names.index(c) for c in data.class_names])
        head = clf.net.head
        head.weight.data, head.bias.data = head.weight.data[order], head.bias.data[order]
        clf.class_names = list(data.class_names)
    return clf, f"loaded from {path} (given)"


def _setup(path: Path, n: int, device: str | torch.device, classifier_steps: int, retrain: bool,
           seed: int, progress: StepText,
           reference: Reference | None = None) -> tuple[dict[str, Any], tuple]:
    """The result's header (n, classifier, floors, warnings) and what measuring needs:
    (checkpoint, run folder, its dict, config, classifier, real set, conditional)."""
    ckpt, run_dir = resolve_run(path)
    d = load_raw(ckpt)  # CheckpointError for a missing, damaged or unsafe file
    cfg = config_of(d, ckpt.name)
    progress(f"loading the real data ({cfg.data.dataset}, {cfg.data.size}px)")
    try:
        data = load_dataset(cfg.data, "cpu")
    except DataError as e:
        raise QualityError(f"cannot load the run's real data: {e}") from None
    if isinstance(data, StreamingData):
        progress(f"reading a fixed random sample of its {len(data)} images into memory")
    data, sampled = in_memory(data, min_images=2 * n)
    reference = reference or Reference()
    if reference.classifier is not None:
        clf, note = _classifier_from_file(reference.classifier, data)
    else:
        clf, note = classifier_for_run(run_dir, cfg.data, data, classifier_steps, device,
                                       retrain, progress)
    held = None
    if reference.held_out is not None:
        progress(f"loading the held-out images of {reference.held_out}")
        held = load_held_out(reference.held_out, cfg.data, data, n)
    n_real = len(held) if held is not None else len(data)
    n_asked, n = n, max(2, min(n, n_real))
    real = real_set(data, clf, n, seed, held)
    cond = bool(cfg.model.conditional and d["class_names"])
    floor, floor_n = noise_floor(real)
    result: dict[str, Any] = {
        "checkpoint": str(ckpt), "step": int(d["step"]), "kind": d.get("kind"), "n": n,
        "conditional": cond, "class_names": list(data.class_names),
        "classifier": {"kind": clf.kind, "held_out": clf.held_out, "cache": note,
                       "feature_dim": int(real.features.shape[1])},
        "real_images": (f"{n} held-out images of {reference.held_out} (the floor compares "
                        f"them with the training images)" if held is not None else
                        "the run's training data"),
        "fd_real_vs_real": floor, "fd_real_vs_real_n": floor_n,
        "pr_real_vs_real": manifold_floor(real), **_hue_header(real),
        "models": {}}
    if clf.kind == "random-features":
        result["classifier"]["warning"] = ("the data has neither classes nor attributes: "
                                           "features come from a fixed random CNN")
    result["warnings"] = ([sampled] if sampled else []) + _warnings(result, asked=n_asked,
                                                                     n_data=n_real)
    return result, (ckpt, run_dir, d, cfg, clf, real, cond)


def watch_run(path: Path, n: int = 2000, device: str | torch.device = "cpu",
              classifier_steps: int = 500, patience: int = 3, seed: int = 0,
              poll_s: float = 30.0, idle_exit_s: float | None = None,
              progress: StepText = lambda s: None,
              on_row: Callable[[dict[str, Any], dict[str, Any]], None] = lambda row, r: None,
              should_stop: Callable[[], bool] = lambda: False,
              reference: Reference | None = None) -> dict[str, Any]:
    """Evaluate each snapshot of a run as training writes it, in this process (off the
    training's own process and its steps), marking the best and advising when to stop.

    Ends when ``should_stop()``, or after ``idle_exit_s`` seconds without a new snapshot (None:
    never). ``on_row(row, result)`` after each evaluation; the result holds "over_steps", "best"
    and "advice" (None until ``patience`` evaluations in a row brought no gain).
    """
    import time

    result, ctx = _setup(path, n, device, classifier_steps, False, seed, progress, reference)
    _, run_dir, _, cfg, clf, real, cond = ctx
    result |= {"over_steps": [], "advice": None, "patience": patience}
    seen: set[str] = set()
    idle_since = time.monotonic()
    while not should_stop():
        new = [p for p in RunFolder(run_dir).snapshot_files() if p.name not in seen]
        for snap in new:
            if should_stop():
                break
            row = _snapshot_row(snap, clf, real, cfg.model.z_dim, cond, device, seed, progress)
            seen.add(snap.name)  # snapshots appear atomically: one that fails to load is damaged
            result["over_steps"].append(row)
            best = best_row(result["over_steps"])
            if best is not None:
                result["best"] = mark_best(run_dir, best, result["n"])
            result["advice"] = stop_advice(result["over_steps"], patience)
            on_row(row, result)
            idle_since = time.monotonic()
        if idle_exit_s is not None and time.monotonic() - idle_since >= idle_exit_s:
            break
        if not new:
            time.sleep(poll_s)
    return result


def _warnings(r: dict[str, Any], asked: int, n_data: int) -> list[str]:
    """What makes these figures less trustworthy than they look, for the user."""
    out = []
    if r["classifier"].get("warning"):
        out.append(r["classifier"]["warning"])
    n, dim = r["n"], r["classifier"]["feature_dim"]
    if n < asked:
        out.append(f"the data has {n_data} images, so n = {n} (not the {asked} asked for)")
    a, b = r["fd_real_vs_real_n"]
    if (a, b) != (n, n):
        out.append(f"too few images for two disjoint sets of {n}: the noise floor compares {a} "
                   f"with {b} real images, which overstates it")
    if n <= dim:
        out.append(f"n = {n} is not above the {dim} feature dimensions: FD then mostly measures "
                   "the sample size; compare FDs only at equal n, and use more images")
    held = r["classifier"]["held_out"]
    if held.get("metric") and held["n"] < 50:
        out.append(f"the classifier's held-out score rests on only {held['n']} images")
    return out


def summary_lines(r: dict[str, Any]) -> list[str]:
    """The lines above the table, the same in the CLI and the GUI: what was measured against
    what, the FD noise floor, and the warnings."""
    c, held = r["classifier"], r["classifier"]["held_out"]
    trust = ("a fixed random CNN (no classes or attributes to learn)" if held.get("metric") is None
             else f"held-out {held['metric']} {held['value']:.3f} on {held['n']} real images")
    a, b = r.get("fd_real_vs_real_n") or (r["n"], r["n"])
    at = "at this n" if a == b == r["n"] else f"{a} vs {b} real images"
    lines = [f"step {r['step']}, n = {r['n']}; classifier: {c['kind']}, {trust}; {c['cache']}",
             f"FD real vs real (noise floor {at}): {r['fd_real_vs_real']:.3f}"]
    if r.get("real_images", "the run's training data") != "the run's training data":
        lines.insert(1, f"real images: {r['real_images']}")
    pr = r.get("pr_real_vs_real")
    if pr:
        lines.append(f"precision / recall real vs real (k = {K}, the same sets): "
                     f"{pr['precision']:.2f} / {pr['recall']:.2f}")
    if "hue_distance_real_vs_real" in r:  # RGB data
        hue = r["hue_distance_real_vs_real"]
        lines.append(r.get("hue_note") if hue is None else
                     f"hue distance real vs real (the same sets; 0 = the same colour mix, "
                     f"1 = no colour in common): {hue:.3f}")
    mem = next((m["memorisation"] for m in r.get("models", {}).values() if "memorisation" in m),
               None)
    if mem:
        whose = ("held-out images lie a median {:.2f} from the nearest training image"
                 if "held-out" in r.get("real_images", "") else
                 "real images lie a median {:.2f} from the nearest other training image")
        lines.append(f"memorisation: {whose.format(mem['median_nn_real'])}; near-copy = "
                     f"closer than {mem['near_copy_threshold']:.2f} "
                     f"({NEAR_COPY_PERCENTILE:g}% of real images are)")
    if r.get("best"):
        lines.append(f"best snapshot: step {r['best']['step']} (lowest FD), "
                     f"open it with --checkpoint {Path(r['best']['path']).parents[1]}/best")
    if r.get("advice"):
        lines.append(f"advice: {r['advice']}")
    if r["class_names"]:
        lines.append(f"classes: {', '.join(r['class_names'])}")
    lines += [f"warning: {w}" for w in r.get("warnings", [])]
    return lines


def _over_steps(run_dir: Path, clf: EvalClassifier, real: RealSet, z_dim: int, cond: bool,
                device: str | torch.device, seed: int, progress: StepText) -> list[dict[str, Any]]:
    """G_ema figures of every snapshot in run_dir/snapshots, in step order."""
    return [_snapshot_row(snap, clf, real, z_dim, cond, device, seed, progress)
            for snap in RunFolder(run_dir).snapshot_files()]


def _snapshot_row(snap: Path, clf: EvalClassifier, real: RealSet, z_dim: int, cond: bool,
                  device: str | torch.device, seed: int, progress: StepText) -> dict[str, Any]:
    """One snapshot's G_ema figures, or {"snapshot", "error"} if it cannot be read."""
    try:
        model = load_generator(snap, device)
    except CheckpointError as e:  # e.g. a snapshot being written right now: skip it
        return {"snapshot": snap.name, "error": str(e)}
    progress(f"snapshot {snap.name}")
    r = evaluate_generator(model.generator, clf, real, z_dim, cond, seed)
    row = {"step": model.step, "snapshot": snap.name, "fd": r["fd"],
           **{k: r[k] for k in ("precision", "recall", "accuracy", "coverage", "hue_distance")
              if k in r}}
    if "memorisation" in r:
        row["near_copy_share"] = r["memorisation"]["near_copy_share"]
    return row
