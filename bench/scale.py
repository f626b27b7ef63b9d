"""Scale benchmark: the store at 100,000 tasks and 1,000,000 models, on SQLite and PostgreSQL.

    python -m bench.scale sqlite  [--tasks 100000 --models 1000000] [--workdir DIR]
    python -m bench.scale postgresql://user@host:port/db   [...]

Fills a store with `bench.populate` (once: a store that already holds the rows is reused), then times what
a user does against it, in this process, through autolog's public API and the CLI's `main()` (so the
figures are the command's own work, not the interpreter's start-up, which is printed apart):

- a save (`task.register_model` of a 1 KB file): on the caller's thread, and until it is recorded
  (`task.flush()`), into an empty store (the 1st model) and into the full one (the 1,000,001st);
- `Model.query(limit=50)` / `Task.query(limit=50)` first pages, with and without filters (`tags=`, `task_id=`
  of a task with 10,000 models, `project=`);
- `autolog models`, `autolog tasks`, `autolog lineage ID` of the last model of a 20-generation chain;
- `Model.get(id)` and the lookup by content hash that every load runs.

Each figure is the median of several runs after one warm-up (the first, cold run is printed too). Target:
each under 100 ms. Prints a markdown table; writes bench/results/scale-<backend>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import ROOT


def _timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    t0 = time.perf_counter()
    fn()
    cold = time.perf_counter() - t0
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return {"cold_ms": cold * 1000, "median_ms": statistics.median(runs) * 1000, "max_ms": max(runs) * 1000}


def _pg_schema(server: str, name: str) -> str:
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {name}")
    return f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{name}"


def _count(url: str) -> int:
    import sqlalchemy as sa

    from autolog.store.sql import _normalize_url

    engine = sa.create_engine(_normalize_url(url))
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM models")).scalar_one()
    except Exception:  # noqa: BLE001 - no table yet
        return 0
    finally:
        engine.dispose()


def _use_store(url: str, home: Path) -> None:
    """Point autolog (this process) at `url`, with a fresh session (the next `get_session()` sees the new
    settings and replaces the old one)."""
    from autolog.lifecycle import current_task

    task = current_task()
    if task is not None:
        task.close()
    os.environ["AUTOLOG_TRACKING_URI"] = url
    os.environ["AUTOLOG_HOME"] = str(home)
    os.environ.pop("AUTOLOG_STRICT", None)


def _saves(workdir: Path, count: int) -> dict[str, float]:
    """Per-call cost of `register_model` on the caller's thread, and until recorded (`flush`)."""
    import autolog

    files = []
    for _ in range(count + 1):
        path = workdir / f"save-{uuid.uuid4().hex[:8]}.bin"
        path.write_bytes(os.urandom(1024))
        files.append(path)
    task = autolog.init("scale-bench", "saves")
    task.register_model(files[0])
    task.flush()  # warm-up: the store is open, the first insert done
    calls, recorded = [], []
    for path in files[1:]:
        t0 = time.perf_counter()
        task.register_model(path)
        t1 = time.perf_counter()
        task.flush()
        t2 = time.perf_counter()
        calls.append(t1 - t0)
        recorded.append(t2 - t0)
    task.close()
    for path in files:
        path.unlink()
    return {"call_ms": statistics.median(calls) * 1000, "recorded_ms": statistics.median(recorded) * 1000}


def _cli(*argv: str) -> Callable[[], Any]:
    from autolog.cli import main

    def run() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            main(list(argv))

    return run


def measure(url: str, empty_url: str, ids: dict[str, Any], workdir: Path, repeat: int) -> list[dict[str, Any]]:
    import autolog
    from autolog.lifecycle import get_session

    rows: list[dict[str, Any]] = []

    def add(what: str, result: dict[str, float], note: str = "") -> None:
        rows.append({"what": what, **{k: round(v, 2) for k, v in result.items()}, "note": note})
        print(f"  {what}: {result}", file=sys.stderr)

    _use_store(empty_url, workdir / "home-empty")
    first = _saves(workdir, 20)
    _use_store(url, workdir / "home-full")
    full = _saves(workdir, 20)
    add("save, 1st model (caller's thread)", {"median_ms": first["call_ms"]}, "empty store")
    add("save, 1,000,000th model (caller's thread)", {"median_ms": full["call_ms"]}, "full store")
    add("save until recorded, 1st model", {"median_ms": first["recorded_ms"]}, "register + flush")
    add("save until recorded, 1,000,000th model", {"median_ms": full["recorded_ms"]}, "register + flush")

    add("Model.query(limit=50)", _timed(lambda: autolog.Model.query(limit=50), repeat))
    add(
        "Model.query(task_id=T, limit=50)",
        _timed(lambda: autolog.Model.query(task_id=ids["heavy_task"], limit=50), repeat),
        f"T has {ids['heavy_task_models']} models",
    )
    add(
        "Model.query(project=P, limit=50)",
        _timed(lambda: autolog.Model.query(project=ids["project"], limit=50), repeat),
    )
    add("Task.query(limit=50)", _timed(lambda: autolog.Task.query(limit=50), repeat))
    add("Task.query(tags=['gpu'], limit=50)", _timed(lambda: autolog.Task.query(tags=["gpu"], limit=50), repeat))
    add("Task.query(status='failed', limit=50)", _timed(lambda: autolog.Task.query(status="failed", limit=50), repeat))
    add("autolog models", _timed(_cli("models"), repeat), "50 rows, rich table rendered (stdout discarded)")
    add("autolog models --json", _timed(_cli("models", "--json"), repeat), "50 rows as JSON")
    add("autolog tasks", _timed(_cli("tasks"), repeat), "50 rows, rendered")
    add("autolog lineage ID (20 generations)", _timed(_cli("lineage", ids["chain_model"]), repeat), "tree rendered")
    add("autolog lineage ID --json", _timed(_cli("lineage", ids["chain_model"], "--json"), repeat))
    add("Model.get(id)", _timed(lambda: autolog.Model.get(ids["first_model"]), repeat))
    store = get_session().store
    add(
        "model by content hash (every load)",
        _timed(lambda: store.select("models", {"hash": ids["model_hash"]}, order_by=("created",), desc=True), repeat),
    )
    for label, store_url in (("full store", url), ("empty store", empty_url)):
        env = {**os.environ, "AUTOLOG_TRACKING_URI": store_url}
        subprocess.run(
            [sys.executable, "-m", "autolog", "models"], env=env, capture_output=True, check=True, cwd=workdir
        )  # warm the page cache and the bytecode
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "autolog", "models"], env=env, capture_output=True, check=True, cwd=workdir
        )
        add(
            f"autolog models, whole process, {label}",
            {"median_ms": (time.perf_counter() - t0) * 1000},
            "interpreter start-up and imports included",
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("store", help="'sqlite' or a postgresql:// server URL")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.gettempdir()) / "autolog-bench-scale"
    workdir.mkdir(parents=True, exist_ok=True)
    tag = f"t{args.tasks}_m{args.models}"
    if args.store == "sqlite":
        backend = "sqlite"
        url = f"sqlite:///{workdir / f'store-{tag}.db'}"
        empty = f"sqlite:///{workdir / f'empty-{uuid.uuid4().hex[:8]}.db'}"
    else:
        backend = "postgresql"
        url = _pg_schema(args.store, f"bench_{tag}")
        empty = _pg_schema(args.store, f"bench_empty_{uuid.uuid4().hex[:8]}")
    from .populate import populate

    ids_file = workdir / f"ids-{backend}-{tag}.json"
    if _count(url) >= args.models and ids_file.exists():
        ids = json.loads(ids_file.read_text())
        print(f"reusing the populated store ({ids['seconds']} s to fill)", file=sys.stderr)
    else:
        print(f"populating {args.tasks} tasks, {args.models} models ...", file=sys.stderr)
        ids = populate(url, args.tasks, args.models)
        ids_file.write_text(json.dumps(ids))
        print(f"  filled in {ids['seconds']} s", file=sys.stderr)
    rows = measure(url, empty, ids, workdir, args.repeat)
    lines = [
        f"| {backend}: {args.tasks:,} tasks, {args.models:,} models | median ms | cold ms | note |",
        "| --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['what']} | {row['median_ms']:.1f} | {row.get('cold_ms', float('nan')):.1f} | {row['note']} |"
        )
    table = "\n".join(lines)
    print(table)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"scale-{backend}.json").write_text(
        json.dumps(
            {
                "store": backend,
                "tasks": args.tasks,
                "models": args.models,
                "fill_seconds": ids["seconds"],
                "rows": rows,
            },
            indent=1,
        )
    )
    (out / f"scale-{backend}.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
