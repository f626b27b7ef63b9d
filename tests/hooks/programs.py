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
