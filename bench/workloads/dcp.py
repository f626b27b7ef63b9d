"""Workload `dcp`: `torch.distributed.checkpoint` in a 2-rank job (torchrun, gloo on CPU).

1. `dcp.save` of a 200 MB state sharded over 2 ranks (100 MB per rank), autolog off vs on: the latency of the
   save call on rank 0, which returns once every rank wrote its shard and rank 0 the metadata (rank 0 then
   records the folder: a hard link per shard into staging). Target: ≤ 1.05×.
2. `dcp.async_save` of the same state: the time the caller is blocked (the state staged to memory), off vs on.
   autolog adds a callback on the future and nothing else on the caller's thread. Target: ≤ +5 ms. The same
   for a 1 KB state, where the call itself blocks for almost nothing and autolog's part stands out.
Each snapshot's background copy finishes before the next timed call (untimed), as with training steps in between.
CUDA: `python -m bench.workloads.dcp --device cuda --workdir DIR --out FILE` (or `BENCH_DCP_DEVICE=cuda`) keeps
the state on the GPU (NCCL with a GPU per rank, else gloo); without CUDA that case is skipped and said so.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from ..harness import log, row
from .common import parse, write_rows

MEGABYTES = 200
RANKS = 2


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def _run_job(work: Path, reps: int, device: str) -> dict[str, list[float]]:
    out = work / f"dcp-{device}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOLOG_", "RANK", "WORLD_SIZE", "MASTER_"))}
    env.update(AUTOLOG_HOME=str(work / "autolog-home"), OMP_NUM_THREADS="1")
    argv = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc-per-node={RANKS}",
        "--master-addr=127.0.0.1",
        f"--master-port={_free_port()}",
        str(Path(__file__).with_name("dcp_job.py")),
        str(work),
        str(out),
        str(MEGABYTES),
        str(reps),
        device,
    ]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"dcp job failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    times: dict[str, list[float]] = json.loads(out.read_text())
    return times


def _rows(times: dict[str, list[float]], device: str) -> list[dict]:
    label = f"{RANKS} ranks, {MEGABYTES} MB ({device}, {'gloo' if device == 'cpu' else 'nccl/gloo'})"
    off, on = sorted(times["async_off"]), sorted(times["async_on"])
    added_ms = (on[len(on) // 2] - off[len(off) // 2]) * 1000
    return [
        row(
            "dcp",
            f"dcp.save, {label}",
            "save call latency on rank 0 (one folder snapshot recorded)",
            "s",
            ("autolog off", times["save_off"]),
            ("autolog on", times["save_on"]),
            target=1.05,
        ),
        row(
            "dcp",
            f"dcp.async_save, {label}",
            "time the caller is blocked",
            "s",
            ("autolog off", times["async_off"]),
            ("autolog on", times["async_on"]),
            note=f"added {added_ms:+.1f} ms (median; target <= +5 ms)",
        ),
        row(
            "dcp",
            f"dcp.async_save of a 1 KB state, {RANKS} ranks ({device})",
            "time the caller is blocked (autolog's own part stands out)",
            "s",
            ("autolog off", times["tiny_off"]),
            ("autolog on", times["tiny_on"]),
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    device = os.environ.get("BENCH_DCP_DEVICE", "cpu")
    if "--device" in argv:
        at = argv.index("--device")
        device = argv[at + 1]
        del argv[at : at + 2]
    ctx, out = parse(argv)
    skipped: list[str] = []
    try:
        import torch
    except ImportError:
        write_rows(out, [], ["dcp: torch is not installed"])
        return
    if device == "cuda" and not torch.cuda.is_available():
        write_rows(out, [], ["dcp: --device cuda asked for, but CUDA is not available here"])
        return
    reps = 3 if ctx.quick else 6
    work = ctx.fresh("dcp")
    log(f"dcp: {RANKS}-rank job, {MEGABYTES} MB state on {device}, {reps} ABBA rounds of save and async_save")
    write_rows(out, _rows(_run_job(work, reps, device), device), skipped)


if __name__ == "__main__":
    main()
