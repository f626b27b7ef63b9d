"""A store written by the first release (schema v1) gets the `artifact_inputs` table when it is opened (made by
`create_all(checkfirst=True)`, no migration step), and records and reads artifact inputs next to its old rows."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from v1_store import ARTIFACT, PRODUCER, build_v1

import autolog
from autolog.config import load_settings


def _tables(url: str) -> set[str]:
    from autolog.store.sql import _normalize_url

    engine = sa.create_engine(_normalize_url(url))
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_a_v1_store_gains_artifact_inputs_on_open(home: Path, run_py) -> None:
    home.mkdir(parents=True, exist_ok=True)
    url = load_settings().tracking_uri
    build_v1(url)
    assert "artifact_inputs" not in _tables(url)

    old = autolog.Task.get_task(PRODUCER).artifacts["config"]  # opening the store upgrades it
    assert old.id == ARTIFACT and old.consumers == [] and autolog.Task.get_task(PRODUCER).input_artifacts == []
    assert "artifact_inputs" in _tables(url)

    from autolog_state import reset_for_tests

    reset_for_tests()
    prepare = run_py("""
        import autolog
        task = autolog.init("legacy", "prepare")
        task.upload_artifact("rows", {"n": 3})
        print(task.id)
    """).stdout.split()[-1]
    consumer = run_py(f"""
        import autolog
        task = autolog.init("legacy", "train")
        assert autolog.Task.get_task({prepare!r}).artifacts["rows"].get() == {{"n": 3}}
        print(task.id)
    """).stdout.split()[-1]
    rows = autolog.Task.get_task(prepare).artifacts["rows"]
    assert [t.id for t in rows.consumers] == [consumer]
    assert [a.name for a in autolog.Task.get_task(consumer).input_artifacts] == ["rows"]
