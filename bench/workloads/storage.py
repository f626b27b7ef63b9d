"""Workload 8: storage at the hardware's speed, each case against the plain tool in the same process.

- `home on another file system`: the autolog home on a tmpfs, checkpoints on the disk (a cluster's home
  on NFS, checkpoints on scratch): `torch.save` per-call latency, bare vs autolog. Staging stays on the
  checkpoint's file system (no copy on the caller's thread). Needs root to mount the tmpfs; else skipped.
- `local output, same file system`: same-path checkpoints with a local `output_uri` on the staging file
  system; the loop until durable (saves + `flush`) against bare saves and against saves + `copyfile`.
- `copy needed`: `register_model` + `flush` of a file the user keeps (so its bytes must be copied) against
  `shutil.copyfile`: one read, hashed while copied.
- `back to back`: 10 MB × 20 saves to new paths, per-call latency, bare vs autolog.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..harness import alternate, clock, log, mb, row, settle, single
from .common import InlineTimer, Switch, parse, write_rows
from .save import state_dict

MB = 1_000_000


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
        ).returncode
        == 0
    )


def other_fs(ctx, quick: bool) -> tuple[list[dict], list[str]]:
    """Run in a child process of its own: the home must be on the tmpfs from the first init."""
    import torch

    mount = ctx.workdir / "home-tmpfs"
    if not _mount_tmpfs(mount, "256m"):
        return [], ["storage: home on another file system: skipped (cannot mount a tmpfs; needs root)"]
    try:
        ctx.workdir, workdir = mount, ctx.workdir  # Switch puts the home under ctx.workdir
        switch = Switch(ctx, "bench-otherfs", str(workdir / "otherfs-out"))
        ctx.workdir = workdir
        work = ctx.fresh("otherfs")
        assert os.stat(work).st_dev != os.stat(mount).st_dev
        sd = state_dict(100 * MB)
        epochs = 3 if quick else 5
        path = work / "ckpt.pt"

        def loop(on: bool) -> dict:
            switch.on() if on else switch.off(lambda: torch.save)
            latencies = []
            for _ in range(epochs):
                t = clock()
                torch.save(sd, path)
                latencies.append(clock() - t)
            if on:
                switch.task.flush()
            return {"latency": latencies}

        def cleanup() -> None:
            switch.clear_uploads()
            settle()

        res = alternate(
            [("bare", lambda: loop(False)), ("autolog", lambda: loop(True))],
            reps=2 if quick else 4,
            warmup=1,
            between=cleanup,
        )
        switch.task.close()
        case = f"100 MB × {epochs}, same path; home on tmpfs, checkpoint on disk"
        return [
            row(
                "storage",
                case,
                "per-call latency",
                "s",
                ("bare", res["bare"]["latency"]),
                ("autolog", res["autolog"]["latency"]),
                target=1.05,
                note="staging on the checkpoint's file system: a hard link, no copy",
            )
        ], []
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def local_output(switch: Switch, work: Path, quick: bool) -> list[dict]:
    import torch

    sd = state_dict(100 * MB)
    epochs = 3 if quick else 5
    path = work / "ckpt.pt"
    copies = work / "copies"

    def bare(copy: bool) -> dict:
        switch.off(lambda: torch.save)
        copies.mkdir(exist_ok=True)
        start = clock()
        for e in range(epochs):
            torch.save(sd, path)
            if copy:
                shutil.copyfile(path, copies / f"{e}.pt")
        return {"total": clock() - start}

    def on() -> dict:
        switch.on()
        start = clock()
        for _ in range(epochs):
            torch.save(sd, path)
        switch.task.flush()
        return {"total": clock() - start}

    def cleanup() -> None:
        shutil.rmtree(copies, ignore_errors=True)
        switch.clear_uploads()
        settle()

    res = alternate(
        [("bare", lambda: bare(False)), ("copy", lambda: bare(True)), ("autolog", on)],
        reps=2 if quick else 4,
        warmup=1,
        between=cleanup,
    )
    case = f"100 MB × {epochs}, same path; output_uri a local folder on the same file system"
    return [
        row(
            "storage",
            case,
            "loop until durable vs bare saves",
            "s",
            ("bare saves", res["bare"]["total"]),
            ("autolog + flush", res["autolog"]["total"]),
            target=1.05,
            note="snapshots no longer shared with the user's file are hard-linked, the last one copied",
        ),
        row(
            "storage",
            case,
            "loop until durable vs saves + copyfile",
            "s",
            ("bare + copyfile", res["copy"]["total"]),
            ("autolog + flush", res["autolog"]["total"]),
        ),
    ]


def copy_needed(switch: Switch, work: Path, quick: bool) -> list[dict]:
    size = (64 if quick else 256) * 2**20
    path = work / "kept.bin"
    with open(path, "wb") as f:
        for _ in range(size // 2**20):
            f.write(os.urandom(2**20))
    copies = work / "copies"

    def plain() -> dict:
        copies.mkdir(exist_ok=True)
        t = clock()
        shutil.copyfile(path, copies / "kept.bin")
        return {"mbps": mb(size) / (clock() - t)}

    def pipeline() -> dict:
        t = clock()
        switch.task.register_model(path)
        switch.task.flush()
        return {"mbps": mb(size) / (clock() - t)}

    def cleanup() -> None:
        shutil.rmtree(copies, ignore_errors=True)
        switch.clear_uploads()
        settle()

    res = alternate([("plain", plain), ("pipeline", pipeline)], reps=3 if quick else 5, warmup=1, between=cleanup)
    return [
        row(
            "storage",
            f"{size >> 20} MiB file the user keeps → local folder",
            "throughput: register + hash + copy",
            "MB/s",
            ("shutil.copyfile", res["plain"]["mbps"]),
            ("register_model + flush", res["pipeline"]["mbps"]),
            higher_is_better=True,
            note="one read: hashed while copied",
        )
    ]


def back_to_back(switch: Switch, work: Path, quick: bool) -> list[dict]:
    import torch

    sd = state_dict(10 * MB)
    saves = 20
    paths = [work / f"small_{i}.pt" for i in range(saves)]

    inline = InlineTimer()

    def loop(on: bool) -> dict:
        switch.on() if on else switch.off(lambda: torch.save)
        latencies, own = [], []
        inline.take()
        for p in paths:
            t = clock()
            torch.save(sd, p)
            latencies.append(clock() - t)
            own.append(inline.take())
        if on:
            switch.task.flush()
            return {"latency": latencies, "inline": own}
        return {"latency": latencies}

    def cleanup() -> None:
        for p in paths:
            p.unlink(missing_ok=True)
        switch.clear_uploads()
        settle()

    res = alternate(
        [("bare", lambda: loop(False)), ("autolog", lambda: loop(True))],
        reps=2 if quick else 4,
        warmup=1,
        between=cleanup,
    )
    case = "10 MB × 20, a new path each, back to back"
    return [
        row(
            "storage",
            case,
            "per-call latency",
            "s",
            ("bare", res["bare"]["latency"]),
            ("autolog", res["autolog"]["latency"]),
            target=1.05,
            note="background hashing/copying waits until saves stop arriving",
        ),
        single(
            "storage",
            case,
            "autolog code on the caller's thread, per call",
            "s",
            "autolog",
            res["autolog"]["inline"],
            note="noise-free: stat, staging mkdir + hard link, queueing",
        ),
    ]


def main(argv: list[str]) -> None:
    ctx, out = parse(argv)
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    only = os.environ.get("BENCH_STORAGE_CASES", "otherfs,local,copy,small").split(",")
    rows: list[dict] = []
    skipped: list[str] = []
    if "otherfs" in only:
        log("storage: home on another file system")
        got, why = other_fs(ctx, ctx.quick)
        rows += got
        skipped += why
        if len(only) > 1:  # one home per process: the other cases run in a fresh one
            write_rows(out, rows, skipped)
            env = {**os.environ, "BENCH_STORAGE_CASES": ",".join(c for c in only if c != "otherfs")}
            sub_out = out.with_suffix(".rest.json")
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.workloads",
                    "storage",
                    "--workdir",
                    str(ctx.workdir),
                    "--out",
                    str(sub_out),
                    *(["--quick"] if ctx.quick else []),
                ],
                env=env,
                check=True,
            )
            import json

            rest = json.loads(sub_out.read_text())
            write_rows(out, rows + rest["rows"], skipped + rest["skipped"])
            return
    work = ctx.fresh("storage")
    switch = Switch(ctx, "bench-storage", str(ctx.fresh("storage-out")))
    for name, case in (("local", local_output), ("copy", copy_needed), ("small", back_to_back)):
        if name in only:
            log(f"storage: {name}")
            t = clock()
            rows += case(switch, work, ctx.quick)
            log(f"  ({clock() - t:.0f} s)")
    switch.task.close()
    write_rows(out, rows, skipped)
