"""A store written by the schema before storage (v2, `v2_schema.py`: today's tables, frozen) opens and gains the
step/epoch/metrics/pruned columns, the task's `keep` and the objects/aliases tables; old snapshots have no
metrics and still fetch back. Runs on the suite's backend (SQLite, or PostgreSQL with --store=postgres)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import autolog

sa = pytest.importorskip("sqlalchemy")


def test_a_v2_store_opens_gains_the_storage_schema_and_keeps_its_records(home: Path, tmp_path: Path) -> None:
    import v2_schema

    from autolog.config import load_settings
    from autolog.store import schema
    from autolog.store.sql import _normalize_url

    home.mkdir(parents=True, exist_ok=True)
    url = load_settings().tracking_uri
    weights = tmp_path / "old.bin"
    weights.write_bytes(b"old weights")
    from autolog.storage.fingerprint import hash_file

    engine = sa.create_engine(_normalize_url(url))
    with engine.begin() as conn:
        v2_schema.metadata.create_all(conn)
        conn.execute(v2_schema.meta.insert().values(key="schema_version", value="2"))
        now = time.time()
        conn.execute(
            v2_schema.tasks.insert().values(
                id="a" * 32, project="legacy", name="train", status="completed", tags="[]", started=now, ended=now
            )
        )
        conn.execute(
            v2_schema.models.insert().values(
                id="b" * 32,
                task_id="a" * 32,
                seq=1,
                name="old.bin",
                framework="custom",
                local_path=str(weights),
                size=11,
                hash=hash_file(weights),
                is_dir=False,
                created=now,
                upload_state="done",
            )
        )
    engine.dispose()

    model = autolog.Model.get("b" * 32)
    assert model.step is None and model.epoch is None and model.metrics == {} and model.pruned_rule is None
    assert Path(model.get_local_copy()).read_bytes() == b"old weights"
    assert autolog.Task.get_task("a" * 32).keep is None

    engine = sa.create_engine(_normalize_url(url))
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            columns = {c["name"] for c in inspector.get_columns("models")}
            assert {"step", "epoch", "metrics", "monitor", "monitor_mode", "pruned_at", "pruned_rule"} <= columns
            assert "keep" in {c["name"] for c in inspector.get_columns("tasks")}
            assert {"objects", "model_objects", "aliases", "alias_log"} <= set(inspector.get_table_names())
            version = conn.execute(sa.text("SELECT value FROM autolog_meta WHERE key = 'schema_version'")).scalar()
            assert version == str(schema.SCHEMA_VERSION)
    finally:
        engine.dispose()

    # new records go in next to the old, with their metrics; `gc` leaves a store without policies alone
    task = autolog.init("legacy", "again", output_uri=str(tmp_path / "out"))
    autolog.log_metrics(step=3, loss=0.5)
    (tmp_path / "new.bin").write_bytes(b"new")
    task.register_model(tmp_path / "new.bin")
    task.close()
    assert autolog.Task.get_task(task.id).models["output"][0].metrics == {"loss": 0.5}
    from autolog.pipeline.retention import collect
    from autolog.run.current import get_session

    assert collect(get_session().store, dry_run=True).lines() == []
