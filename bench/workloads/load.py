"""Workload 3: `torch.load` of a 100 MB checkpoint, with autolog off and on.

A producer task saves `known.pt` (a snapshot, its fingerprint remembered); a second task then loads:

- `known snapshot`: `known.pt` itself, unchanged: the fast path (a stat, a fingerprint hit, no hashing);
- `unknown file`: a file autolog never saw (new bytes each round): the cold path hashes it and imports a model;
- `copy of a known snapshot`: a fresh copy of `known.pt` (new inode, so no fingerprint hit): hashed, then
  linked to the producer's snapshot by its hash.

Reported: the per-call latency of `torch.load` (lineage resolution runs in the background), and the
time until the lineage is recorded (`torch.load` + `task.flush()`), both against the bare `torch.load`.
Every file was just written, so it is in the page cache in both modes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..harness import alternate, clock, log, row, settle, single
from .common import InlineTimer, Switch, parse, write_rows
from .save import MB, state_dict


def main(argv: list[str]) -> None:
    ctx, out = parse(argv)
    import torch

    work = ctx.fresh("load")
    switch = Switch(ctx, "bench-load", str(ctx.fresh("load-store")))
    sd = state_dict(100 * MB)
    known = work / "known.pt"
    switch.on()
    torch.save(sd, known)
    switch.task.flush()
    switch.new_task("consumer")
    counter = iter(range(1, 10**6))
    reps = 4 if ctx.quick else 10
    inline = InlineTimer()

    def prepare(case: str) -> Path:
        """The file to load this round, made outside the timing."""
        if case == "known":
            return known
        path = work / f"{case}-{next(counter)}.pt"
        if case == "copy":
            shutil.copyfile(known, path)
        else:  # unknown: new content, written with autolog off
            switch.off()
            first = next(iter(sd.values()))
            first[0] = float(next(counter))
            torch.save(sd, path)
        return path

    rows = []
    for case, label, target in (
        ("known", "known snapshot (fast path)", 1.05),
        ("unknown", "unknown file (cold: hash + import)", None),
        ("copy", "copy of a known snapshot (hash + link)", None),
    ):
        log(f"load: {label}")

        def bare() -> dict:
            path = prepare(case)
            switch.off(lambda: torch.load)
            t = clock()
            torch.load(path)
            return {"latency": clock() - t}

        def on() -> dict:
            path = prepare(case)
            switch.on()
            inline.take()
            t = clock()
            torch.load(path)
            latency = clock() - t
            own = inline.take()
            switch.task.flush()
            return {"latency": latency, "recorded": clock() - t, "inline": own}

        def cleanup() -> None:
            for path in work.glob(f"{case}-*.pt"):
                path.unlink()
            settle()

        res = alternate([("bare", bare), ("autolog", on)], reps=reps, warmup=1, between=cleanup)
        case_text = f"100 MB, {label}"
        rows.append(
            row(
                "torch.load",
                case_text,
                "per-call latency",
                "s",
                ("bare", res["bare"]["latency"]),
                ("autolog", res["autolog"]["latency"]),
                target=target,
            )
        )
        rows.append(
            single(
                "torch.load",
                case_text,
                "autolog code on the caller's thread, per call",
                "s",
                "autolog",
                res["autolog"]["inline"],
                note="a stat and the queueing: no hashing",
            )
        )
        rows.append(
            row(
                "torch.load",
                case_text,
                "until lineage recorded",
                "s",
                ("bare", res["bare"]["latency"]),
                ("autolog + flush", res["autolog"]["recorded"]),
            )
        )
    inputs = switch.task.models["input"]
    if not inputs or inputs[0].task_id is None:
        raise RuntimeError(f"the known snapshot was not linked to its producer: {inputs}")
    os.environ.pop("AUTOLOG_HOME", None)
    write_rows(out, rows)
