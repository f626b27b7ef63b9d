"""Schema version 2: the indexes `autolog ui` needs, on new stores and on stores migrated from version 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from autolog.store import schema

sa = pytest.importorskip("sqlalchemy")

UI_INDEXES = {"ix_tasks_started", "ix_tasks_project_started", "ix_tasks_status_started", "ix_models_task_seq"}


def indexes(engine) -> set[str]:
    inspector = sa.inspect(engine)
    return {i["name"] for table in ("tasks", "models") for i in inspector.get_indexes(table)}


def test_a_version_1_store_gets_the_ui_indexes(tmp_path: Path) -> None:
    from autolog.store.sql import SqlStore

    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = SqlStore(url)
    assert UI_INDEXES <= indexes(store.engine)
    with store.engine.begin() as conn:  # make it what version 1 wrote
        for name in UI_INDEXES:
            conn.exec_driver_sql(f"DROP INDEX {name}")
        conn.exec_driver_sql("UPDATE autolog_meta SET value = '1' WHERE key = 'schema_version'")
    store.close()

    store = SqlStore(url)
    try:
        assert UI_INDEXES <= indexes(store.engine)
        with store.engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT value FROM autolog_meta WHERE key = 'schema_version'").scalar()
        assert version == str(schema.SCHEMA_VERSION)
    finally:
        store.close()


def test_the_task_tables_first_page_is_an_index_scan(tmp_path: Path) -> None:
    from autolog.store.sql import SqlStore
    from autolog.ui.queries import Queries, TaskFilter

    store = SqlStore(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        queries = Queries(store)
        compiled = []
        sa.event.listen(
            store.engine,
            "before_cursor_execute",
            lambda conn, cursor, statement, params, context, many: compiled.append((statement, params)),
        )
        queries.task_page(TaskFilter())
        first = next((s, p) for s, p in compiled if s.lstrip().startswith("SELECT tasks.id"))
        with store.engine.connect() as conn:
            plan = " ".join(str(row) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + first[0], first[1]))
        assert "SCAN tasks USING INDEX ix_tasks_started" in plan  # not a full scan and sort
    finally:
        store.close()
