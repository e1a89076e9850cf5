"""How the step runs: compile (and its eager fallback), bf16 autocast, and the explicit penalty
under DDP (gradients averaged across processes)."""

import functools
import os

import pytest
import torch
import torch.multiprocessing as mp

from trainer import speed
from trainer.data.shapes import make_shapes
from trainer.events import Notice, Started
from trainer.gan import GAN
from trainer.loop import train


def _gan(cfg, size=8, **train_changes):
    cfg = cfg.with_changes(train=train_changes)
    return GAN(cfg, size, 3, 5, torch.device("cpu")), make_shapes(64, size)


def test_auto_compile_is_eager_on_cpu(tiny_cfg):
    gan, _ = _gan(tiny_cfg)
    assert tiny_cfg.train.compile == "auto" and not gan.compiled
    assert gan.step_impl == "explicit gradient penalty, eager, fp32"
    assert speed.compile_mode("auto", torch.device("cuda"), distributed=False) == "reduce-overhead"
    assert speed.compile_mode("auto", torch.device("cuda"), distributed=True) is None
    assert speed.compile_mode("on", torch.device("cpu"), distributed=False) == "default"
    assert speed.compile_mode("off", torch.device("cuda"), distributed=False) is None


def test_compiled_step_matches_eager(tiny_cfg, monkeypatch):
    """The losses trace and differentiate under torch.compile (aot_eager: the same graphs
    without a C++ compiler, so the test stays fast); the step equals the eager one."""
    eager, data = _gan(tiny_cfg, compile="off")
    monkeypatch.setattr(speed.torch, "compile",
                        functools.partial(torch.compile, backend="aot_eager"))
    compiled, _ = _gan(tiny_cfg, compile="on")
    assert compiled.compiled and "torch.compile default" in compiled.step_impl
    for _ in range(2):
        a, b = eager.train_step(data), compiled.train_step(data)
    assert compiled.notes[0].startswith("compiling") and compiled.fallback_notes == []
    for k in a:
        assert torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-5), k
    for p, q in zip(eager.D.parameters(), compiled.D.parameters(), strict=True):
        assert torch.allclose(p, q, rtol=1e-4, atol=1e-5)


def test_failed_compile_falls_back_to_eager_and_says_so(tiny_cfg, tmp_path, monkeypatch):
    def broken_compile(module, mode=None):
        def call(*args):
            raise RuntimeError("no C++ compiler found")
        return call

    monkeypatch.setattr(speed.torch, "compile", broken_compile)
    events = list(train(tmp_path / "run", tiny_cfg.with_changes(train={"compile": "on"})))
    started = events[0]
    assert isinstance(started, Started) and "torch.compile" in started.step_impl
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert notices[0].startswith("compiling the training step")
    assert any("critic loss failed, running it eager" in m and "no C++ compiler" in m
               for m in notices)
    assert any("generator loss failed" in m for m in notices)
    assert type(events[-1]).__name__ == "Finished" and events[-1].reason == "completed"


def test_bf16_step_runs_and_logs_float32(tiny_cfg, monkeypatch):
    monkeypatch.setattr(speed, "native_bf16", lambda device: False)
    # 16 px: a generator with a middle layer, whose bf16 output feeds the RGB layer
    gan, data = _gan(tiny_cfg, size=16, precision="bf16")
    assert gan.step_impl.endswith("bf16 scores, fp32 penalty") and "emulated" in gan.notes[0]
    for _ in range(2):
        stats = gan.train_step(data)
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in stats.values())
    assert all(p.dtype == torch.float32 for p in gan.D.parameters())


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_bf16_only_on_a_cpu_with_bf16_units(tiny_cfg, monkeypatch, native):
    monkeypatch.setattr(speed, "native_bf16", lambda device: native and device.type == "cpu")
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert speed.resolve_precision("auto", cpu) == ("bf16" if native else "fp32")
    assert speed.resolve_precision("auto", cuda) == "fp32"
    assert speed.resolve_precision("fp32", cpu) == "fp32"
    assert speed.resolve_precision("bf16", cpu) == "bf16"
    cfg = tiny_cfg.with_changes(model={"arch": "sngan", "upsample": "nearest"},
                                train={"loss": "hinge", "n_critic": 1})
    gan, data = _gan(cfg, precision="auto")
    assert gan.cfg.train.precision == "auto"  # the config keeps the setting, the run resolves it
    assert gan.precision == ("bf16" if native else "fp32")
    assert gan.step_impl.endswith("bf16" if native else "fp32")
    assert any("precision auto: bf16" in n for n in gan.notes) == native
    stats = gan.train_step(data)
    assert all(torch.isfinite(v) for v in stats.values())


def test_presets_choose_their_precision():
    from trainer.config import RunConfig, apply_preset

    assert apply_preset(RunConfig(), "sngan").train.precision == "auto"
    for name in ("cpu-fast", "reference", "vae"):  # the course's loop as it was; the VAE fp32
        cfg = apply_preset(apply_preset(RunConfig(), "sngan"), name)
        assert cfg.train.precision == "fp32", name


def test_native_bf16_is_false_off_the_cpu_and_when_the_probe_fails(monkeypatch):
    assert speed.native_bf16(torch.device("cuda")) is False

    def broken():
        raise RuntimeError("cpuinfo failed")

    monkeypatch.setattr(speed.torch.cpu, "_is_amx_tile_supported", broken, raising=False)
    assert speed.native_bf16(torch.device("cpu")) is False


def test_unsupported_precision_is_a_clear_error(monkeypatch):
    def refuse(**kw):
        raise RuntimeError("bfloat16 autocast is not supported")

    monkeypatch.setattr(speed.torch, "autocast", refuse)
    with pytest.raises(RuntimeError, match="precision bf16 is not supported on cpu"):
        speed.check_precision("bf16", torch.device("cpu"))


# --- DDP: the explicit penalty's gradients are averaged across processes ----------------------

def _ddp_worker(rank: int, world: int, result_dir: str) -> None:
    import torch.distributed as dist

    from trainer.config import RunConfig
    from trainer.distributed import DistInfo, shutdown
    from trainer.speed import CriticLoss

    # A file rendezvous: no TCP port to race for with other tests.
    dist.init_process_group("gloo", init_method=f"file://{result_dir}/rendezvous", rank=rank,
                            world_size=world)
    torch.set_num_threads(1)
    cfg = RunConfig().with_changes(data={"size": 8}, model={"z_dim": 8, "width": 4},
                                   train={"batch_size": 8, "device": "cpu"})
    gan = GAN(cfg, 8, 3, 5, torch.device("cpu"), DistInfo(rank, world, rank))
    assert gan.step_impl == "explicit gradient penalty, eager, fp32, DDP"
    # One known full batch; each rank takes its half. Averaged DDP gradients must equal the
    # single-process gradient of the whole batch (the losses are means over equal halves).
    g = torch.Generator().manual_seed(0)
    real, fake = torch.rand(2, 8, 3, 8, 8, generator=g) * 2 - 1
    y = torch.eye(5)[torch.arange(8) % 5]
    eps = torch.rand(8, generator=g)
    half = slice(4 * rank, 4 * rank + 4)
    gan._critic_step(real[half], fake[half], y[half], eps[half])
    ddp_grads = [p.grad.clone() for p in gan.D.parameters()]
    whole = CriticLoss(gan.D, cfg.train)
    loss, _ = whole(real, fake, y, eps)
    ref = torch.autograd.grad(loss, list(gan.D.parameters()), allow_unused=True)
    for a, b in zip(ddp_grads, ref, strict=True):
        b = torch.zeros_like(a) if b is None else b
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6), (a - b).abs().max()
    # Whole steps on different data per rank: the weights stay identical across ranks.
    data = make_shapes(64, 8)
    for _ in range(2):
        gan.train_step(data)
    flat = torch.cat([p.detach().flatten() for p in (*gan.D.parameters(), *gan.G.parameters())])
    gathered = [torch.zeros_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    assert torch.equal(gathered[0], gathered[1])
    del gan, whole  # the DDP wrappers hold the group: release them before leaving it
    shutdown(DistInfo(rank, world, rank))
    open(os.path.join(result_dir, f"ok{rank}"), "w").close()


def test_explicit_penalty_gradients_are_averaged_under_ddp(tmp_path):
    mp.spawn(_ddp_worker, args=(2, str(tmp_path)), nprocs=2, join=True)
    assert {"ok0", "ok1"} <= {p.name for p in tmp_path.iterdir()}
