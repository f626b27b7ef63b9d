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


def test_a_version_2_store_gains_the_failure_column_and_the_artifact_hash_index(tmp_path: Path) -> None:
    """Schema v3: tasks.failure (why a task failed) and ix_artifacts_hash (the ui's go-to box)."""
    from autolog.store.sql import SqlStore

    url = f"sqlite:///{tmp_path / 'v2.db'}"
    store = SqlStore(url)
    with store.engine.begin() as conn:  # make it what version 2 wrote
        conn.exec_driver_sql("DROP INDEX ix_artifacts_hash")
        conn.exec_driver_sql("DROP INDEX ix_models_size")
        conn.exec_driver_sql("ALTER TABLE tasks DROP COLUMN failure")
        conn.exec_driver_sql(
            "INSERT INTO tasks (id, project, name, status, tags, started) "
            "VALUES ('0123456789abcdef0123456789abcdef', 'p', 'old', 'failed', '[]', 1.0)"
        )
        conn.exec_driver_sql("UPDATE autolog_meta SET value = '2' WHERE key = 'schema_version'")
    store.close()

    store = SqlStore(url)
    try:
        inspector = sa.inspect(store.engine)
        assert "failure" in {c["name"] for c in inspector.get_columns("tasks")}
        assert "ix_artifacts_hash" in {i["name"] for i in inspector.get_indexes("artifacts")}
        assert "ix_models_size" in {i["name"] for i in inspector.get_indexes("models")}
        row = store.get("tasks", "0123456789abcdef0123456789abcdef")
        assert row is not None and row["name"] == "old" and row["failure"] is None  # the old row is kept
        with store.engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT value FROM autolog_meta WHERE key = 'schema_version'").scalar()
        assert version == str(schema.SCHEMA_VERSION)
    finally:
        store.close()


@pytest.mark.parametrize("sort, desc", [("started", True), ("started", False), ("name", True), ("duration", False)])
def test_every_page_of_the_task_table_matches_one_sorted_list(tmp_path: Path, sort: str, desc: bool) -> None:
    """Pages in the second half are read from the other end: together the pages are exactly the sorted table."""
    from autolog.store.sql import SqlStore
    from autolog.ui.queries import PAGE_SIZE, Queries, TaskFilter

    store = SqlStore(f"sqlite:///{tmp_path / 'pages.db'}")
    try:
        rows = [
            {
                "id": f"{n:032x}",
                "project": "p",
                "name": f"task-{n % 7}",
                "status": "completed",
                "tags": "[]",
                "started": float(n // 3),  # ties: the id decides
                "ended": float(n // 3 + n % 5),
            }
            for n in range(3 * PAGE_SIZE + 17)
        ]
        with store.engine.begin() as conn:
            conn.execute(schema.tasks.insert(), rows)
        queries = Queries(store)
        pages = []
        for number in range(1, 6):
            page = queries.task_page(TaskFilter(sort=sort, desc=desc, page=number))
            assert page.total == len(rows)
            pages.append([r["id"] for r in page.rows])
        assert [len(p) for p in pages] == [PAGE_SIZE, PAGE_SIZE, PAGE_SIZE, 17, 0]
        flat = [i for p in pages for i in p]
        assert len(set(flat)) == len(rows)
        one = queries.task_page(TaskFilter(sort=sort, desc=desc, page=1))
        assert [r["id"] for r in one.rows] == pages[0]
        if sort == "started":
            key = sorted(rows, key=lambda r: (r["started"], r["id"]), reverse=desc)
            assert flat == [r["id"] for r in key]
    finally:
        store.close()
