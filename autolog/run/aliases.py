"""Aliases: names for snapshots. `latest` and `best` belong to every task and are computed from its records;
user aliases (`production`, `candidate`) are unique per project, movable, and logged with who and when
(`aliases` and `alias_log` tables). Any alias protects its snapshot from retention (`autolog.store.keep`)."""

from __future__ import annotations

import getpass
import time
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError
from ..store import keep
from ..store.client import Store
from ..system.host import host_name

if TYPE_CHECKING:
    from .model import Model

COMPUTED = ("latest", "best")
Row = dict[str, Any]


def _who() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name (a container without passwd): the host alone
        user = "?"
    return f"{user}@{host_name()}"


def _check(alias: str) -> str:
    from ..system.paths import check_display_name

    alias = check_display_name("alias", alias)
    if alias in COMPUTED:
        raise ValueError(f"alias {alias!r} is automatic (every task's latest and best snapshot); choose another name")
    if len(alias) > 255:
        raise ValueError("an alias is at most 255 characters")
    return alias


def _project_of(store: Store, model: Model) -> str:
    task = store.get("tasks", model.task_id) if model.task_id else None
    if task is None:
        raise ValueError(f"model {model.id} was not produced by a task (imported): it has no project to alias it in")
    return str(task["project"])


def set_alias(store: Store, model: Model, alias: str) -> None:
    alias = _check(alias)
    if model.upload_state in ("pruned", "lost"):
        raise ValueError(f"model {model.id} is {model.upload_state}: its bytes are gone, an alias would name nothing")
    store.refs_write("set_alias", _project_of(store, model), alias, model.id, _who(), time.time())


def remove_alias(store: Store, alias: str, project: str) -> None:
    alias = _check(alias)
    if store.refs_read("alias_target", project, alias) is None:
        raise NotFoundError(f"project {project!r} has no alias {alias!r}")
    store.refs_write("set_alias", project, alias, None, _who(), time.time())


def _task_rows(store: Store, task_id: str) -> list[Row]:
    return store.select("models", {"task_id": task_id}, order_by=("seq",))


def computed(rows: list[Row], task: Row | None) -> dict[str, Row]:
    """{"latest": row, "best": row} of one task's snapshot rows (each only where there is one)."""
    live = [r for r in rows if r["upload_state"] not in ("lost", "pruned")]
    found: dict[str, Row] = {}
    if live:
        found["latest"] = max(live, key=lambda r: int(r.get("seq") or 0))
    policy = keep.parse(task.get("keep")) if task and task.get("keep") else None
    monitor = keep.monitor_of(rows, policy)
    if monitor is not None:
        best = keep.best_of(live, *monitor)
        if best:
            found["best"] = best[0]
    return found


def resolve(store: Store, alias: str, project: str | None, task_id: str | None) -> Row:
    """The row an alias names (see `Model.get`)."""
    if alias in COMPUTED:
        if task_id is None:
            if project is None:
                raise ValueError(f"Model.get(alias={alias!r}) needs project= or task_id=")
            tasks = store.query_tasks(project, None, None, 1)
            if not tasks:
                raise NotFoundError(f"project {project!r} has no tasks")
            task_id = tasks[0]["id"]
        task = store.get("tasks", task_id)
        row = computed(_task_rows(store, task_id), task).get(alias)
        if row is None:
            why = "no snapshot" if alias == "latest" else "no snapshot with its monitored metric"
            raise NotFoundError(f"task {task_id} has {why}: no {alias!r} model")
        return row
    if project is None:
        raise ValueError("Model.get(alias=...) of a user alias needs project=")
    target = store.refs_read("alias_target", project, alias)
    row = store.get("models", target["model_id"]) if target else None
    if row is None:
        raise NotFoundError(f"project {project!r} has no alias {alias!r}")
    return row


def aliases_of(store: Store, model: Model) -> list[str]:
    names = [a["alias"] for a in store.refs_read("aliases_of", [model.id])]
    if model.task_id:
        task = store.get("tasks", model.task_id)
        names += [
            name for name, row in computed(_task_rows(store, model.task_id), task).items() if row["id"] == model.id
        ]
    return names
