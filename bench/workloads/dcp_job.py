"""One rank of the `dcp` workload (started by torchrun from `bench/workloads/dcp.py`): every rank calls
`autolog.init` (rank 0's is the task), then rounds of `dcp.save` and `dcp.async_save` of a state sharded over the
ranks, with autolog's patches off (`uninstrument()`: torch's own functions) and on, alternating ABBA; all ranks
switch together between rounds, never inside a timed region. Rank 0 writes the timings as JSON.
argv: workdir out_json megabytes reps device
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.tensor import DeviceMesh, DTensor, Shard

import autolog


def main() -> None:
    work, out, device = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[5]
    megabytes, reps = int(sys.argv[3]), int(sys.argv[4])
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    if device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
        # async_save needs a CPU backend; NCCL needs one GPU per rank, else gloo moves the CUDA tensors.
        backend = "cpu:gloo,cuda:nccl" if torch.cuda.device_count() >= world else "cpu:gloo,cuda:gloo"
    else:
        backend = "gloo"
    dist.init_process_group(backend)
    checkpoint_group = dist.new_group(backend="gloo")
    task = autolog.init("bench", "dcp", output_uri=str(work / "remote"))
    mesh = DeviceMesh(device, list(range(world)))
    rows = megabytes * 250_000 // (world * 1000)  # float32: 250,000 per MB, rows of 1000
    local = torch.randn(rows, 1000, device=device)
    state = {"model": {"weight": DTensor.from_local(local, mesh, [Shard(0)])}}
    # A tiny state too: its async_save blocks for almost nothing, so what autolog adds stands out of the noise.
    tiny = {"model": {"weight": DTensor.from_local(torch.randn(16, 16, device=device), mesh, [Shard(0)])}}
    times: dict[str, list[float]] = {
        key: [] for key in ("save_off", "save_on", "async_off", "async_on", "tiny_off", "tiny_on")
    }
    order = ["off", "on", "on", "off"]
    for i in range(reps + 1):  # the first round of each mode is a warm-up
        for mode in order if i % 2 == 0 else order[::-1]:
            autolog.instrument() if mode == "on" else autolog.uninstrument()
            folder = work / "ckpt" / f"{i}-{mode}"
            dist.barrier()
            began = time.perf_counter()
            dcp.save(state, checkpoint_id=str(folder / "sync"))
            saved = time.perf_counter() - began
            if rank == 0:
                task.flush()  # that snapshot's background copy is done before the next timed call (untimed)
            dist.barrier()
            began = time.perf_counter()
            future = dcp.async_save(state, checkpoint_id=str(folder / "async"), process_group=checkpoint_group)
            blocked = time.perf_counter() - began
            future.result()
            dist.barrier()
            began = time.perf_counter()
            future = dcp.async_save(tiny, checkpoint_id=str(folder / "tiny"), process_group=checkpoint_group)
            tiny_blocked = time.perf_counter() - began
            future.result()
            if rank == 0:
                task.flush()  # the previous snapshot's background copy finishes between rounds (untimed)
                shutil.rmtree(work / "remote", ignore_errors=True)
            dist.barrier()
            if rank == 0:
                shutil.rmtree(folder, ignore_errors=True)
            if i > 0:
                times[f"save_{mode}"].append(saved)
                times[f"async_{mode}"].append(blocked)
                times[f"tiny_{mode}"].append(tiny_blocked)
    if rank == 0:
        out.write_text(json.dumps(times))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
