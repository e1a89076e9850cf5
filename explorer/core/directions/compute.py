"""One call that computes a set of directions for a loaded model: the shared back end of
``main.py directions`` and the Control view's Compute button. Qt-free."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from explorer.core.directions.attribute_model import AttributeModel, attribute_model_for_run
from explorer.core.directions.direction import (
    Direction,
    DirectionsError,
    orthogonalize,
    project_out,
)
from explorer.core.directions.finders import (
    ganspace_directions,
    name_by_attribute,
    sefa_directions,
    supervised_directions,
)
from explorer.core.jobs import CancelFn, Progress
from explorer.core.latent.latent_math import check_seed
from trainer.checkpoint import LoadedModel
from trainer.runfolder import RunFolder

METHODS = ("sefa", "ganspace", "supervised")
# Samples drawn for the GANSpace and supervised fits: a handful is enough to run, a million is
# already minutes of sampling.
MIN_SAMPLES, MAX_SAMPLES = 16, 1_000_000


@dataclass
class ComputeOptions:
    methods: tuple[str, ...] = ("sefa",)
    k: int = 8  # directions per unsupervised method
    n: int = 3000  # samples for GANSpace / supervised fits
    seed: int = 0
    # Attributes to project out of every direction ("all" = every other attribute).
    project_out: list[str] = field(default_factory=list)
    orthogonalize: bool = False
    # "auto": name unsupervised directions if an attribute model is cached or being trained
    # anyway; "train": train one for naming if needed; "off": never.
    naming: str = "auto"
    attribute_steps: int = 1000
    device: str = "cpu"

    def __post_init__(self) -> None:
        bad = [m for m in self.methods if m not in METHODS]
        if bad or not self.methods:
            raise DirectionsError(f"method must be one of {', '.join(METHODS)} (got "
                                  f"{', '.join(bad) or 'none'})")
        if self.naming not in ("auto", "train", "off"):
            raise DirectionsError("naming must be auto, train or off")
        if not 1 <= self.k <= 1024:
            raise DirectionsError("k must be in [1, 1024]")
        if not MIN_SAMPLES <= self.n <= MAX_SAMPLES:
            raise DirectionsError(f"n (samples for the fits) must be in [{MIN_SAMPLES}, "
                                  f"{MAX_SAMPLES}] (got {self.n})")
        if not 1 <= self.attribute_steps <= 1_000_000:
            raise DirectionsError("attribute model steps must be in [1, 1000000] "
                                  f"(got {self.attribute_steps})")
        try:
            check_seed(self.seed)
        except ValueError as e:
            raise DirectionsError(str(e)) from None


def run_folder(model: LoadedModel) -> Path:
    if model.path is None:
        raise DirectionsError("this model has no checkpoint file yet; save one first")
    return RunFolder.of(model.path).path


def compute_directions(model: LoadedModel, opts: ComputeOptions,
                       progress: Progress | None = None, cancel: CancelFn | None = None,
                       notes: list[str] | None = None) -> list[Direction]:
    """Directions for ``model`` by ``opts``; raises DirectionsError (user message) or Cancelled.
    ``notes`` collects remarks for the user (attribute-model quality, skipped attributes)."""
    G = model.generator
    say = progress or (lambda f, s: None)
    stop = cancel or (lambda: False)
    need_attr = ("supervised" in opts.methods or bool(opts.project_out)
                 or opts.naming == "train")
    attr: AttributeModel | None = None
    if need_attr or (opts.naming == "auto" and model.path is not None):
        say(0.0, "attribute model")
        attr = attribute_model_for_run(
            run_folder(model), model.config.data, opts.attribute_steps, opts.device,
            progress=lambda f: say(0.5 * f, "training the attribute model (once per run)"),
            cancel=stop, train=need_attr)
    if attr is not None and notes is not None:
        notes += describe_attribute_model(attr, "supervised" in opts.methods)
    out: list[Direction] = []
    supervised: list[Direction] = []
    if "supervised" in opts.methods or opts.project_out:
        assert attr is not None
        say(0.5, "supervised directions")
        supervised = supervised_directions(
            G, attr, n=opts.n, seed=opts.seed, cancel=stop,
            progress=lambda f: say(0.5 + 0.3 * f, "labelling samples, fitting directions"))
        if "supervised" in opts.methods:
            out += supervised
    for method in ("sefa", "ganspace"):
        if method not in opts.methods:
            continue
        say(0.8, f"{method} directions")
        found = (sefa_directions(G, opts.k) if method == "sefa" else
                 ganspace_directions(G, opts.k, opts.n, opts.seed, cancel=stop,
                                     progress=lambda f: say(0.8 + 0.1 * f, "GANSpace PCA")))
        if attr is not None and opts.naming != "off":
            say(0.9, "naming directions")
            found = name_by_attribute(G, found, attr, cancel=stop)
        out += found
    if opts.project_out:
        out = apply_projection(out, supervised, opts.project_out)
    if opts.orthogonalize:
        out = orthogonalize(out)
    say(1.0, "done")
    return out


def describe_attribute_model(attr: AttributeModel, supervised: bool = True) -> list[str]:
    scores = attr.scores or [float("nan")] * attr.n_attributes
    parts = [f"{a} {s:.2f}" for a, s in zip(attr.attribute_names, scores, strict=True)]
    acc = "" if attr.class_accuracy != attr.class_accuracy else \
        f"; class accuracy {attr.class_accuracy:.0%}"
    out = [f"attribute model, held-out R²: {', '.join(parts) or 'no attributes'}{acc}"]
    unread = [a for a in attr.attribute_names if a not in attr.readable()]
    if unread and supervised:
        out.append(f"no supervised direction for {', '.join(unread)}: the attribute model cannot "
                   "read it (R² < 0.5)")
    return out


def apply_projection(directions: list[Direction], supervised: list[Direction],
                     attributes: list[str]) -> list[Direction]:
    """Project the listed attributes' supervised directions out of each direction (except the
    direction's own attribute): moving it then leaves those attributes' linear scores alone."""
    known = {d.attribute: d for d in supervised}
    wanted = list(known) if attributes == ["all"] else attributes
    unknown = [a for a in wanted if a not in known]
    if unknown:
        raise DirectionsError(f"cannot project out {', '.join(unknown)}: known attributes are "
                              f"{', '.join(a for a in known if a) or 'none'}")
    out = []
    for d in directions:
        others = [known[a] for a in wanted if a != d.attribute]
        out.append(project_out(d, others) if others else d)  # type: ignore[misc]
    return out


__all__ = ["ComputeOptions", "compute_directions", "run_folder"]
