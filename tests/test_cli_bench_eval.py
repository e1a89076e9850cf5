"""``main.py eval`` and ``main.py bench`` end to end on tiny models (no timing assertions)."""

import json

import pytest
import torch

from main import main
from trainer.speed import resolve_precision


def test_eval_writes_valid_json_and_reuses_its_classifier(trained_run, tmp_path, capsys):
    out = tmp_path / "eval.json"
    args = ["eval", "--checkpoint", str(trained_run), "--n", "16", "--classifier-steps", "3",
            "--device", "cpu", "--out", str(out)]
    assert main([*args, "--over-steps"]) == 0
    r = json.loads(out.read_text())
    assert r["conditional"] and r["classifier"]["kind"] == "classes"
    assert 0 <= r["classifier"]["held_out"]["value"] <= 1
    assert set(r["models"]) == {"G_ema", "G"}  # the full checkpoint holds G too
    for m in r["models"].values():
        assert m["fd"] >= -1e-6 and 0 <= m["accuracy"] <= 1 and 0 <= m["coverage"] <= 1
        assert len(m["per_class_accuracy"]) == len(r["class_names"])
    assert [row["step"] for row in r["over_steps"]] == [4, 6]
    assert (trained_run / "eval_classifier.pt").is_file()
    assert "FD" in capsys.readouterr().out

    snap = trained_run / "snapshots" / "step_0000004.pt"
    assert main(["eval", "--checkpoint", str(snap), "--n", "8", "--device", "cpu",
                 "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert "loaded" in r["classifier"]["cache"] and set(r["models"]) == {"G_ema"}


def test_eval_on_small_data_says_what_its_figures_rest_on(trained_run, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["eval", "--checkpoint", str(trained_run), "--n", "1000", "--classifier-steps",
                 "3", "--device", "cpu", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["n"] == 64  # all the run has
    # no spare images for a disjoint baseline: the floor compares the two halves
    assert r["fd_real_vs_real_n"] == [32, 32] and r["fd_real_vs_real"] >= 0
    warnings = " | ".join(r["warnings"])
    for part in ("has 64 images, so n = 64 (not the 1000 asked for)", "32 with 32",
                 "not above the 128 feature dimensions", "held-out score rests on only"):
        assert part in warnings
    printed = capsys.readouterr().out
    assert "noise floor 32 vs 32 real images" in printed and printed.count("warning: ") == 4

    assert main(["eval", "--checkpoint", str(trained_run), "--n", "16", "--device", "cpu",
                 "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["fd_real_vs_real_n"] == [16, 16]  # 48 spare images: a disjoint baseline of 16
    assert not any("asked for" in w or "disjoint" in w for w in r["warnings"])


def test_eval_of_a_run_whose_folder_streams_from_disk(tmp_path, tiny_cfg, monkeypatch, capsys):
    """A folder too large for memory (CelebA at 64 px and up) streams; eval then measures on a
    fixed in-memory sample of it instead of refusing."""
    import functools

    import numpy as np
    from PIL import Image

    from trainer.data import base, folder
    from trainer.loop import train

    rng = np.random.default_rng(0)
    for c in ("dark", "light"):
        for i in range(12):
            (tmp_path / "imgs" / c).mkdir(parents=True, exist_ok=True)
            level = 40 if c == "dark" else 200
            px = np.clip(level + rng.integers(-30, 30, (8, 8, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(px).save(tmp_path / "imgs" / c / f"{i}.png")
    cfg = tiny_cfg.with_changes(data={"dataset": "folder", "path": str(tmp_path / "imgs")})
    list(train(tmp_path / "run", cfg))
    # 3 images' worth of memory: the folder streams, and the sample is at least 2n = 16 images
    monkeypatch.setattr(folder, "load_image_folder",
                        functools.partial(folder.load_image_folder, max_in_memory_bytes=3 * 192))
    monkeypatch.setattr(base, "SAMPLE_BYTES", 3 * 192)
    out = tmp_path / "eval.json"
    assert main(["eval", "--checkpoint", str(tmp_path / "run"), "--n", "8", "--device", "cpu",
                 "--classifier-steps", "3", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["class_names"] == ["dark", "light"] and r["fd_real_vs_real_n"] == [8, 8]
    assert "streams from disk: a fixed random 16 of its 24 images" in r["warnings"][0]
    assert "streams from disk" in capsys.readouterr().out


def test_eval_reports_a_bad_checkpoint(tmp_path, capsys):
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(b"garbage")
    assert main(["eval", "--checkpoint", str(bad), "--out", str(tmp_path / "e.json")]) == 1
    assert "error" in capsys.readouterr().err


def test_bench_tiny_config_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--config", "32px", "--steps", "1", "--size", "8", "--width", "4",
                 "--batch", "4", "--device", "cpu", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert {"torch", "python", "cpu", "device"} <= set(r["system"])
    c = r["configs"]["32px"]
    assert c["model"]["size"] == 8 and c["model"]["batch_size"] == 4
    assert set(c["train"]) == {"ours_autograd", "ours_explicit", "ours_sngan", "reference"}
    for loop in c["train"].values():
        assert {"ms_per_gen_step", "gen_steps_per_s", "real_images_per_s",
                "peak_memory_mib"} <= set(loop)
    assert "speedup_vs_reference" in c["train"]["ours_explicit"]
    # Each loop says the precision it ran in; the SN-GAN loop takes the sngan preset's ("auto"
    # resolves per CPU), so the bench times the step a default run takes.
    assert c["train"]["reference"]["precision"] == "fp32"
    assert c["train"]["ours_explicit"]["precision"] == "fp32"
    assert c["train"]["ours_sngan"]["precision"] == resolve_precision("auto",
                                                                      torch.device("cpu"))
    assert {"render_1_ms", "render_64_ms", "slider_ms", "gif_60_frames_ms"} <= set(c["render"])
    assert set(c["gp_grad_rel_error_vs_fp64"]) == {"autograd_fp32", "explicit_fp32"}
    assert "ours_explicit" in capsys.readouterr().out


def test_bench_chosen_loops_profile_and_bf16(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--config", "32px", "--steps", "1", "--size", "8", "--width", "4",
                 "--batch", "4", "--device", "cpu", "--loops", "reference,ours_bf16",
                 "--profile", "ours_explicit", "--out", str(out)]) == 0
    c = json.loads(out.read_text())["configs"]["32px"]
    assert set(c["train"]) == {"reference", "ours_bf16"}
    assert (c["train"]["ours_bf16"]["step"]
            == "explicit gradient penalty, eager, bf16 scores, fp32 penalty")
    errors = c["gp_grad_rel_error_vs_fp64"]
    assert set(errors) == {"autograd_fp32", "explicit_fp32", "explicit_bf16"}
    assert errors["explicit_fp32"] < 1e-4 < errors["explicit_bf16"] < 0.5
    prof = c["profile"]
    assert prof["loop"] == "ours_explicit" and prof["ops"]
    assert abs(sum(o["percent"] for o in prof["ops"]) - 100) < 50  # the top ops, most of it
    assert "profile 32px ours_explicit" in capsys.readouterr().out


def test_bench_rejects_an_unknown_loop(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--loops", "reference,fastest"])
    assert "unknown loop(s) fastest" in capsys.readouterr().err


def test_time_to_quality_reports_each_recipe(tmp_path, capsys):
    out = tmp_path / "ttq.json"
    assert main(["bench", "--time-to-quality", "sngan,cpu-fast", "--budget", "1",
                 "--eval-every", "1", "--n-eval", "32", "--size", "8", "--n-images", "64",
                 "--classifier-steps", "5", "--device", "cpu", "--threads", "1",
                 "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert [x["recipe"] for x in r["recipes"]] == ["sngan", "cpu-fast"]
    for x in r["recipes"]:
        assert set(x["reached"]) == {"80%", "90%", "95%"}
        assert x["curve"] and x["curve"][-1]["seconds"] >= 1 and x["curve"][-1]["step"] > 0
        assert 0 <= x["curve"][-1]["accuracy"] <= 1
    assert "sngan" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main(["bench", "--time-to-quality", "nope"])
    assert e.value.code == 2


def test_time_to_quality_precision_overrides_every_preset(tmp_path, capsys):
    """--precision replaces each preset's own (sngan's is auto, cpu-fast's fp32); the JSON
    records the precision the run resolved to."""
    out = tmp_path / "ttq.json"
    assert main(["bench", "--time-to-quality", "sngan,cpu-fast", "--precision", "bf16",
                 "--budget", "1", "--eval-every", "1", "--n-eval", "32", "--size", "8",
                 "--n-images", "64", "--classifier-steps", "5", "--device", "cpu",
                 "--threads", "1", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert [(x["config"]["train"]["precision"], x["precision"]) for x in r["recipes"]] == [
        ("bf16", "bf16"), ("bf16", "bf16")]
    assert "bf16" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["bench", "--time-to-quality", "sngan", "--precision", "fp16"])


def test_time_to_quality_plans_a_decaying_run_to_each_budget(tmp_path, capsys):
    """sngan's lr decays over its run's end: each budget is a fresh run whose step count is
    planned from its speed, so the decay ends with the budget."""
    out = tmp_path / "ttq.json"
    assert main(["bench", "--time-to-quality", "sngan", "--budget", "1,2",
                 "--eval-every", "5", "--n-eval", "32", "--size", "8", "--n-images", "64",
                 "--classifier-steps", "5", "--device", "cpu", "--threads", "1",
                 "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert [(x["recipe"], x["budget_s"]) for x in r["recipes"]] == [("sngan", 1.0),
                                                                     ("sngan", 2.0)]
    for x in r["recipes"]:
        last = x["curve"][-1]
        assert last["seconds"] >= x["budget_s"]
        assert x["config"]["train"]["lr_decay"] > 0
        assert x["config"]["train"]["steps"] >= last["step"] >= 20  # planned, and followed
    for bad in ("0", "1,x", ""):
        with pytest.raises(SystemExit):
            main(["bench", "--time-to-quality", "sngan", "--budget", bad])
