"""User programs for the format hooks' tests: each runs in a fresh interpreter (`run_py`, cwd = the test's
`tmp_path`), starts a task and ends as a user's script ends (no `flush()`, no `close()`); the records are then
read back from the shared autolog home (`from hooks.programs import ...`)."""

from __future__ import annotations

import textwrap

import autolog


def run_task(run_py, project: str, name: str, body: str, *, output_uri: str | None = None) -> autolog.Task:
    """Run `body` after `task = autolog.init(project, name, output_uri)`; return the finished task's record."""
    head = f"import autolog\ntask = autolog.init({project!r}, {name!r}, output_uri={output_uri!r})\n"
    run_py(head + textwrap.dedent(body))
    (task,) = autolog.Task.query(project=project, task=name)
    assert task.status == "completed", task.status
    return task


def assert_linked(producer: autolog.Task, consumer: autolog.Task, names: list[str]) -> None:
    """`consumer` loaded exactly the producer's snapshots called `names` (in load order), nothing imported."""
    inputs = consumer.models["input"]
    assert [m.name for m in inputs] == names, [(m.name, m.task_id) for m in inputs]
    assert all(m.task_id == producer.id for m in inputs), [(m.name, m.task_id) for m in inputs]
    assert not [m for m in autolog.Model.query() if m.task_id is None], "an orphan imported model was made"


def break_recording(monkeypatch) -> None:
    """Make every save and load record fail inside autolog (with the `lenient` fixture: as in production)."""
    import importlib

    recording = importlib.import_module("autolog.capture.recording")
    monkeypatch.setattr(recording, "record_save", lambda *a, **k: 1 / 0)
    monkeypatch.setattr(recording, "record_load", lambda *a, **k: 1 / 0)


def assert_contained(records, hook: str) -> None:
    """One warning for the failed save and one for the failed load of `hook`, on the `autolog` logger."""
    from hooks.conftest import warnings_in

    assert [r.getMessage().split(" (")[0] for r in warnings_in(records)] == [
        f"autolog: internal error in {hook} save",
        f"autolog: internal error in {hook} load",
    ]


def run_example(name: str, tmp_path) -> str:
    """Run `examples/<name>` (skipped when the checkout has no examples/) as a user would; return its stdout."""
    import subprocess
    import sys
    from pathlib import Path

    import pytest

    example = Path(__file__).resolve().parents[2] / "examples" / name
    if not example.is_file():
        pytest.skip("examples/ is not part of this checkout")
    command = [sys.executable, str(example), str(tmp_path / "out")]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
