"""Fill a metadata store with many tasks, models and lineage links, fast, for the scale benchmark and the UI.

    python -m bench.populate URL --tasks 100000 --models 1000000 [--chain 20] [--seed 0]

URL is an SQLite file path (or `sqlite:///...`) or a `postgresql://` URL. The store is opened through
autolog's own `SqlStore` (so the real schema from `autolog/store/schema.py` is created or migrated,
indexes included), then rows go in with SQLAlchemy Core `executemany` in large batches, one transaction
per batch. The data is deterministic for a seed.

Shape of what is written (what the benchmark measures against):
- `tasks` tasks over `tasks // 100` projects (at least 1), names `train`/`eval`/`finetune`/`export`, mostly
  `completed`, each with one or two tags out of a small vocabulary; started one second apart.
- `models` models: one "heavy" task (the first) gets `models // 100` models (min 1; `heavy=` sets it), the
  rest are spread evenly over the other tasks; each has a distinct 64-hex hash; one in five is imported (no producer).
- lineage: every fourth task loads one earlier model (an input link), and a chain of `chain` generations
  model -> task -> model -> ... (each chain task loads the previous generation and saves the next).

`populate()` returns ids worth measuring: `heavy_task`, `chain_model` (the last generation's model),
`chain_task`, `chain_first_model`, `model_hash` (of the newest model), `project`, `first_model`, counts.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from typing import Any

BATCH = 20_000
NAMES = ("train", "eval", "finetune", "export")
TAGS = ("baseline", "sweep", "prod", "ablation", "gpu", "nightly")
FRAMEWORKS = ("pytorch", "pytorch", "pytorch", "keras", "scikit-learn", "xgboost", "safetensors")


def _url(target: str) -> str:
    return target if "://" in target else f"sqlite:///{target}"


def _hex(rng: random.Random, bits: int) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def populate(
    url: str, tasks: int, models: int, *, chain: int = 20, seed: int = 0, heavy: int | None = None
) -> dict[str, Any]:
    """Write `tasks` tasks, `models` models and their lineage into the store at `url`; return ids to measure.

    `tasks` counts every task, chain tasks included; `models` counts every model, chain models included.
    The store may already hold rows (ids are random, so a second run adds more).
    """
    from autolog.store import schema
    from autolog.store.sql import SqlStore

    chain = max(0, chain)
    if tasks < chain + 2 or models < chain + 2:
        raise ValueError(f"need at least {chain + 2} tasks and models for a {chain}-generation chain")
    rng = random.Random(seed)
    store = SqlStore(_url(url))
    engine = store.engine
    base = time.time() - tasks - 10.0

    # -- tasks: plain ones first, the chain's tasks last (the newest) ------------------------------------
    n_plain = tasks - chain
    task_ids = [_hex(rng, 128) for _ in range(tasks)]
    projects = max(1, tasks // 100)

    def task_rows() -> Iterator[dict[str, Any]]:
        for i, tid in enumerate(task_ids):
            in_chain = i >= n_plain
            started = base + i
            status = "completed" if in_chain or i % 50 else ("failed" if i % 100 else "aborted")
            tags = [TAGS[i % len(TAGS)]] + ([TAGS[(i // 7) % len(TAGS)]] if i % 3 == 0 else [])
            yield {
                "id": tid,
                "project": "chain" if in_chain else f"project-{i % projects}",
                "name": f"gen-{i - n_plain}" if in_chain else NAMES[i % len(NAMES)],
                "status": status,
                "output_uri": "s3://bench-models/",
                "tags": json.dumps(sorted(set(tags))),
                "started": started,
                "ended": started + 0.5,
                "host": f"node-{i % 16}",
                "user": "bench",
                "pid": 1000 + i % 30000,
                "python": "3.11.7",
                "argv": '["train.py"]',
                "cwd": "/work",
                "git_commit": None,
                "git_dirty": None,
            }

    # -- models: the heavy task's first, then spread over plain tasks, then the chain's ---------------------
    n_chain_models = chain
    n_plain_models = models - n_chain_models
    heavy = max(1, models // 100) if heavy is None else max(1, min(heavy, models - chain))
    model_ids: list[str] = []
    producer_of: list[int] = []  # task index per model (-1: imported)
    per_task_seq: dict[int, int] = {}

    def model_row(index: int, task_index: int, name: str, created: float) -> dict[str, Any]:
        mid = _hex(rng, 128)
        model_ids.append(mid)
        producer_of.append(task_index)
        seq = per_task_seq.get(task_index, 0)
        per_task_seq[task_index] = seq + 1
        digest = _hex(rng, 256)
        imported = task_index < 0
        return {
            "id": mid,
            "task_id": None if imported else task_ids[task_index],
            "seq": 0 if imported else seq,
            "name": name,
            "framework": FRAMEWORKS[index % len(FRAMEWORKS)],
            "uri": None if imported else f"s3://bench-models/{mid[:8]}/models/{seq}_{name}",
            "local_path": f"/data/run-{task_index}/{name}",
            "size": 1_000_000 + index % 1000,
            "hash": digest,
            "is_dir": False,
            "members": None,
            "created": created,
            "upload_state": "done",
            "staging_path": None,
            "dest_uri": None,
            "owner_host": None,
            "owner_pid": None,
            "error": None,
            "import_key": digest if imported else None,
        }

    def model_rows() -> Iterator[dict[str, Any]]:
        for i in range(n_plain_models):
            if i < heavy:
                task_index = 0
            elif i % 5 == 4:
                task_index = -1
            else:
                task_index = 1 + (i * 7919) % max(1, n_plain - 1)
            started = base + max(task_index, 0)
            yield model_row(i, task_index, f"ckpt-{i % 1000}.pt", started + (i % 997) / 2000.0)
        for g in range(n_chain_models):
            task_index = n_plain + g
            yield model_row(n_plain_models + g, task_index, f"gen-{g}.pt", base + task_index + 0.25)

    def batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    t0 = time.perf_counter()
    with engine.begin() as conn:
        for batch in batches(task_rows()):
            conn.execute(schema.tasks.insert(), batch)
    for batch in batches(model_rows()):
        with engine.begin() as conn:
            conn.execute(schema.models.insert(), batch)

    # -- lineage: every fourth plain task loads one earlier model; the chain links generation to generation --
    def input_rows() -> Iterator[dict[str, Any]]:
        step = max(1, n_plain_models // max(1, n_plain // 4))
        m = 0
        for t in range(4, n_plain, 4):
            m = (m + step) % n_plain_models
            if producer_of[m] == t:
                continue
            yield {"task_id": task_ids[t], "model_id": model_ids[m], "seq": 0, "created": base + t + 0.1}
        first_chain = n_plain_models
        yield {"task_id": task_ids[n_plain], "model_id": model_ids[1], "seq": 0, "created": base + n_plain + 0.1}
        for g in range(1, n_chain_models):
            yield {
                "task_id": task_ids[n_plain + g],
                "model_id": model_ids[first_chain + g - 1],
                "seq": 0,
                "created": base + n_plain + g + 0.1,
            }

    for batch in batches(input_rows()):
        with engine.begin() as conn:
            conn.execute(schema.model_inputs.insert(), batch)
    elapsed = time.perf_counter() - t0
    store.close()
    newest_plain = heavy - 1
    return {
        "url": _url(url),
        "tasks": tasks,
        "models": models,
        "chain": chain,
        "seconds": round(elapsed, 1),
        "heavy_task": task_ids[0],
        "heavy_task_models": heavy,
        "project": "project-0",
        "first_model": model_ids[0],
        "model_hash": model_rows_hash(url, model_ids[newest_plain]),
        "chain_task": task_ids[-1],
        "chain_model": model_ids[-1],
        "chain_first_model": model_ids[n_plain_models] if chain else None,
    }


def model_rows_hash(url: str, model_id: str) -> str:
    """The hash recorded for one model (read back, so it is what the store holds)."""
    import sqlalchemy as sa

    from autolog.store import schema
    from autolog.store.sql import _normalize_url

    engine = sa.create_engine(_normalize_url(_url(url)))
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(schema.models.c.hash).where(schema.models.c.id == model_id)).scalar_one()
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.populate", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="SQLite file path, sqlite:/// URL or postgresql:// URL")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--chain", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = populate(args.url, args.tasks, args.models, chain=args.chain, seed=args.seed)
    json.dump(result, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
