"""`Model`: one registered snapshot (or an imported model a task loaded), read from the store."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, overload

from ..errors import IntegrityError, NotFoundError
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

    @classmethod
    def _from_row(cls, row: dict[str, Any]) -> Model:
        members = json.loads(row["members"]) if row.get("members") else None
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
        )

    @staticmethod
    def _session() -> Session:
        from .current import get_session

        return get_session()

    @classmethod
    def get(cls, model_id: str) -> Model:
        """The model with this id. Unknown id -> `autolog.NotFoundError`."""
        row = cls._session().store.get("models", model_id)
        if row is None:
            raise NotFoundError(f"no model with id {model_id!r}")
        return cls._from_row(row)

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
    ) -> list[Model]:
        """Models matching every given field, newest first; `limit` and `offset` page in the database."""
        rows = cls._session().store.query_models(project, task_id, name, framework, limit, offset=offset)
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

            storage, uri = storage_for(current.uri), current.uri
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


def model_from_row(row: dict[str, Any]) -> Model:
    """A stored `models` row as a `Model` (for `task`, the CLI and the UI)."""
    return Model._from_row(row)
