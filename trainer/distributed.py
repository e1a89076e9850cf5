"""Multi-process training under ``torchrun`` (DistributedDataParallel).

``torchrun --nproc_per_node=N main.py train ...`` sets RANK / WORLD_SIZE / LOCAL_RANK; each
process trains on its own batches (``batch_size`` is per process), gradients are averaged by DDP
(the gradient penalty's double backward included), and only rank 0 writes the run folder.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

BARRIER_TIMEOUT_S = 600  # how long the others wait at the end for rank 0's last checkpoint


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_env() -> DistInfo:
    """The process's place in a torchrun job (a single process when not launched by torchrun)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    return DistInfo(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))


def init(info: DistInfo, device: torch.device) -> torch.device:
    """Join the process group; returns this process's device (cuda:LOCAL_RANK on GPUs)."""
    if not info.enabled:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def any_rank(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True if ``flag`` is set on any process (so all stop at the same step)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def shutdown(info: DistInfo) -> None:
    """Leave the process group so that no process can crash on the way out.

    Call it after dropping every DDP wrapper (their reducers hold the group). Order matters:
    wait at a barrier until every process is done (rank 0 writes the last checkpoint while the
    others would already be closing their connections), collect the dropped wrappers so the
    group's last reference is the registry's, then destroy it while the interpreter is fully
    alive. A group torn down later, while Python finalises, can abort the process (SIGABRT,
    "terminate called without an active exception").
    """
    if not (info.enabled and dist.is_initialized()):
        return
    try:
        if dist.get_backend() == "gloo":
            dist.monitored_barrier(timeout=timedelta(seconds=BARRIER_TIMEOUT_S))
        else:
            dist.barrier()
    except RuntimeError:  # a peer died or timed out: it has left; destroying is all that is left
        pass
    gc.collect()
    dist.destroy_process_group()
