"""Workload 2: `torch.save` of a state dict in a checkpoint loop, with autolog off and on.

For each size (10 MB, 100 MB, 1 GB) and each path pattern (the same `ckpt.pt` every epoch, or
`epoch_{n}.pt`), three kinds of round alternate:

- `bare`: the loop of `torch.save` calls with autolog off: per-call latency;
- `bare + copy`: the same saves, each followed by `shutil.copyfile` into a local folder: what a user
  would do by hand to get a copy; the loop's wall time is the baseline for "durable";
- `autolog`: the same saves with autolog on (local `output_uri`): per-call latency, and the loop's wall
  time up to the return of `task.flush()` (every snapshot hashed, copied and recorded).

Saves run back to back, the worst case for autolog: the hashing and upload of one snapshot compete for
the 2 cores and the disk with the next save. The `training loop` case puts a fixed amount of compute
between saves, as in real training, and compares the loop's total wall time.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

from ..harness import alternate, clock, log, row, settle, single
from .common import InlineTimer, Switch, parse, write_rows

MB = 1_000_000


def state_dict(nbytes: int) -> dict:
    """A model-like state dict of float32 tensors (at most 16 MB each) adding up to `nbytes`."""
    import torch

    torch.manual_seed(0)
    chunk = 4_000_000  # float32 elements: 16 MB
    n = nbytes // 4
    return {f"layer{i}.weight": torch.randn(min(chunk, n - i * chunk)) for i in range(math.ceil(n / chunk))}


def _label(nbytes: int) -> str:
    return f"{nbytes // 1000_000_000} GB" if nbytes >= 1_000_000_000 else f"{nbytes // MB} MB"


def checkpoint_loop(
    switch: Switch, work: Path, nbytes: int, epochs: int, same_path: bool, reps: int, warmup: int, with_spaced: bool
) -> list[dict]:
    import torch

    inline = InlineTimer()

    sd = state_dict(nbytes)
    copies = work / "copies"
    paths = [work / ("ckpt.pt" if same_path else f"epoch_{e}.pt") for e in range(epochs)]

    def bare(copy: bool) -> dict:
        switch.off(lambda: torch.save)
        copies.mkdir(exist_ok=True)
        latencies = []
        start = clock()
        for e, path in enumerate(paths):
            t = clock()
            torch.save(sd, path)
            latencies.append(clock() - t)
            if copy:
                shutil.copyfile(path, copies / f"{e}_{path.name}")
        total = clock() - start
        return {"total": total} if copy else {"latency": latencies}

    def on() -> dict:
        switch.on()
        latencies, own = [], []
        inline.take()
        start = clock()
        for path in paths:
            t = clock()
            torch.save(sd, path)
            latencies.append(clock() - t)
            own.append(inline.take())
        switch.task.flush()
        return {"latency": latencies, "total": clock() - start, "inline": own}

    def spaced() -> dict:
        """autolog on, but each save waits (untimed) for the previous one's background work: the
        inline cost of a save alone, without contention from hashing and uploading."""
        switch.on()
        latencies = []
        for path in paths:
            switch.task.flush()
            t = clock()
            torch.save(sd, path)
            latencies.append(clock() - t)
        switch.task.flush()
        return {"latency": latencies}

    def cleanup() -> None:
        shutil.rmtree(copies, ignore_errors=True)
        if not same_path:
            for path in paths:
                path.unlink(missing_ok=True)
        switch.clear_uploads()
        settle()

    modes = [("bare", lambda: bare(False)), ("copy", lambda: bare(True)), ("autolog", on)]
    if with_spaced:
        modes.append(("spaced", spaced))
    res = alternate(modes, reps=reps, warmup=warmup, between=cleanup)
    for path in paths:
        path.unlink(missing_ok=True)
    case = f"{_label(nbytes)} × {epochs}, {'same path' if same_path else 'new path per epoch'}"
    at_100 = nbytes == 100 * MB
    rows = [
        row(
            "torch.save",
            case,
            "per-call latency, back to back",
            "s",
            ("bare", res["bare"]["latency"]),
            ("autolog", res["autolog"]["latency"]),
            target=1.05 if at_100 else None,
        ),
        row(
            "torch.save",
            case,
            "loop until durable",
            "s",
            ("bare + copyfile", res["copy"]["total"]),
            ("autolog + flush", res["autolog"]["total"]),
            target=1.3 if at_100 else None,
        ),
    ]
    rows.insert(
        1,
        single(
            "torch.save",
            case,
            "autolog code on the caller's thread, per call",
            "s",
            "autolog",
            res["autolog"]["inline"],
            note="stat, hard link into staging, queueing: no hashing",
        ),
    )
    if with_spaced:
        rows.insert(
            1,
            row(
                "torch.save",
                case,
                "per-call latency, previous snapshot done",
                "s",
                ("bare", res["bare"]["latency"]),
                ("autolog", res["spaced"]["latency"]),
                target=1.05 if at_100 else None,
                note="inline cost only: the background work of the previous save has finished",
            ),
        )
    return rows


def training_loop(switch: Switch, work: Path, nbytes: int, epochs: int, reps: int, warmup: int) -> list[dict]:
    """Epochs of fixed compute (an MLP's forward/backward on random data), a checkpoint after each."""
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(1024, 2048), torch.nn.ReLU(), torch.nn.Linear(2048, 1024))
    opt = torch.optim.SGD(net.parameters(), lr=1e-3)
    x = torch.randn(256, 1024)
    sd = state_dict(nbytes)

    def train_step() -> None:
        for _ in range(4):
            opt.zero_grad()
            net(x).square().mean().backward()
            opt.step()

    t = clock()
    train_step()
    log(f"training step: {clock() - t:.2f} s of compute per epoch")

    def loop(on: bool) -> dict:
        if on:
            switch.on()
        else:
            switch.off(lambda: torch.save)
        start = clock()
        for e in range(epochs):
            train_step()
            torch.save(sd, work / f"train_{e}.pt")
        if on:
            switch.task.flush()
        return {"total": clock() - start}

    def cleanup() -> None:
        for e in range(epochs):
            (work / f"train_{e}.pt").unlink(missing_ok=True)
        switch.clear_uploads()
        settle()

    res = alternate(
        [("bare", lambda: loop(False)), ("autolog", lambda: loop(True))], reps=reps, warmup=warmup, between=cleanup
    )
    case = f"training loop: {epochs} epochs × (compute + {_label(nbytes)} save)"
    return [
        row(
            "torch.save",
            case,
            "loop wall time (autolog: + flush)",
            "s",
            ("bare", res["bare"]["total"]),
            ("autolog", res["autolog"]["total"]),
        )
    ]


def main(argv: list[str]) -> None:
    ctx, out = parse(argv)
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    work = ctx.fresh("save")
    switch = Switch(ctx, "bench-save", str(ctx.fresh("save-store")))
    rows = []
    # (size, epochs, warm-up rounds, rounds, path patterns); the 100 MB quick rounds are warmed by the 10 MB ones
    if ctx.quick:
        plan = [(10 * MB, 10, 1, 2, (False,)), (100 * MB, 5, 0, 3, (True, False))]
    else:
        plan = [(10 * MB, 10, 1, 4, (True, False)), (100 * MB, 5, 1, 5, (True, False))]
    if ctx.big:
        plan.append((1000 * MB, 3, 0, 2, (True, False)))
    for nbytes, epochs, warmup, reps, patterns in plan:
        for same_path in patterns:
            log(f"save {_label(nbytes)}, {'same path' if same_path else 'new path'}: {warmup}+{reps} rounds")
            t = clock()
            rows += checkpoint_loop(
                switch, work, nbytes, epochs, same_path, reps, warmup, with_spaced=nbytes < 1000 * MB
            )
            log(f"  ({clock() - t:.0f} s)")
    log("training loop")
    t = clock()
    rows += training_loop(
        switch, work, 100 * MB, 3 if ctx.quick else 5, reps=2 if ctx.quick else 3, warmup=0 if ctx.quick else 1
    )
    log(f"  ({clock() - t:.0f} s)")
    write_rows(out, rows, [] if ctx.big else ["torch.save 1 GB: skipped (--quick, or memory/disk short)"])
