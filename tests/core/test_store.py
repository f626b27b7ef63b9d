"""The metadata store: concurrent writers on one SQLite home, schema versioning, and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import autolog

WRITER = textwrap.dedent("""
    import sys, autolog
    worker = sys.argv[1]
    for i in range(5):
        with autolog.init("sweep", f"w{worker}-{i}") as task:
            open(f"{sys.argv[2]}/{worker}-{i}.bin", "wb").write(f"{worker}-{i}".encode())
            task.register_model(f"{sys.argv[2]}/{worker}-{i}.bin")
""")


def _sweep(tmp_path: Path, processes: int = 4) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(n), str(tmp_path)], stderr=subprocess.PIPE, text=True, cwd=tmp_path
        )
        for n in range(processes)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err


def test_four_processes_writing_one_sqlite_home_lose_nothing(tmp_path: Path) -> None:
    _sweep(tmp_path)
    tasks = autolog.Task.query(project="sweep")
    assert len(tasks) == 20 and {t.status for t in tasks} == {"completed"}
    models = autolog.Model.query(project="sweep")
    assert len(models) == 20 and all(m.hash and m.upload_state == "done" for m in models)


def test_a_store_newer_than_this_code_is_refused(home: Path) -> None:
    autolog.init("p", "t").close()
    from autolog_state import reset_for_tests

    from autolog.config import load_settings
    from autolog.store.sql import SqlStore

    reset_for_tests()
    store = SqlStore(load_settings().tracking_uri)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE autolog_meta SET value = '999' WHERE key = 'schema_version'")
    store.close()
    with pytest.raises(autolog.AutologError, match="schema version 999"):
        autolog.Task.query()


@pytest.mark.postgres
def test_postgresql_store_round_trip_and_concurrency(postgres_url: str, tmp_path: Path, monkeypatch, plain) -> None:
    monkeypatch.setenv("AUTOLOG_TRACKING_URI", postgres_url)
    save, load = plain
    with autolog.init("pg", "producer", output_uri=str(tmp_path / "out")) as producer:
        save(b"on postgres", tmp_path / "pg.bin")
    consumer = autolog.init("pg", "consumer")
    load(tmp_path / "pg.bin")
    assert [m.task_id for m in consumer.models["input"]] == [producer.id]
    consumer.close()
    _sweep(tmp_path)
    assert len(autolog.Task.query(project="sweep")) >= 20
