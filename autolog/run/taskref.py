"""`Task` objects for the layers below `task`: a model's producer and consumers, an artifact's consumers.

`model` and `artifact` sit below `task` (a task's models and artifacts are theirs), yet `Model.task`,
`Model.consumers` and `Artifact.consumers` hand out `Task` objects. Importing `task` back from them, even
inside a function, would make the core's imports circular again. Instead the package itself (`autolog/__init__`,
the one module above everything) registers here how to reach the `Task` class, and the layers below ask for
it. The class is only imported on the first such call, so `import autolog` stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .task import Task

_provider: Callable[[], type[Task]] | None = None


def register(provider: Callable[[], type[Task]]) -> None:
    """Set how `task_class()` reaches `Task` (`import autolog` does, once)."""
    global _provider
    _provider = provider


def task_class() -> type[Task]:
    """The `Task` class, for building Task objects below it (`Task.get_task(id)`, `Task(session, row)`)."""
    if _provider is None:
        raise RuntimeError("autolog.run.taskref: no Task class registered; `import autolog` registers it")
    return _provider()
