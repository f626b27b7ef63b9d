"""Schema 2 (tasks.pid_start, tasks.heartbeat): a store of schema 1 is migrated in place, rows kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _urls(tmp_path: Path) -> list[str]:
    urls = [f"sqlite:///{tmp_path / 'v1.db'}"]
    if os.environ.get("AUTOLOG_TEST_POSTGRES_URL"):
        urls.append(os.environ["AUTOLOG_TEST_POSTGRES_URL"])
    return urls


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_schema_1_store_gains_the_liveness_columns(backend: str, tmp_path: Path) -> None:
    import sqlalchemy as sa

    from autolog.store import schema
    from autolog.store.sql import SqlStore

    urls = [u for u in _urls(tmp_path) if u.startswith(backend)]
    if not urls:
        pytest.skip("no PostgreSQL server (AUTOLOG_TEST_POSTGRES_URL)")
    if backend == "postgresql":
        pytest.importorskip("psycopg")
    store = SqlStore(urls[0])
    with store.engine.begin() as conn:  # make it a schema-1 store holding one task
        for name in ("pid_start", "heartbeat"):
            conn.execute(sa.text(f"ALTER TABLE tasks DROP COLUMN {name}"))
        conn.execute(schema.meta.update().values(value="1"))
        conn.execute(
            sa.text(
                "INSERT INTO tasks (id, project, name, status, tags, started) "
                "VALUES ('t1', 'p', 'n', 'running', '[]', 1.0)"
            )
        )
    store.close()
    store = SqlStore(urls[0])
    assert store.get("tasks", "t1")["heartbeat"] is None
    assert store.update("tasks", "t1", {"heartbeat": 2.0, "pid_start": 123}) == 1
    assert store.end_task("t1", "aborted", 2.0) and not store.end_task("t1", "aborted", 3.0)
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(schema.meta.c.value)).scalar() == str(schema.SCHEMA_VERSION)
        if backend == "postgresql":
            conn.execute(sa.text("DROP TABLE tasks, models, model_inputs, artifacts, fingerprints, autolog_meta"))
            conn.commit()
    store.close()
