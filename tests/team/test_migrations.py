"""A store written by the first release (schema v1) opens and upgrades, on the suite's backend (SQLite by
default, PostgreSQL with --store=postgres); several processes opening or upgrading at once cannot corrupt it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from v1_store import CONSUMER, MODEL, MODEL_HASH, PRODUCER, build_v1

import autolog
from autolog.config import load_settings
from autolog.store import schema


def _engine(url: str) -> sa.Engine:
    from autolog.store.sql import _normalize_url

    return sa.create_engine(_normalize_url(url))


def _version_and_indexes(url: str) -> tuple[int, set[str]]:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            version = int(
                conn.execute(sa.text("SELECT value FROM autolog_meta WHERE key = 'schema_version'")).scalar_one()
            )
            names = {
                ix["name"] for table in ("tasks", "models", "artifacts") for ix in sa.inspect(conn).get_indexes(table)
            }
    finally:
        engine.dispose()
    return version, names


def _store_url(home: Path) -> str:
    home.mkdir(parents=True, exist_ok=True)
    return load_settings().tracking_uri


def test_a_v1_store_opens_upgrades_and_keeps_its_records(home: Path, run_py, tmp_path: Path) -> None:
    url = _store_url(home)
    build_v1(url)
    assert _version_and_indexes(url)[0] == 1

    consumer = autolog.Task.get_task(CONSUMER)
    assert [m.id for m in consumer.models["input"]] == [MODEL]
    model = autolog.Model.get(MODEL)
    assert model.hash == MODEL_HASH and model.task.id == PRODUCER
    assert [t.id for t in model.consumers] == [CONSUMER]
    assert [t.id for t in autolog.Task.query(project="legacy", tags=["v1"])] == [PRODUCER]
    assert list(autolog.Task.get_task(PRODUCER).artifacts) == ["config"]

    version, indexes = _version_and_indexes(url)
    assert version == schema.SCHEMA_VERSION
    assert {"ix_models_created", "ix_models_task_created", "ix_tasks_started", "ix_models_upload_state"} <= indexes

    # new records go in next to the old ones, from a new process, and the CLI reads both
    from autolog_state import reset_for_tests

    reset_for_tests()
    run_py("""
        import autolog
        with autolog.init("legacy", "finetune") as task:
            open("new.bin", "wb").write(b"new")
            task.register_model("new.bin")
    """)
    proc = subprocess.run(
        [sys.executable, "-m", "autolog", "lineage", MODEL, "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert json.loads(proc.stdout)["producer"]["task"]["id"] == PRODUCER
    assert len(autolog.Model.query(project="legacy")) == 2


OPENER = textwrap.dedent("""
    import sys, time
    from autolog.store import sql
    migrate = sql.SqlStore._migrate
    sql.SqlStore._migrate = lambda self: None
    store = sql.SqlStore(sys.argv[1])   # engine only; a pooled connection ready, so the processes race tightly
    with store.engine.connect():
        pass
    time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
    migrate(store)
    store.close()
""")


def _open_at_once(url: str, processes: int, cwd: Path) -> None:
    start = time.time() + 4  # every process has imported SQLAlchemy and connected by then, even on a busy machine
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, url, str(start)], stderr=subprocess.PIPE, text=True, cwd=cwd
        )  # not the checkout: the installed autolog
        for _ in range(processes)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), "\n".join(errors)


@pytest.mark.parametrize("existing", ["v1", "new"])
def test_processes_creating_or_upgrading_the_store_at_once_cannot_corrupt_it(
    home: Path, existing: str, tmp_path: Path
) -> None:
    url = _store_url(home)
    if existing == "v1":
        build_v1(url)
    _open_at_once(url, 6, tmp_path)
    version, indexes = _version_and_indexes(url)
    assert version == schema.SCHEMA_VERSION and "ix_models_created" in indexes
    engine = _engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM autolog_meta")).scalar_one() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM models")).scalar_one() == (1 if existing == "v1" else 0)
    engine.dispose()
    if existing == "v1":
        assert autolog.Model.get(MODEL).task_id == PRODUCER


def test_a_store_of_an_unknown_newer_version_is_refused_by_name(home: Path) -> None:
    url = _store_url(home)
    build_v1(url)
    engine = _engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE autolog_meta SET value = '99' WHERE key = 'schema_version'"))
    engine.dispose()
    from autolog.store.sql import SqlStore

    with pytest.raises(autolog.AutologError, match="schema version 99"):
        SqlStore(url)
