"""Artifact nodes honour the lineage graph's caps: an artifact fetched by many tasks shows its first 12 consumers
and one "+N more" node, a task that fetched many artifacts its first 12 and one "+N more", and the depth control
bounds the walk through artifacts like through models."""

from __future__ import annotations

import time
import uuid

from .conftest import require

require()  # skip cleanly outside the `ui` env


def test_artifact_neighbourhoods_collapse_and_depth_bounds_them(tmp_path) -> None:
    from autolog.store import schema
    from autolog.store.sql import SqlStore
    from autolog.ui import lineage
    from autolog.ui.queries import Queries

    store = SqlStore(f"sqlite:///{tmp_path / 'caps.db'}")
    now = time.time()

    def task(name: str, n: int) -> dict:
        return {
            "id": uuid.uuid4().hex,
            "project": "caps",
            "name": name,
            "status": "completed",
            "tags": "[]",
            "started": now + n,
            "ended": now + n + 1,
        }

    def artifact(task_id: str, seq: int) -> dict:
        return {
            "id": uuid.uuid4().hex,
            "task_id": task_id,
            "seq": seq,
            "name": f"part-{seq}",
            "type": "json",
            "file_name": f"part-{seq}.json",
            "size": 2,
            "hash": uuid.uuid4().hex * 2,
            "metadata": "{}",
            "created": now + seq,
            "replaced": False,
            "upload_state": "done",
        }

    source, hungry = task("source", 0), task("hungry", 1)
    readers = [task(f"reader-{n}", 2 + n) for n in range(30)]
    parts = [artifact(source["id"], seq) for seq in range(20)]
    links = [
        {"task_id": r["id"], "artifact_id": parts[0]["id"], "seq": 1, "created": now + n} for n, r in enumerate(readers)
    ]
    links += [
        {"task_id": hungry["id"], "artifact_id": a["id"], "seq": n + 1, "created": now + 100 + n}
        for n, a in enumerate(parts)
    ]
    with store.engine.begin() as conn:
        conn.execute(schema.tasks.insert(), [source, hungry, *readers])
        conn.execute(schema.artifacts.insert(), parts)
        conn.execute(schema.artifact_inputs.insert(), links)
    queries = Queries(store)

    down = lineage.lineage(queries, task=source, depth=1)
    kinds = {n["id"]: n["kind"] for n in down["nodes"]}
    edges = {(e["source"], e["target"], e["kind"]) for e in down["edges"]}
    popular = f"a:{parts[0]['id']}"
    assert kinds[popular] == "artifact"
    assert sum(1 for s, _d, k in edges if s == popular and k == "used" and kinds[_d] == "task") == 12
    more = [n for n in down["nodes"] if n["id"].startswith(f"more:{popular}")]
    assert [n["label"] for n in more] == ["+19 more consumers"]  # 30 readers and `hungry`
    # the source produced 20 artifacts that someone fetched: 12 shown, the rest collapsed
    assert sum(1 for s, d, k in edges if s == f"t:{source['id']}" and kinds[d] == "artifact") == 12
    assert any(n["label"] == "+8 more artifacts" for n in down["nodes"])

    up = lineage.lineage(queries, task=hungry, depth=1)
    kinds = {n["id"]: n["kind"] for n in up["nodes"]}
    assert sum(1 for e in up["edges"] if e["target"] == f"t:{hungry['id']}" and kinds[e["source"]] == "artifact") == 12
    assert any(n["label"] == "+8 more input artifacts" for n in up["nodes"])
    assert f"t:{source['id']}" not in kinds  # depth 1: what it fetched, not who made that
    assert f"t:{source['id']}" in {n["id"] for n in lineage.lineage(queries, task=hungry, depth=2)["nodes"]}
    store.close()
