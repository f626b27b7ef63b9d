"""Artifact inputs: a task that fetches another task's artifact (`get()` / `get_local_copy()`) records it as an
input, once, in fetch order; a task's own artifacts never; a failure to record never breaks the fetch.

User programs run in subprocesses and end without flush() or close(); the records are read back through the
Python API and `autolog lineage --json`, on the suite's backend (SQLite, or PostgreSQL with --store=postgres).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import autolog

PREPARE = """
    import autolog
    task = autolog.init("data", "prepare")
    task.upload_artifact("features", {payload})
    task.upload_artifact("labels", {{"y": [0, 1, 1]}})
    print(task.id)
"""

CONSUME = """
    import sys
    import autolog
    task = autolog.init("data", "train")
    source = autolog.Task.get_task(sys.argv[-1] if len(sys.argv) > 1 else {source!r})
    {body}
    print(task.id)
"""


def _last_line(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout.strip().splitlines()[-1]


def _lineage(task_id: str, cwd) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "autolog", "lineage", task_id, "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    )
    return json.loads(proc.stdout)


def test_fetching_another_tasks_artifact_links_it_once_and_own_artifacts_never(run_py, tmp_path) -> None:
    pytest.importorskip("pandas")
    prepare = _last_line(run_py(PREPARE.format(payload='__import__("pandas").DataFrame({"x": [1.0, 2.0, 3.0]})')))
    train = _last_line(
        run_py(
            CONSUME.format(
                source=prepare,
                body="""
    features = source.artifacts["features"].get()      # a DataFrame, fetched from the other task
    assert list(features["x"]) == [1.0, 2.0, 3.0], features
    source.artifacts["features"].get_local_copy()       # again: still one link
    source.artifacts["features"].get()
    own = task.upload_artifact("own", {"a": 1}, wait=True)
    assert own.get() == {"a": 1}                         # a task's own artifact is never its input
    assert task.artifacts["own"].get() == {"a": 1}
    source.artifacts["labels"].get_local_copy()
    assert [a.name for a in task.input_artifacts] == ["features", "labels"]  # this process reads its own links
    """,
            )
        )
    )

    b = autolog.Task.get_task(train)
    a = autolog.Task.get_task(prepare)
    assert [(x.name, x.task_id) for x in b.input_artifacts] == [("features", prepare), ("labels", prepare)]
    assert [t.id for t in a.artifacts["features"].consumers] == [train]
    assert [t.id for t in a.artifacts["labels"].consumers] == [train]
    assert b.artifacts["own"].consumers == [] and a.input_artifacts == []
    rows = b._session.store.select("artifact_inputs", {"task_id": train})
    assert sorted(r["seq"] for r in rows) == [1, 2]  # fetched four times: two links

    tree = _lineage(train, tmp_path)
    assert [(x["name"], x["task_id"], x["type"]) for x in tree["artifacts"]] == [
        ("features", prepare, "pandas"),
        ("labels", prepare, "json"),
    ]
    assert tree["artifacts"][0]["producer"]["task"]["id"] == prepare
    assert _lineage(prepare, tmp_path)["artifacts"] == []


def test_no_current_task_links_nothing(run_py) -> None:
    prepare = _last_line(run_py(PREPARE.format(payload='{"x": [1, 2]}')))
    run_py(f"""
        import autolog
        assert autolog.Task.get_task({prepare!r}).artifacts["features"].get() == {{"x": [1, 2]}}
    """)
    artifact = autolog.Task.get_task(prepare).artifacts["features"]
    assert artifact.consumers == []
    assert artifact._session().store.select("artifact_inputs") == []


@pytest.mark.usefixtures("lenient")
def test_a_store_that_cannot_record_the_link_never_breaks_the_fetch(run_py, tmp_path) -> None:
    """A real fault: the link table is gone when the consumer runs. The user's get() returns its object."""
    prepare = _last_line(run_py(PREPARE.format(payload='{"x": [1, 2]}')))
    from autolog.lifecycle import get_session

    store = get_session().store

    def drop(sql) -> None:
        with sql.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE artifact_inputs")

    store.ping()
    drop(store._sql)
    proc = run_py(
        CONSUME.format(
            source=prepare,
            body="""
    assert source.artifacts["features"].get() == {"x": [1, 2]}
    assert source.artifacts["labels"].get() == {"y": [0, 1, 1]}
    print("fetched")
    """,
        ),
        env={"AUTOLOG_STRICT": "0"},
    )
    assert "fetched" in proc.stdout
    assert proc.stderr.count("internal error in store.link_artifact_input") == 1, proc.stderr


def test_lineage_follows_artifacts_through_several_tasks(run_py, tmp_path) -> None:
    """prepare -> clean (fetches features, uploads cleaned) -> fit (fetches cleaned): two data hops up."""
    prepare = _last_line(run_py(PREPARE.format(payload='{"x": [1, 2, None]}')))
    clean = _last_line(
        run_py(
            CONSUME.format(
                source=prepare,
                body="""
    raw = source.artifacts["features"].get()
    task.upload_artifact("cleaned", {"x": [v for v in raw["x"] if v is not None]})
    """,
            )
        )
    )
    fit = _last_line(
        run_py(
            CONSUME.format(
                source=clean,
                body="""
    assert source.artifacts["cleaned"].get() == {"x": [1, 2]}
    """,
            )
        )
    )
    tree = _lineage(fit, tmp_path)
    (cleaned,) = tree["artifacts"]
    assert (cleaned["name"], cleaned["producer"]["task"]["id"]) == ("cleaned", clean)
    (features,) = cleaned["producer"]["artifacts"]
    assert (features["name"], features["producer"]["task"]["id"]) == ("features", prepare)
    assert features["producer"]["artifacts"] == [] and features["producer"]["inputs"] == []
