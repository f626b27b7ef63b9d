"""Workload 10: what content dedup and retention cost, and what they save.

- `100 MB save, dedup + policy`: `torch.save` of a 100 MB state dict to the same path, back to back, with a
  local `output_uri` and `keep="last=2"` (dedup on, retention pruning in the background), against bare saves
  in the same process: per-call latency, and the loop until durable (saves + `flush`, retention included)
  against saves + `copyfile`.
- `bytes stored`: the Lightning (`save_top_k=3`, `save_last=True`) and Hugging Face `Trainer` (3 checkpoints)
  programs of the storage tests, each run with `AUTOLOG_DEDUP=0` and `=1` into a local output folder: the
  bytes the output store holds afterwards (skipped where the framework is not installed).
- `gc over 100,000 snapshots`: a store of 1,000 tasks x 100 snapshots (each task with `keep="last=3"`, 95
  already pruned, 2 newly prunable), `autolog gc` planning (a dry run) and the real run: wall time and the
  number of store queries it made.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from ..harness import alternate, clock, log, row, settle, single
from .common import Switch, parse, write_rows
from .save import state_dict

MB = 1_000_000
PROGRAMS = Path(__file__).resolve().parents[2] / "tests" / "storage" / "programs"


def save_with_policy(ctx, work: Path) -> list[dict]:
    import torch

    os.environ["AUTOLOG_KEEP"] = "last=2"
    out = ctx.fresh("retention-out")
    switch = Switch(ctx, "bench-retention", str(out))
    sd = state_dict(100 * MB)
    first = next(iter(sd.values()))
    path, copies = work / "ckpt.pt", work / "copies"
    epochs = 3 if ctx.quick else 5

    def bare(copy: bool) -> dict:
        switch.off(lambda: torch.save)
        copies.mkdir(exist_ok=True)
        latencies, start = [], clock()
        for e in range(epochs):
            first[0] = e  # a new content each epoch, as training gives (one element: no measurable cost)
            t = clock()
            torch.save(sd, path)
            latencies.append(clock() - t)
            if copy:
                shutil.copyfile(path, copies / f"{e}.pt")
        return {"latency": latencies, "total": clock() - start}

    def on(storage: bool) -> dict:
        """autolog on; `storage`: dedup and the task's keep policy too, else both off (the cost of this feature)."""
        switch.on()
        session = switch.task.session
        session.uploader.dedup = storage
        if storage:
            session.retention.register(switch.task.id, policy)
        else:
            session.retention.policies.pop(switch.task.id, None)
        latencies, start = [], clock()
        for e in range(epochs):
            first[0] = e
            t = clock()
            torch.save(sd, path)
            latencies.append(clock() - t)
        switch.task.flush()
        return {"latency": latencies, "total": clock() - start}

    def cleanup() -> None:
        shutil.rmtree(copies, ignore_errors=True)
        for child in out.glob("bench-retention"):  # copies of the rounds without dedup (no policy frees them)
            shutil.rmtree(child, ignore_errors=True)
        settle()

    from autolog.store.keep import parse

    policy = parse("last=2")
    res = alternate(
        [
            ("bare", lambda: bare(False)),
            ("copy", lambda: bare(True)),
            ("plain", lambda: on(False)),
            ("autolog", lambda: on(True)),
        ],
        reps=2 if ctx.quick else 4,
        warmup=1,
        between=cleanup,
    )
    stored = sum(f.stat().st_size for f in (out / ".autolog").rglob("*") if f.is_file())
    switch.task.close()
    os.environ.pop("AUTOLOG_KEEP", None)
    case = f"100 MB × {epochs}, same path, keep=last=2, dedup on"
    return [
        row(
            "retention",
            case,
            "per-call latency, back to back",
            "s",
            ("bare", res["bare"]["latency"]),
            ("autolog", res["autolog"]["latency"]),
            target=1.02,
        ),
        row(
            "retention",
            case,
            "per-call latency, back to back, vs autolog without dedup and policy",
            "s",
            ("autolog, dedup off, no policy", res["plain"]["latency"]),
            ("autolog", res["autolog"]["latency"]),
        ),
        row(
            "retention",
            case,
            "loop until durable, vs autolog without dedup and policy",
            "s",
            ("autolog, dedup off, no policy", res["plain"]["total"]),
            ("autolog + flush", res["autolog"]["total"]),
        ),
        row(
            "retention",
            case,
            "loop until durable (retention included)",
            "s",
            ("bare + copyfile", res["copy"]["total"]),
            ("autolog + flush", res["autolog"]["total"]),
            note=f"the output store holds {stored / MB:.0f} MB at the end (keep=last=2)",
        ),
    ]


def bytes_stored(ctx) -> tuple[list[dict], list[str]]:
    rows, skipped = [], []
    for label, program, module in (
        ("Lightning save_top_k=3 + save_last", "lightning_topk.py", "lightning"),
        ("transformers Trainer, 3 checkpoints", "hf_trainer.py", "transformers"),
    ):
        if subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode:
            skipped.append(f"retention: {label}: {module} is not installed")
            continue
        found = {}
        for dedup in ("0", "1"):
            work = ctx.fresh(f"bytes-{module}-{dedup}")
            env = {**os.environ, "AUTOLOG_HOME": str(work / "home"), "AUTOLOG_DEDUP": dedup}
            subprocess.run(
                [sys.executable, str(PROGRAMS / program), str(work / "out"), str(work / "ckpt")],
                cwd=work,
                env=env,
                check=True,
                capture_output=True,
            )
            found[dedup] = sum(f.stat().st_size for f in (work / "out").rglob("*") if f.is_file())
            log(f"  {label}, dedup={dedup}: {found[dedup]:,} bytes stored")
        rows.append(
            row(
                "retention",
                label,
                "bytes uploaded and stored",
                "MB",
                ("dedup off", [found["0"] / MB]),
                ("dedup on", [found["1"] / MB]),
            )
        )
    return rows, skipped


def gc_at_scale(ctx) -> list[dict]:
    """A store of 100,000 snapshots built with bulk inserts (as `bench.populate` does for the UI bench)."""
    import sqlalchemy as sa

    from autolog.store import schema
    from autolog.store.sql import SqlStore

    work = ctx.fresh("gc-scale")
    home, out = work / "home", work / "out"
    os.environ["AUTOLOG_HOME"] = str(home)
    home.mkdir(parents=True)
    tasks_n, per_task = (100, 100) if ctx.quick else (1000, 100)
    sql = SqlStore(f"sqlite:///{home / 'autolog.db'}")
    now = time.time()
    tasks, models, objects, links = [], [], [], []
    root = str(out)
    for t in range(tasks_n):
        task_id = uuid.uuid4().hex
        tasks.append(
            {
                "id": task_id,
                "project": "scale",
                "name": f"t{t}",
                "status": "running",
                "tags": "[]",
                "started": now + t,
                "output_uri": root,
                "keep": "last=3",
            }
        )
        for s in range(1, per_task + 1):
            model_id, digest = uuid.uuid4().hex, uuid.uuid4().hex + uuid.uuid4().hex
            state = "pruned" if s <= per_task - 5 else "done"
            key = f"{digest[:2]}/{digest}.0"
            models.append(
                {
                    "id": model_id,
                    "task_id": task_id,
                    "seq": s,
                    "name": "ckpt.pt",
                    "created": now + s,
                    "upload_state": state,
                    "is_dir": False,
                    "hash": digest,
                    "size": 64,
                    "uri": f"{root}/.autolog/objects/{key}",
                }
            )
            if state == "done":
                objects.append(
                    {"root": root, "key": key, "hash": digest, "size": 64, "refs": 1, "state": "stored", "created": now}
                )
                links.append({"model_id": model_id, "member": "", "root": root, "key": key, "hash": digest})
                target = out / ".autolog" / "objects" / key
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(b"x" * 64)
    with sql.engine.begin() as conn:
        for table, rows in (
            (schema.tasks, tasks),
            (schema.models, models),
            (schema.objects, objects),
            (schema.model_objects, links),
        ):
            conn.execute(sa.insert(table), rows)
    sql.close()
    log(f"  store: {len(tasks)} tasks, {len(models)} snapshots, {len(objects)} stored objects")
    from autolog.pipeline.retention import collect
    from autolog.run.current import get_session

    store = get_session().store
    t = clock()
    plan = collect(store, dry_run=True)
    dry = clock() - t
    t = clock()
    done = collect(store)
    real = clock() - t
    left = sum(1 for f in out.rglob("*") if f.is_file())
    case = f"{len(models):,} snapshots in {len(tasks):,} tasks, keep=last=3"
    return [
        single(
            "retention",
            case,
            "gc --dry-run (plan)",
            "s",
            "autolog",
            [dry],
            note=f"{plan.queries} store queries; {len(plan.prune)} to prune, {len(plan.objects)} objects",
        ),
        single(
            "retention",
            case,
            "gc (prune + delete)",
            "s",
            "autolog",
            [real],
            note=f"{done.queries} store queries; pruned {len(done.prune)}, deleted {len(done.objects)} objects, "
            f"{left} left",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    ctx, out = parse(argv)
    rows: list[dict] = []
    skipped: list[str] = []
    parts = os.environ.get("BENCH_RETENTION_PARTS", "save,bytes,gc").split(",")  # to rerun one part
    if "save" in parts:
        log("retention: 100 MB save with dedup + policy")
        rows += save_with_policy(ctx, ctx.fresh("retention-save"))
    if "bytes" in parts:
        log("retention: bytes stored with and without dedup")
        found, missing = bytes_stored(ctx)
        rows, skipped = rows + found, skipped + missing
    if "gc" in parts:
        log("retention: gc at scale")
        rows += gc_at_scale(ctx)
    write_rows(out, rows, skipped)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
