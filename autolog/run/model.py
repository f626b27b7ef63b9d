"""`Model`: one registered snapshot (or an imported model a task loaded), read from the store."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, overload

from ..errors import IntegrityError, NotFoundError, PrunedError
from ..storage.fingerprint import hash_members, hash_path

if TYPE_CHECKING:
    from ..pipeline.session import Session
    from .task import Task


@overload
def _when(seconds: float) -> datetime: ...
@overload
def _when(seconds: None) -> None: ...
def _when(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=timezone.utc)


@dataclass(frozen=True)
class Model:
    """A model snapshot. `task_id` is its producer (None when imported); `uri` its remote copy, if any."""

    id: str
    name: str
    framework: str | None
    task_id: str | None
    uri: str | None
    local_path: str | None
    size: int | None
    hash: str | None
    created: datetime
    is_dir: bool = False
    upload_state: str = "done"
    members: tuple[str, ...] | None = field(default=None, repr=False)
    step: int | None = None  # global step at the save (framework, or `autolog.log_metrics`)
    epoch: float | None = None
    metrics: dict[str, float] = field(default_factory=dict, repr=False)  # the latest values at the save
    monitor: str | None = field(default=None, repr=False)  # the metric its framework or policy optimizes
    monitor_mode: str | None = field(default=None, repr=False)
    pruned_at: datetime | None = field(default=None, repr=False)
    pruned_rule: str | None = field(default=None, repr=False)  # the retention rule that freed its bytes

    @classmethod
    def _from_row(cls, row: dict[str, Any]) -> Model:
        members = json.loads(row["members"]) if row.get("members") else None
        try:
            metrics = json.loads(row["metrics"]) if row.get("metrics") else {}
        except ValueError:
            metrics = {}
        return cls(
            id=row["id"],
            name=row["name"],
            framework=row["framework"],
            task_id=row["task_id"],
            uri=row["uri"],
            local_path=row["local_path"],
            size=row["size"],
            hash=row["hash"],
            created=_when(row["created"]),
            is_dir=bool(row["is_dir"]),
            upload_state=row["upload_state"],
            members=tuple(members) if members else None,
            step=row.get("step"),
            epoch=row.get("epoch"),
            metrics=metrics if isinstance(metrics, dict) else {},
            monitor=row.get("monitor"),
            monitor_mode=row.get("monitor_mode"),
            pruned_at=_when(row.get("pruned_at")),
            pruned_rule=row.get("pruned_rule"),
        )

    @staticmethod
    def _session() -> Session:
        from .current import get_session

        return get_session()

    @classmethod
    def get(
        cls,
        model_id: str | None = None,
        *,
        alias: str | None = None,
        project: str | None = None,
        task_id: str | None = None,
    ) -> Model:
        """The model with this id, or the one an alias names: `Model.get(alias="production", project="mnist")`.

        `latest` and `best` are every task's own aliases (with `task_id`, that task's; else the project's newest
        task's); any other alias is a user alias of `project` (`model.set_alias`). Unknown -> `NotFoundError`."""
        if alias is not None:
            from .aliases import resolve

            return cls._from_row(resolve(cls._session().store, alias, project, task_id))
        if model_id is None:
            raise ValueError("Model.get needs a model id, or alias= (with project=)")
        row = cls._session().store.get("models", model_id)
        if row is None:
            raise NotFoundError(f"no model with id {model_id!r}")
        return cls._from_row(row)

    def set_alias(self, alias: str) -> None:
        """Point the user alias `alias` (unique in this model's project) at this snapshot, moving it from
        wherever it was; who and when are recorded. An aliased snapshot is never pruned."""
        from .aliases import set_alias

        set_alias(self._session().store, self, alias)

    @classmethod
    def remove_alias(cls, alias: str, project: str) -> None:
        """Remove a user alias of `project` (its snapshot may then be pruned by its task's policy)."""
        from .aliases import remove_alias

        remove_alias(cls._session().store, alias, project)

    @property
    def aliases(self) -> list[str]:
        """The aliases naming this snapshot now: user aliases, and `latest` / `best` of its task."""
        from .aliases import aliases_of

        return aliases_of(self._session().store, self)

    @classmethod
    def query(
        cls,
        project: str | None = None,
        task_id: str | None = None,
        name: str | None = None,
        framework: str | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: str | None = None,
    ) -> list[Model]:
        """Models matching every given field, newest first; `limit` and `offset` page in the database.

        `order_by="val_loss"` orders by that recorded metric, lowest first (`"-accuracy"`: highest first);
        snapshots without it come last."""
        store = cls._session().store
        if order_by:
            rows = store.refs_read("models_by_metric", project, task_id, name, framework, order_by, limit, offset)
        else:
            rows = store.query_models(project, task_id, name, framework, limit, offset=offset)
        return [cls._from_row(r) for r in rows]

    @property
    def task(self) -> Task | None:
        """The task that produced this snapshot, or None for an imported model."""
        from .taskref import task_class

        return task_class().get_task(self.task_id) if self.task_id else None

    @property
    def consumers(self) -> list[Task]:
        """Tasks that loaded this model, in the order they first did."""
        from .taskref import task_class

        session, task = self._session(), task_class()
        return [task(session, r) for r in session.store.model_consumers(self.id)]

    def get_local_copy(self) -> str:
        """A local path holding exactly the recorded bytes; raises IntegrityError.

        A model with a remote copy (`uri`) is downloaded into the local cache once and reused; a local-only
        model is its own `local_path`, if the file there still has the recorded hash. Every byte is checked
        against the recorded hash: a changed or missing file is an `IntegrityError` naming the model, never
        a silent wrong file. A TensorFlow checkpoint or a SavedModel comes back as a folder holding all of
        its files. A snapshot still uploading is waited for first.
        """
        session = self._session()
        current = self
        if current.upload_state == "pending":
            session.flush()
            current = Model.get(self.id)
        label = f"model {current.id} ({current.name})"
        if current.upload_state == "pruned":
            when = current.pruned_at.isoformat(timespec="seconds") if current.pruned_at else "earlier"
            raise PrunedError(
                f"{label} was pruned {when} by {current.pruned_rule or 'a retention rule'}: its bytes were freed "
                "and only its record (lineage, step, metrics) is kept"
            )
        if current.upload_state == "lost":
            row = session.store.get("models", current.id) or {}
            reason = row.get("error") or "its bytes changed before autolog could capture them"
            raise IntegrityError(f"{label} is lost: {reason}; autolog kept no copy of it")
        if current.hash is None:
            raise IntegrityError(
                f"{label}: its content is not hashed yet ({current.upload_state}); if the "
                f"process that saved it has ended, run `autolog sync` on that machine"
            )
        if current.uri:
            from ..storage.access import storage_for
            from ..storage.objects import PREFIX, fetch, is_object_uri

            storage, uri = storage_for(current.uri), current.uri
            if is_object_uri(uri):  # stored by content (`docs/storage.md`): a file, or a folder's manifest
                root = uri.split(f"/{PREFIX}/", 1)[0]
                return session.cache.fetch(
                    current.hash, current.name, label, lambda dest: fetch(storage, root, uri, dest, current.is_dir)
                )
            return session.cache.fetch(
                current.hash, current.name, label, lambda dest: storage.get(uri, dest, current.is_dir)
            )
        return current._verified_local_path(session, label)

    def _verified_local_path(self, session: Session, label: str) -> str:
        path = self.local_path
        members = self.members
        if members:
            from ..system.paths import copy_file, is_plain_segment

            bad = [m for m in members if not is_plain_segment(m)]
            if bad:  # a record edited in a shared store must not make us read or write elsewhere
                raise IntegrityError(f"{label}: the recorded member name {bad[0][:80]!r} is not a plain file name")
            folder = os.path.dirname(path or "")
            files = [os.path.join(folder, m) for m in members]
            missing = [f for f in files if not os.path.exists(f)]
            if missing:
                raise IntegrityError(f"{label}: the local file {missing[0]} is gone and no remote copy exists")
            if hash_members((m, f) for m, f in zip(members, files)) != self.hash:
                raise IntegrityError(f"{label}: the local files at {path} changed since they were recorded")

            def assemble(dest: str) -> None:
                os.makedirs(dest)
                for m, f in zip(members, files):
                    copy_file(f, os.path.join(dest, m))

            return session.cache.fetch(self.hash, self.name, label, assemble)
        if not path or not os.path.exists(path):
            raise IntegrityError(f"{label}: the local file {path} is gone and no remote copy exists")
        if hash_path(path) != self.hash:
            raise IntegrityError(f"{label}: the local file {path} changed since it was recorded")
        return path


class Models(dict[str, list[Model]]):
    """`task.models`: {"input": [...], "output": [...]}, and the best output snapshot by a recorded metric."""

    def best(self, metric: str | None = None, mode: str | None = None) -> Model | None:
        """The output snapshot with the lowest `metric` (`mode="max"`: highest), pruned ones left out; by default
        the metric its framework (or the task's policy) monitors. None when no snapshot recorded it."""
        outputs = [m for m in self.get("output", []) if m.upload_state not in ("lost", "pruned")]
        if metric is None:
            monitored = next((m for m in reversed(outputs) if m.monitor), None)
            if monitored is None:
                return None
            metric, mode = monitored.monitor, mode or monitored.monitor_mode
        scored = [m for m in outputs if isinstance(m.metrics.get(metric or ""), (int, float))]
        if not scored:
            return None
        sign = -1.0 if mode == "max" else 1.0
        return min(reversed(scored), key=lambda m: sign * float(m.metrics[metric or ""]))


def model_from_row(row: dict[str, Any]) -> Model:
    """A stored `models` row as a `Model` (for `task`, the CLI and the UI)."""
    return Model._from_row(row)
