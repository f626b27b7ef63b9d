"""Queries at scale: filters, order and pages run in the database (limit/offset on the public API, --limit on
the CLI), on a store filled by the bench generator. Small here; `python -m bench.scale` runs the million."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import autolog
from autolog.config import load_settings


@pytest.fixture
def filled(home: Path) -> dict:
    import importlib.util

    # bench/ is not installed with the wheel: load the generator from the checkout by its path
    spec = importlib.util.spec_from_file_location("bench_populate", Path(__file__).parents[2] / "bench" / "populate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    home.mkdir(parents=True, exist_ok=True)
    return module.populate(load_settings().tracking_uri, 400, 3000, chain=20, seed=1)


@pytest.fixture
def statements():
    """SQL the store worker runs from now on (SELECTs only)."""
    from sqlalchemy import event

    from autolog.lifecycle import get_session

    session = get_session()
    session.store.ping()
    engine = session.store._sql.engine
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_pages_of_tasks_and_models_are_cut_in_the_database(filled: dict, statements: list[str]) -> None:
    everything = autolog.Task.query()
    assert len(everything) == 400
    assert [t.started for t in everything] == sorted((t.started for t in everything), reverse=True)
    statements.clear()
    page = autolog.Task.query(limit=25, offset=50)
    assert [t.id for t in page] == [t.id for t in everything[50:75]]
    assert len(statements) == 1 and "LIMIT" in statements[0] and "OFFSET" in statements[0]

    models = autolog.Model.query(task_id=filled["heavy_task"])
    assert len(models) == filled["heavy_task_models"]
    statements.clear()
    assert [m.id for m in autolog.Model.query(task_id=filled["heavy_task"], limit=10, offset=5)] == [
        m.id for m in models[5:15]
    ]
    assert "LIMIT" in statements[0]
    in_project = autolog.Model.query(project="project-0")
    assert [m.id for m in autolog.Model.query(project="project-0", limit=7)] == [m.id for m in in_project[:7]]
    assert all(m.task.project == "project-0" for m in in_project[:20])
    with pytest.raises(ValueError, match="must not be negative"):
        autolog.Model.query(limit=-1)


def test_tag_filters_run_in_sql_and_stay_exact(filled: dict, statements: list[str]) -> None:
    every = autolog.Task.query()
    wanted = [t.id for t in every if {"gpu", "ablation"} <= set(t.tags)]
    assert wanted
    statements.clear()
    assert [t.id for t in autolog.Task.query(tags=["gpu", "ablation"])] == wanted
    assert [t.id for t in autolog.Task.query(tags=["gpu", "ablation"], limit=3, offset=2)] == wanted[2:5]
    assert statements and all("LIKE" in s for s in statements)
    # a tag that only appears inside another tag's text is not a match
    with autolog.init("tags", "tricky", tags=('x"gpu',)):
        pass
    with autolog.init("tags", "real", tags=("gpu", "GPU_")):
        pass
    assert [t.name for t in autolog.Task.query(project="tags", tags=["gpu"])] == ["real"]
    assert [t.name for t in autolog.Task.query(project="tags", tags=["GPU_"])] == ["real"]
    assert autolog.Task.query(project="tags", tags=["gp%"]) == []


def test_cli_limit_and_a_twenty_generation_lineage(filled: dict) -> None:
    def cli(*args: str):
        proc = subprocess.run(
            [sys.executable, "-m", "autolog", *args],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(load_settings().home),
        )
        return json.loads(proc.stdout)

    assert len(cli("models", "--json")) == 50
    assert len(cli("models", "--json", "--limit", "7")) == 7
    assert len(cli("tasks", "--json", "--limit", "0")) == 400
    assert [t["id"] for t in cli("tasks", "--json", "--limit", "3")] == [t.id for t in autolog.Task.query(limit=3)]

    tree = cli("lineage", filled["chain_model"], "--json")
    depth = 0
    node = tree["producer"]
    while node is not None:
        depth += 1
        node = node["inputs"][0]["producer"] if node["inputs"] else None
    assert depth >= 20
    assert tree["model"]["id"] == filled["chain_model"]


def test_id_prefixes_resolve_through_the_index(filled: dict) -> None:
    model_id = filled["chain_model"]
    proc = subprocess.run(
        [sys.executable, "-m", "autolog", "show", model_id[:10], "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(load_settings().home),
    )
    assert json.loads(proc.stdout)["id"] == model_id
