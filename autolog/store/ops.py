"""The store's operations, typed: one method per `SqlStore` operation, so a misspelt name or a wrong argument
fails at type-check time (mypy) instead of in a user's training run.

The `Store` facade (`autolog.store.client`) inherits these. Every method queues its operation on the store's
worker thread (`Store.submit`) and either waits for the answer (reads, and writes whose result the caller
needs) or, for the `queue_*` methods, returns at once: those are the fire-and-forget writes of the recording
path, journaled on the caller's thread first and logged (never raised) if they fail. The semantics of the
queue, the journal and writes parked while the server is unreachable live in `Store` itself, unchanged.

`Operation` names every operation the worker may run (`SqlStore`'s method names); a test checks that each
one exists on `SqlStore` with the parameters these wrappers pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any, Literal

from .rows import TableName

Row = dict[str, Any]
Operation = Literal[
    "ping",
    "get",
    "select",
    "query_tasks",
    "query_models",
    "task_inputs",
    "lineage",
    "model_consumers",
    "task_artifact_inputs",
    "artifact_consumers",
    "get_fingerprint",
    "insert",
    "update",
    "settle",
    "link_input",
    "link_artifact_input",
    "import_model",
    "put_fingerprint",
    "end_task",
    "heartbeat",
    "claim",
    "replace_artifact",
    "refs_read",
    "refs_write",
]


class StoreOperations:
    """Typed operations over `submit` (see the module docstring); `Store` provides `submit` and `_write`."""

    def submit(self, method: Operation, *args: Any, **kwargs: Any) -> Future[Any]:
        raise NotImplementedError  # pragma: no cover - Store's

    def _write(self, method: Operation, *args: Any) -> Future[Any]:
        raise NotImplementedError  # pragma: no cover - Store's

    def _call(self, method: Operation, *args: Any, **kwargs: Any) -> Any:
        """Run a store operation and wait for its result (raises its error)."""
        return self.submit(method, *args, **kwargs).result()

    # -- reads: the caller waits; they fail fast while the server is unreachable -------------------------
    def ping(self) -> bool:
        """True once every operation queued before it has run (a barrier that also checks the database)."""
        return bool(self._call("ping"))

    def get(self, table: TableName, key: str) -> Row | None:
        """One row of `table` by id, or None."""
        row: Row | None = self._call("get", table, key)
        return row

    def select(
        self,
        table: TableName,
        where: Row | None = None,
        *,
        order_by: Iterable[str] = (),
        desc: bool = False,
        limit: int | None = None,
        id_prefix: str | None = None,
        offset: int = 0,
    ) -> list[Row]:
        """Rows of `table` whose columns equal `where`'s values (a list value: any of them)."""
        rows: list[Row] = self._call(
            "select", table, where, order_by=tuple(order_by), desc=desc, limit=limit, id_prefix=id_prefix, offset=offset
        )
        return rows

    def query_tasks(
        self,
        project: str | None,
        name: str | None,
        status: str | None,
        limit: int | None,
        *,
        offset: int = 0,
        tags: Iterable[str] | None = None,
    ) -> list[Row]:
        """Tasks newest first, filtered and paged in the database."""
        rows: list[Row] = self._call(
            "query_tasks", project, name, status, limit, offset=offset, tags=None if tags is None else list(tags)
        )
        return rows

    def query_models(
        self,
        project: str | None,
        task_id: str | None,
        name: str | None,
        framework: str | None,
        limit: int | None,
        *,
        offset: int = 0,
    ) -> list[Row]:
        """Models newest first, filtered and paged in the database."""
        rows: list[Row] = self._call("query_models", project, task_id, name, framework, limit, offset=offset)
        return rows

    def task_inputs(self, task_id: str) -> list[Row]:
        """The model rows a task loaded, in load order."""
        rows: list[Row] = self._call("task_inputs", task_id)
        return rows

    def lineage(self, task_id: str) -> dict[str, Any]:
        """A task's whole ancestry in one read: {"tasks": {id: row}, "inputs": {task id: [model rows]}}."""
        found: dict[str, Any] = self._call("lineage", task_id)
        return found

    def model_consumers(self, model_id: str) -> list[Row]:
        """Task rows that loaded a model, in the order they first did."""
        rows: list[Row] = self._call("model_consumers", model_id)
        return rows

    def task_artifact_inputs(self, task_id: str) -> list[Row]:
        """The artifact rows a task fetched from other tasks, in fetch order."""
        rows: list[Row] = self._call("task_artifact_inputs", task_id)
        return rows

    def artifact_consumers(self, artifact_id: str) -> list[Row]:
        """Task rows that fetched an artifact, in the order they first did."""
        rows: list[Row] = self._call("artifact_consumers", artifact_id)
        return rows

    def get_fingerprint(self, path: str) -> Row | None:
        """The stat fingerprint recorded for `path` (size, mtime, inode, hash), or None."""
        row: Row | None = self._call("get_fingerprint", path)
        return row

    # -- writes the caller waits for (it needs their result, or must know they landed) --------------------
    def insert(self, table: TableName, row: Row) -> None:
        self._call("insert", table, row)

    def update(self, table: TableName, key: str, values: Row) -> int:
        """Set `values` on one row; the number of rows changed."""
        changed: int = self._call("update", table, key, values)
        return changed

    def settle(self, table: TableName, key: str, values: Row) -> bool | None:
        """Write a row's final upload state over `pending`/`failed` only (`SqlStore.settle`)."""
        written: bool | None = self._call("settle", table, key, values)
        return written

    def replace_artifact(self, row: Row) -> None:
        """Insert an artifact row and mark earlier ones of that task and name replaced, in one transaction."""
        self._call("replace_artifact", row)

    def link_input(self, task_id: str, model_id: str, seq: int, created: float) -> bool:
        """Record that a task loaded a model; False when that link already existed."""
        return bool(self._call("link_input", task_id, model_id, seq, created))

    def link_artifact_input(self, task_id: str, artifact_id: str, seq: int, created: float) -> bool:
        """Record that a task fetched another task's artifact; False when that link already existed."""
        return bool(self._call("link_artifact_input", task_id, artifact_id, seq, created))

    def import_model(self, row: Row) -> Row:
        """The model row with `row`'s hash (inserted as an imported model when there is none)."""
        model: Row = self._call("import_model", row)
        return model

    def end_task(self, task_id: str, status: str, ended: float | None) -> bool:
        """End a running task; False when it had already ended."""
        return bool(self._call("end_task", task_id, status, ended))

    def claim(self, table: TableName, key: str, old_host: str | None, old_pid: int | None, host: str, pid: int) -> bool:
        """Take over a row's upload from its owner, if that owner still holds it, and make it `pending`; False if
        someone else did."""
        return bool(self._call("claim", table, key, old_host, old_pid, host, pid))

    def refs_read(self, name: str, *args: Any) -> Any:
        """A read of `autolog.store.refs` by name (stored objects, links, aliases, who loaded what)."""
        return self._call("refs_read", name, *args)

    def refs_write(self, name: str, *args: Any) -> Any:
        """A write of `autolog.store.refs` by name (reference counts, pruning, aliases); waits for its result."""
        return self._call("refs_write", name, *args)

    # -- fire-and-forget writes of the recording path: journaled first, a failure is logged ---------------
    def queue_insert(self, table: TableName, row: Row) -> Future[Any]:
        return self._write("insert", table, row)

    def queue_update(self, table: TableName, key: str, values: Row) -> Future[Any]:
        return self._write("update", table, key, values)

    def queue_settle(self, table: TableName, key: str, values: Row) -> Future[Any]:
        """A row's final upload state, written over `pending`/`failed` only; the Future holds `settle`'s answer."""
        return self._write("settle", table, key, values)

    def queue_replace_artifact(self, row: Row) -> Future[Any]:
        return self._write("replace_artifact", row)

    def queue_link_artifact_input(self, task_id: str, artifact_id: str, seq: int, created: float) -> Future[Any]:
        return self._write("link_artifact_input", task_id, artifact_id, seq, created)

    def queue_fingerprint(self, row: Row) -> Future[Any]:
        return self._write("put_fingerprint", row)
