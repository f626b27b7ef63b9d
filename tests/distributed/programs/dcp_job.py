"""A user's sharded training job: every rank imports autolog and calls init, then DCP save, async_save, load.

Run under torchrun (`RANK` set) or as `python dcp_job.py spawn N ...` (torch.multiprocessing, no `RANK`: the
rank comes from the process group). Ended the way users end it: the last rank returns, nothing flushed.
argv: launcher world output_uri checkpoint_root [steps]
"""

from __future__ import annotations

import os
import sys
import time

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.tensor import DeviceMesh, Shard, distribute_tensor

import autolog


def state(world: int, step: int) -> dict:
    mesh = DeviceMesh("cpu", list(range(world)))
    torch.manual_seed(step)
    weight = torch.randn(64, 16)
    bias = torch.randn(64)
    return {
        "model": {
            "weight": distribute_tensor(weight, mesh, [Shard(0)]),
            "bias": distribute_tensor(bias, mesh, [Shard(0)]),
        },
        "step": step,
    }


def job(rank: int, world: int, output_uri: str, root: str) -> None:
    if not dist.is_initialized():
        dist.init_process_group("gloo", rank=rank, world_size=world)
    task = autolog.init("dist", "train", output_uri=output_uri)
    # async_save runs its collectives in a worker thread: on a group of their own, as torch's docs advise.
    checkpoint_group = dist.new_group(backend="gloo")
    first, second, loaded = state(world, 1), state(world, 2), state(world, 0)
    began = time.perf_counter()
    dcp.save(first, checkpoint_id=os.path.join(root, "step-1"))
    pending = dcp.async_save(second, checkpoint_id=os.path.join(root, "step-2"), process_group=checkpoint_group)
    dcp.load(loaded, checkpoint_id=os.path.join(root, "step-1"))
    pending.result()
    dist.barrier()
    assert torch.equal(loaded["model"]["weight"].to_local(), first["model"]["weight"].to_local()), "DCP load differs"
    recording = autolog.current_task() is not None
    print(f"rank {rank} task {task.id} current {recording} {time.perf_counter() - began:.2f}s", flush=True)
    dist.destroy_process_group()


def spawned(rank: int, world: int, output_uri: str, root: str, port: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
    job(rank, world, output_uri, root)


if __name__ == "__main__":
    launcher, world, output_uri, root = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if launcher == "spawn":
        import torch.multiprocessing as mp

        mp.spawn(spawned, args=(world, output_uri, root, sys.argv[5]), nprocs=world)
    else:
        job(int(os.environ["RANK"]), world, output_uri, root)
