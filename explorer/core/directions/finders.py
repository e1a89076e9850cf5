"""Direction finders: SeFa (closed form), GANSpace (PCA of early features), supervised
(InterFaceGAN-style linear fits on attribute-model labels), and auto-naming.

Every finder takes the generator G (DCGAN or MLP from trainer.models, with ``.z_dim``,
``.n_classes`` and its first block in ``net[0:3]``) and returns unit ``Direction``s. The slow ones
accept ``progress(fraction)`` and ``cancel() -> bool`` callables; cancel raises ``Cancelled``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.directions.attribute_model import AttributeModel
from explorer.core.directions.direction import Direction, DirectionsError
from explorer.core.jobs import CancelFn, Cancelled, Fraction


def _tick(progress: Fraction | None, cancel: CancelFn | None, fraction: float) -> None:
    if cancel is not None and cancel():
        raise Cancelled
    if progress is not None:
        progress(min(max(fraction, 0.0), 1.0))


def _sign_fix(v: torch.Tensor) -> torch.Tensor:
    """Eigen/singular vectors have an arbitrary sign: make the largest component positive."""
    return v * torch.sign(v[v.abs().argmax()])


def sample_latents(G: nn.Module, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(n, z_dim) N(0, I) z and, for a conditional G, (n, n_classes) one-hot uniform classes."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, G.z_dim, generator=g)
    if not G.n_classes:
        return z, None
    labels = torch.randint(G.n_classes, (n,), generator=g)
    return z, F.one_hot(labels, G.n_classes).float()


@torch.no_grad()
def generate(G: nn.Module, z: torch.Tensor, y: torch.Tensor | None, batch: int = 256,
             progress: Fraction | None = None, cancel: CancelFn | None = None) -> torch.Tensor:
    """G(z, y) -> (N, C, H, W) float in [-1, 1] on the CPU, in batches."""
    dev = next(G.parameters()).device
    out = []
    for i in range(0, len(z), batch):
        _tick(progress, cancel, i / max(len(z), 1))
        yb = y[i:i + batch].to(dev) if y is not None else None
        out.append(G(z[i:i + batch].to(dev), yb).float().cpu())
    return torch.cat(out)


# --- SeFa ------------------------------------------------------------------------------------

def first_layer_matrix(G: nn.Module) -> torch.Tensor:
    """A (out_features, z_dim): the first layer's linear map of z, class-input rows dropped.

    The BatchNorm right after it is a fixed per-channel scale in eval mode, so it is folded in:
    SeFa should rank directions by how much they change what the next layer actually sees.
    """
    layer, norm = G.stem[0], G.stem[1]
    z_dim = G.z_dim
    w = layer.weight.detach().float().cpu()
    if isinstance(layer, nn.ConvTranspose2d):
        a = w[:z_dim].reshape(z_dim, w.shape[1], -1).permute(1, 2, 0)  # (C, 16, z_dim)
    elif isinstance(layer, nn.Linear):
        a = w[:, :z_dim].unsqueeze(1)  # (C, 1, z_dim)
    else:
        raise DirectionsError(f"SeFa needs a linear or transposed-conv first layer, not "
                              f"{type(layer).__name__}")
    if isinstance(norm, (nn.BatchNorm1d, nn.BatchNorm2d)) and norm.running_var is not None:
        scale = norm.running_var.detach().float().cpu().add(norm.eps).rsqrt()
        if norm.weight is not None:
            scale = scale * norm.weight.detach().float().cpu()
        a = a * scale.view(-1, 1, 1)
    return a.reshape(-1, z_dim)


def sefa_directions(G: nn.Module, k: int = 8) -> list[Direction]:
    """SeFa (Shen & Zhou 2021): top-k eigenvectors of AᵀA, the z-directions that the first layer
    amplifies most. Closed form, no data, instant."""
    a = first_layer_matrix(G).double()
    evals, evecs = torch.linalg.eigh(a.T @ a)  # ascending
    k = max(1, min(k, G.z_dim))
    order = torch.argsort(evals, descending=True)[:k]
    return [Direction(f"sefa {i}", _sign_fix(evecs[:, j].float()), "sefa")
            for i, j in enumerate(order.tolist())]


# --- GANSpace --------------------------------------------------------------------------------

@torch.no_grad()
def ganspace_directions(G: nn.Module, k: int = 8, n: int = 2000, seed: int = 0,
                        progress: Fraction | None = None, cancel: CancelFn | None = None
                        ) -> list[Direction]:
    """GANSpace (Härkönen et al. 2020): PCA of the first block's output over n random z, each
    principal coordinate regressed back to z (z ≈ U·x, least squares; U's columns normalised)."""
    z, y = sample_latents(G, n, seed)
    dev = next(G.parameters()).device
    block = G.stem  # first layer + norm + ReLU
    feats = []
    for i in range(0, n, 500):
        _tick(progress, cancel, 0.8 * i / n)
        zb = z[i:i + 500].to(dev)
        if y is not None:
            zb = torch.cat([zb, y[i:i + 500].to(dev)], 1)
        if isinstance(block[0], nn.ConvTranspose2d):
            zb = zb[:, :, None, None]
        feats.append(block(zb).flatten(1).float().cpu())
    f = torch.cat(feats)  # (n, F)
    if y is not None:
        # The class input shifts the features by a per-class constant that no z-direction can
        # produce; remove it so the top components describe z, not the class.
        means = (y.T @ f) / y.sum(0).clamp_min(1).unsqueeze(1)  # (n_classes, F)
        f = f - y @ means
    else:
        f = f - f.mean(0)
    k = max(1, min(k, G.z_dim, n - 1))
    _tick(progress, cancel, 0.85)
    u, s, _ = torch.linalg.svd(f.double(), full_matrices=False)
    x = (u[:, :k] * s[:k]).float()  # (n, k) principal coordinates
    basis = (z.T @ x) / (x * x).sum(0)  # (z_dim, k): least squares z ≈ basis·x (x orthogonal)
    _tick(progress, cancel, 1.0)
    return [Direction(f"ganspace {i}", _sign_fix(basis[:, i]), "ganspace") for i in range(k)]


# --- supervised (InterFaceGAN) ---------------------------------------------------------------

def _targets(model: AttributeModel, G: nn.Module, images: torch.Tensor
             ) -> tuple[torch.Tensor, list[str]]:
    """(N, T) label columns and their names: the attributes, plus class probabilities when the
    generator is unconditional (a conditional G takes its class as input, not from z)."""
    attrs, probs = model.predict(images)
    names = list(model.attribute_names)
    if not G.n_classes and probs.shape[1]:
        attrs = torch.cat([attrs, probs], 1)
        names += [f"class: {c}" for c in model.class_names]
    return attrs, names


def ridge_fit(z: torch.Tensor, y: torch.Tensor | None, t: torch.Tensor,
              lam: float = 1.0) -> torch.Tensor:
    """Ridge regression t ≈ z·W + y·B + b; returns W (z_dim, T) only.

    Class one-hots are covariates so a class-attribute correlation is not forced into z. For 0/1
    or probability targets least squares gives the same normal as logistic regression would,
    up to scale, because z ~ N(0, I) (Brillinger / Stein's lemma)."""
    cols = [z, torch.ones(len(z), 1)] + ([y] if y is not None else [])
    x = torch.cat(cols, 1).double()
    reg = torch.eye(x.shape[1], dtype=torch.float64) * lam
    reg[z.shape[1]:, z.shape[1]:] = 0  # do not shrink the intercept or class offsets
    w = torch.linalg.lstsq(x.T @ x + reg, x.T @ t.double()).solution
    return w[:z.shape[1]].float()


def supervised_directions(G: nn.Module, attribute_model: AttributeModel,
                          names: list[str] | None = None, n: int = 3000, seed: int = 0,
                          progress: Fraction | None = None, cancel: CancelFn | None = None,
                          min_score: float = 0.5) -> list[Direction]:
    """One direction per attribute: sample n z (random classes), label G(z) with the attribute
    model, fit a linear model in z per attribute; its unit normal (pointing to more of the
    attribute) is the direction. The range is the α that moves the attribute by about ±2 std.

    Without ``names``: every label column the attribute model reads with held-out R² >=
    ``min_score`` (a slider fitted to labels the model cannot read would be noise)."""
    z, y = sample_latents(G, n, seed)
    images = generate(G, z, y, progress=lambda f: _tick(progress, None, 0.8 * f), cancel=cancel)
    _tick(progress, cancel, 0.85)
    t, all_names = _targets(attribute_model, G, images)
    readable = set(attribute_model.readable(min_score))
    wanted = names or [a for a in all_names if a in readable or a.startswith("class: ")]
    unknown = [a for a in wanted if a not in all_names]
    if unknown:
        raise DirectionsError(f"unknown attribute(s) {', '.join(unknown)}; the attribute model "
                              f"knows {', '.join(all_names) or 'none'}")
    if not wanted:
        raise DirectionsError("the attribute model has no attributes for this generator (a "
                              "conditional model's classes are inputs, not directions)")
    idx = [all_names.index(a) for a in wanted]
    w = ridge_fit(z, y, t[:, idx])  # (z_dim, T)
    out = []
    for j, a in enumerate(wanted):
        slope = w[:, j].norm().item()  # attribute units (std or probability) per unit α
        if slope < 1e-6:
            raise DirectionsError(f"the generator does not vary '{a}' at all")
        hi = min(max(2.0 / slope, 1.5), 4.0)
        out.append(Direction(a, w[:, j], "supervised", (-hi, hi), a))
    _tick(progress, cancel, 1.0)
    return out


# --- auto-naming -----------------------------------------------------------------------------

def attribute_effects(G: nn.Module, directions: list[Direction], attribute_model: AttributeModel,
                      n: int = 128, step: float = 2.0, seed: int = 1,
                      cancel: CancelFn | None = None) -> tuple[torch.Tensor, list[str]]:
    """(K, T) mean change of each label column between α = -step and +step, per direction."""
    z, y = sample_latents(G, n, seed)
    rows = []
    names: list[str] = []
    for d in directions:
        _tick(None, cancel, 0.0)
        both = torch.cat([z - step * d.vector, z + step * d.vector])
        yy = torch.cat([y, y]) if y is not None else None
        t, names = _targets(attribute_model, G, generate(G, both, yy, cancel=cancel))
        rows.append(t[n:].mean(0) - t[:n].mean(0))
    return torch.stack(rows), names


def name_by_attribute(G: nn.Module, directions: list[Direction], attribute_model: AttributeModel,
                      min_effect: float = 0.3, cancel: CancelFn | None = None) -> list[Direction]:
    """Name each unsupervised direction after the attribute it moves most ("sefa 0: hue") and
    orient it so that +α increases that attribute. Directions that move no attribute by at least
    ``min_effect`` (std units, or probability for 0/1 labels) over α = ±2 keep their name."""
    if not directions:
        return []
    effects, names = attribute_effects(G, directions, attribute_model, cancel=cancel)
    out = []
    for d, e in zip(directions, effects, strict=True):
        j = int(e.abs().argmax()) if len(e) else -1
        if j < 0 or e[j].abs() < min_effect:
            out.append(d)
            continue
        base = d.name.split(":")[0]
        v = d.vector if e[j] > 0 else -d.vector
        out.append(d.with_vector(v, name=f"{base}: {names[j]}", attribute=names[j]))
    return out
