"""Directions (no Qt): finders recover planted directions, the set math, persistence, the
pixel measurements on Shapes, and the headless command."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from explorer.core.directions.direction import (
    Direction,
    DirectionsError,
    cosine_matrix,
    example_direction,
    load_directions,
    orthogonalize,
    project_out,
    save_directions,
)
from explorer.core.directions.finders import (
    ganspace_directions,
    name_by_attribute,
    sefa_directions,
    supervised_directions,
)
from explorer.core.directions.measure import MEASURED, estimate_factors, measure_directions
from trainer.data.shapes import make_shapes, render
from trainer.models import DCGANGenerator

Z = 8


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(abs(a @ b) / (a.norm() * b.norm()))


def _planted_generator(d: torch.Tensor) -> DCGANGenerator:
    """A conditional DCGAN whose first layer amplifies z along d far more than any other way;
    its (ignored) class rows are even larger, to check SeFa leaves them out."""
    torch.manual_seed(0)
    G = DCGANGenerator(Z, 8, 3, 4, n_classes=2).eval()
    w = G.net[0].weight  # (Z + 2, C, 4, 4)
    pattern = torch.rand(w.shape[1:]) + 0.5  # positive, so the ReLU keeps it
    with torch.no_grad():
        w[:Z] = 0.01 * torch.randn_like(w[:Z]) + 3.0 * d.view(-1, 1, 1, 1) * pattern
        w[Z:] = 50.0 * torch.randn_like(w[Z:])
    return G


def test_sefa_recovers_planted_direction_and_ignores_class_rows():
    d = torch.nn.functional.normalize(torch.randn(Z), dim=0)
    dirs = sefa_directions(_planted_generator(d), k=3)
    assert [x.name for x in dirs] == ["sefa 0", "sefa 1", "sefa 2"]
    assert _cos(dirs[0].vector, d) > 0.99
    assert all(abs(x.vector.norm().item() - 1) < 1e-5 for x in dirs)


def test_ganspace_recovers_planted_direction():
    d = torch.nn.functional.normalize(torch.randn(Z), dim=0)
    dirs = ganspace_directions(_planted_generator(d), k=2, n=600, seed=1)
    assert _cos(dirs[0].vector, d) > 0.9
    assert abs(dirs[1].vector.norm().item() - 1) < 1e-5


class LinearBrightness(nn.Module):
    """Toy unconditional generator: image brightness is tanh(d·z) plus z-dependent texture."""

    def __init__(self, d: torch.Tensor):
        super().__init__()
        self.z_dim, self.n_classes, self.size = Z, 0, 8
        self.d = nn.Parameter(d, requires_grad=False)
        self.texture = nn.Parameter(torch.randn(Z, 3 * 8 * 8) * 0.1, requires_grad=False)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = torch.tanh(z @ self.d)[:, None] * 0.5 + z @ self.texture
        return x.view(-1, 3, 8, 8).clamp(-1, 1)


class MeanBrightnessModel:
    """Stand-in attribute model: one continuous attribute, the mean pixel value."""

    attribute_names = ["brightness"]
    class_names: list[str] = []

    def readable(self, min_score: float = 0.5) -> list[str]:
        return self.attribute_names

    def predict(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return images.mean((1, 2, 3))[:, None], torch.zeros(len(images), 0)


def test_supervised_recovers_linear_attribute():
    d = torch.nn.functional.normalize(torch.randn(Z), dim=0)
    dirs = supervised_directions(LinearBrightness(d), MeanBrightnessModel(), n=1500, seed=2)
    assert len(dirs) == 1 and dirs[0].name == "brightness" and dirs[0].attribute == "brightness"
    assert float(dirs[0].vector @ d) > 0.9  # points towards more brightness
    lo, hi = dirs[0].range
    assert lo == -hi and 1.5 <= hi <= 4
    with pytest.raises(DirectionsError, match="unknown attribute"):
        supervised_directions(LinearBrightness(d), MeanBrightnessModel(), names=["age"], n=50)


def test_example_direction_recovers_group_difference():
    d = torch.nn.functional.normalize(torch.randn(Z), dim=0)
    g = torch.Generator().manual_seed(3)
    z = torch.randn(120, Z, generator=g)
    has = z[:60] + 2.0 * d  # a user marks ~60 samples here; the noise in the means shrinks as 1/√n
    lacks = z[60:]
    v = example_direction(has, lacks)
    assert float(v @ d) > 0.9 and abs(v.norm().item() - 1) < 1e-5
    with pytest.raises(DirectionsError):
        example_direction(has, lacks[:0])


def _dirs(k: int = 4, seed: int = 0) -> list[Direction]:
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(Z, generator=g)
    # Correlated on purpose: each is the shared base plus its own noise.
    return [Direction(f"d{i}", base + 0.7 * torch.randn(Z, generator=g), "sefa")
            for i in range(k)]


@pytest.mark.parametrize("method", ["gram-schmidt", "symmetric"])
def test_orthogonalize(method):
    dirs = _dirs()
    assert (cosine_matrix(dirs) - torch.eye(4)).abs().max() > 0.3
    out = orthogonalize(dirs, method)
    assert [d.name for d in out] == [d.name for d in dirs]
    assert torch.allclose(cosine_matrix(out), torch.eye(4), atol=1e-5)
    if method == "gram-schmidt":
        assert torch.allclose(out[0].vector, dirs[0].vector)
    with pytest.raises(DirectionsError, match="dependent"):
        orthogonalize([dirs[0], dirs[0]], method)


def test_project_out_makes_direction_orthogonal_to_others():
    a, b, c = _dirs(3)
    p = project_out(a.with_vector(a.vector, attribute="size"), [b, c, b])  # duplicate tolerated
    assert isinstance(p, Direction) and p.source == "conditional" and p.name.startswith("d0 ⊥")
    assert abs(float(p.vector @ b.vector)) < 1e-5 and abs(float(p.vector @ c.vector)) < 1e-5
    assert abs(p.vector.norm().item() - 1) < 1e-5 and float(p.vector @ a.vector) > 0
    with pytest.raises(DirectionsError):
        project_out(a, [a])


def test_save_load_round_trip(tmp_path):
    dirs = _dirs(3)
    dirs[1] = dirs[1].with_vector(dirs[1].vector, name="hue", source="supervised",
                                  range=(-2.0, 2.5), attribute="hue")
    path = tmp_path / "directions.pt"
    save_directions(path, dirs)
    back = load_directions(path, z_dim=Z)
    assert [(d.name, d.source, d.range, d.attribute) for d in back] == \
        [(d.name, d.source, d.range, d.attribute) for d in dirs]
    assert all(torch.allclose(a.vector, b.vector) for a, b in zip(back, dirs, strict=True))
    with pytest.raises(DirectionsError, match="z_dim"):
        load_directions(path, z_dim=Z + 1)


class Foreign:
    pass


@pytest.mark.parametrize("content", ["garbage", "pickle", "other", "truncated"])
def test_corrupt_or_foreign_file_refused(tmp_path, content):
    path = tmp_path / "directions.pt"
    if content == "garbage":
        path.write_bytes(b"\x00not a torch file" * 10)
    elif content == "pickle":
        torch.save({"format": "latent-lab-directions", "x": Foreign()}, path)
    elif content == "other":
        torch.save({"weights": torch.zeros(3)}, path)
    else:
        save_directions(path, _dirs(2))
        path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DirectionsError):
        load_directions(path)


# --- measurement on Shapes -------------------------------------------------------------------

def test_pixel_estimators_track_true_factors():
    data = make_shapes(600, 32, seed=5)
    est = estimate_factors(data.images.permute(0, 2, 3, 1).numpy(), data.labels.numpy())
    true = data.attributes.numpy()[:, [0, 1, 2, 4, 5]]  # size, x, y, hue, background
    for j, name in enumerate(MEASURED):
        r = np.corrcoef(est[:, j], true[:, j])[0, 1]
        assert r > 0.95, (name, r)


class ShapesFromZ(nn.Module):
    """Toy conditional 'generator' that renders Shapes with x = 0.5 + 0.1·z₀ and hue driven by
    z₁, every other factor fixed: a planted, perfectly disentangled x direction."""

    def __init__(self):
        super().__init__()
        self.z_dim, self.n_classes, self.size = Z, 5, 32
        self.dummy = nn.Parameter(torch.zeros(1), requires_grad=False)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        n = len(z)
        f = torch.tensor([0.25, 0.5, 0.5, 0.0, 0.4, 0.25]).repeat(n, 1)
        f[:, 1] = (0.5 + 0.1 * z[:, 0]).clamp(0.3, 0.7)
        f[:, 4] = (0.4 + 0.1 * z[:, 1]).clamp(0.0, 0.8)
        return render(y.argmax(1), f, 32).float() / 127.5 - 1


def test_measure_planted_direction_controls_one_factor():
    G = ShapesFromZ()
    dx = Direction("x axis", torch.eye(Z)[0], "supervised", (-1.5, 1.5), "x")
    rows = measure_directions(G, [dx], n=40, steps=7)
    r = rows[0]
    assert r["own"] == "x" and r["control"] > 0.95 and r["leakage"] < 0.1
    assert r["leakage_per_sample"] < 0.1
    assert r["slope_x"] > 0.5


def test_name_by_attribute_names_and_orients():
    class PixelModel:
        attribute_names = list(MEASURED)
        class_names: list[str] = []

        def predict(self, images):
            u8 = ((images + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1)
            f = torch.from_numpy(estimate_factors(u8.numpy()))
            return f / torch.tensor([0.05, 0.12, 0.12, 0.23, 0.12]), torch.zeros(len(f), 0)

    dirs = [Direction("sefa 0", -torch.eye(Z)[1], "sefa"), Direction("sefa 1", torch.eye(Z)[5],
                                                                     "sefa")]
    named = name_by_attribute(ShapesFromZ(), dirs, PixelModel())
    assert named[0].name == "sefa 0: hue" and named[0].attribute == "hue"
    assert float(named[0].vector[1]) > 0  # flipped so that +α increases hue
    assert named[1].name == "sefa 1" and named[1].attribute is None  # z₅ moves nothing


# --- end to end on a tiny trained run ----------------------------------------------------------

def test_cli_sefa_and_supervised_with_cached_attribute_model(trained_run, capsys):
    from main import main

    rc = main(["directions", "--checkpoint", str(trained_run), "--method", "sefa,supervised",
               "--k", "3", "--n", "200", "--attribute-steps", "10", "--project-out", "hue",
               "--measure", "--measure-n", "8", "--device", "cpu"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "control" in out and "saved" in out
    dirs = load_directions(trained_run / "directions.pt", z_dim=8)
    sources = {d.source for d in dirs}
    assert "conditional" in sources and any(d.name.startswith("sefa") for d in dirs)
    cache = trained_run / "attribute_model.pt"
    assert cache.is_file()
    stamp = cache.stat().st_mtime_ns
    assert main(["directions", "--checkpoint", str(trained_run), "--method", "supervised",
                 "--n", "100", "--out", str(trained_run / "d2.pt")]) == 0
    assert cache.stat().st_mtime_ns == stamp  # trained once, then loaded from the cache
    # --append keeps what the file holds and adds the new ones after it.
    before = load_directions(trained_run / "d2.pt", z_dim=8)
    assert main(["directions", "--checkpoint", str(trained_run), "--method", "sefa", "--k", "2",
                 "--naming", "off", "--append", "--out", str(trained_run / "d2.pt")]) == 0
    after = load_directions(trained_run / "d2.pt", z_dim=8)
    assert [d.name for d in after[:len(before)]] == [d.name for d in before]
    assert [d.source for d in after[len(before):]] == ["sefa", "sefa"]


def test_cli_errors_are_one_line(tmp_path, capsys):
    from main import main

    rc = main(["directions", "--checkpoint", str(tmp_path / "missing.pt")])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("error:") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_attribute_model_scores_round_trip_and_readable(tmp_path):
    from explorer.core.directions.attribute_model import (
        load_attribute_model,
        save_attribute_model,
        train_attribute_model,
    )

    model = train_attribute_model(make_shapes(200, 8, seed=1), steps=3, batch_size=16)
    assert len(model.scores) == 6 and 0 <= model.class_accuracy <= 1
    model.scores = [0.9, 0.9, 0.9, 0.1, 0.95, float("nan")]
    assert model.readable() == ["size", "x", "y", "hue", "background"]  # unknown (NaN) kept
    save_attribute_model(tmp_path / "a.pt", model)
    back = load_attribute_model(tmp_path / "a.pt")
    assert back.readable() == model.readable() and back.class_names == model.class_names
    x = make_shapes(4, 8, seed=2).images.float() / 127.5 - 1
    assert torch.allclose(back.predict(x)[0], model.predict(x)[0])


def test_leakage_noise_correction():
    from explorer.core.directions.measure import _fit_slopes

    rng = np.random.default_rng(0)
    alpha = np.linspace(-1, 1, 9)
    true = rng.choice([-0.5, 0.5], size=(1, 400, 1))  # opposite effects for different samples
    f = np.concatenate([alpha[:, None, None] * 0 + rng.normal(0, 0.3, (9, 400, 1)),  # noise only
                        alpha[:, None, None] * true + rng.normal(0, 0.3, (9, 400, 1))], 2)
    slope, se2 = _fit_slopes(alpha, f)
    rms = np.sqrt(np.maximum((slope**2).mean(0) - se2.mean(0), 0))
    assert rms[0] < 0.05 < np.abs(slope[:, 0]).mean()  # jitter alone is not leakage
    assert abs(rms[1] - 0.5) < 0.05 and abs(slope[:, 1].mean()) < 0.05  # sign-varying effect is
