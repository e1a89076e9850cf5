"""Two-process DistributedDataParallel training on the CPU (gloo), launched like a user would."""

import os
import subprocess
import sys
from pathlib import Path

from trainer.checkpoint import load_raw
from trainer.runlog import read_log

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--size", "8", "--n-images", "64", "--width", "4", "--z-dim", "8", "--batch-size", "8",
        "--device", "cpu", "--checkpoint-every", "3", "--preview-every", "3"]


def _torchrun(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           "--standalone",
           str(ROOT / "main.py"), "train", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)


def test_two_process_train_and_resume(tmp_path):
    run = tmp_path / "ddp"
    r = _torchrun("--out", str(run), "--steps", "4", *TINY)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stderr.count("completed at step 4") == 1  # only rank 0 reports
    ckpt = load_raw(run / "checkpoint.pt")
    assert ckpt["step"] == 4 and not any(k.startswith("module.") for k in ckpt["G"])
    r = _torchrun("--resume", str(run), "--steps", "6")
    assert r.returncode == 0, r.stderr[-2000:]
    assert load_raw(run / "checkpoint.pt")["step"] == 6
    assert read_log(run / "log.jsonl")["step"].tolist() == [1, 2, 3, 4, 5, 6]
