"""`Task`: one run of training code, what it saved and loaded, and its artifacts."""

from __future__ import annotations

import fnmatch
import itertools
import json
import os
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any

from .errors import NotFoundError
from .fingerprint import Fingerprint
from .host import host_name
from .log import logger
from .model import Model, _when
from .recorder import LinkJob, SnapshotJob
from .storage import join, safe_segment

if TYPE_CHECKING:
    from .artifact import Artifact
    from .recording import Target
    from .session import Session

RUNNING, COMPLETED, FAILED, ABORTED = "running", "completed", "failed", "aborted"
STATUSES = (RUNNING, COMPLETED, FAILED, ABORTED)


class Task:
    """A run. Created by `autolog.init()`; fetched later with `Task.get_task()` / `Task.query()`."""

    def __init__(self, session: Session, row: dict[str, Any], *, live: bool = False,
                 ignore: Iterable[str] = ()) -> None:
        self._session = session
        self._row = row
        self._live = live  # created by this process: it records and can be closed
        self._ignore = tuple(ignore)
        self._lock = threading.RLock()  # reentrant: the SIGTERM handler may close while a save holds it
        self._output_seq = itertools.count(1)
        self._input_seq = itertools.count(1)
        self._artifact_seq = itertools.count(1)
        self._fetched_artifacts: set[str] = set()  # other tasks' artifacts fetched here (`artifact_inputs`)

    # -- fields ------------------------------------------------------------------------------------
    id = property(lambda self: self._row["id"])
    project = property(lambda self: self._row["project"])
    name = property(lambda self: self._row["name"])
    status = property(lambda self: self._row["status"])
    output_uri = property(lambda self: self._row["output_uri"])
    tags = property(lambda self: tuple(json.loads(self._row["tags"] or "[]")))
    started = property(lambda self: _when(self._row["started"]))
    ended = property(lambda self: _when(self._row["ended"]))

    @property
    def run_info(self) -> dict[str, Any]:
        """Host, user, pid, Python version, command line, working directory, git commit and dirty flag."""
        keys = ("host", "user", "pid", "python", "cwd", "git_commit", "git_dirty")
        info = {k: self._row.get(k) for k in keys}
        info["argv"] = json.loads(self._row["argv"]) if self._row.get("argv") else None
        return info

    def __repr__(self) -> str:
        return f"<Task {self.id} {self.project}/{self.name} {self.status}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Task) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    # -- creation and lookup ---------------------------------------------------------------------------
    @classmethod
    def _create(cls, session: Session, project: str, name: str, output_uri: str | None, tags: tuple[str, ...],
                ignore: tuple[str, ...]) -> Task:
        from .liveness import process_start
        from .runinfo import run_info

        started = time.time()
        row = {"id": uuid.uuid4().hex, "project": project, "name": name, "status": RUNNING,
               "output_uri": output_uri, "tags": json.dumps(list(tags)), "started": started, "ended": None,
               "git_dirty": None, **run_info(), "pid_start": process_start(os.getpid()), "heartbeat": started}
        session.store.write("insert", "tasks", row)
        task = cls(session, row, live=True, ignore=ignore)
        if row["git_commit"]:
            session.recorder.worker.submit(task._record_git_dirty)
        return task

    def _record_git_dirty(self) -> None:
        from .runinfo import git_dirty

        dirty = git_dirty(self._row["cwd"])
        self._row["git_dirty"] = dirty
        self._session.store.write("update", "tasks", self.id, {"git_dirty": dirty})

    @classmethod
    def _from_row(cls, session: Session, row: dict[str, Any]) -> Task:
        return cls(session, row)

    @classmethod
    def get_task(cls, task_id: str | None = None, *, project: str | None = None, task: str | None = None) -> Task:
        """A task by id, or the latest with this project and task name. Unknown -> NotFoundError."""
        from .lifecycle import current_task, get_session

        current = current_task()
        if task_id is not None and current is not None and current.id == task_id:
            return current
        session = get_session()
        if task_id is not None:
            row = session.store.call("get", "tasks", task_id)
            if row is None:
                raise NotFoundError(f"no task with id {task_id!r}")
            return cls._from_row(session, row)
        if project is None and task is None:
            raise ValueError("Task.get_task needs a task_id, or project= and/or task=")
        rows = session.store.call("query_tasks", project, task, None, 1)
        if not rows:
            raise NotFoundError(f"no task with project={project!r} and task={task!r}")
        return cls._from_row(session, rows[0])

    @classmethod
    def query(cls, project: str | None = None, task: str | None = None, status: str | None = None,
              tags: Iterable[str] | None = None, *, limit: int | None = None, offset: int = 0) -> list[Task]:
        """Tasks matching every given field (and having every tag in `tags`), newest first; `limit` and
        `offset` page through them in the database."""
        from .lifecycle import get_session

        session = get_session()
        rows = session.store.call("query_tasks", project, task, status, limit, offset=offset, tags=list(tags or ()))
        return [cls._from_row(session, r) for r in rows]

    # -- lifecycle ----------------------------------------------------------------------------------------
    def __enter__(self) -> Task:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(FAILED if exc_type is not None else COMPLETED)

    def flush(self, wait: bool = True, timeout: float | None = None) -> bool:
        """Wait until every snapshot and artifact recorded so far is hashed and durable. False on timeout."""
        if not wait:
            return self._session.pending() == 0
        return self._session.flush(timeout)

    def close(self, status: str = COMPLETED, *, timeout: float | None = None) -> None:
        """Flush pending uploads (up to `timeout`, default the `upload_timeout` setting), then end the task.

        Always ends it: an error while flushing still records `status` and releases the current task.
        """
        from . import lifecycle

        with self._lock:
            if not self._live or self.status != RUNNING:
                return
            self._row["status"] = "closing"
        if timeout is None:
            timeout = self._session.settings.upload_timeout
        began = time.monotonic()
        try:
            if not self._session.flush(timeout):
                self._say_unfinished(time.monotonic() - began)
        finally:
            ended = time.time()
            self._row.update(status=status, ended=ended)
            lifecycle._forget(self)
            self._session.store.write("update", "tasks", self.id, {"status": status, "ended": ended})
            # The status update gets at least a second even when the uploads used the whole limit.
            self._session.store.barrier(max(1.0, timeout - (time.monotonic() - began)))
        if self._session.journal.lost:
            lost = self._session.journal.lost
            logger.warning("autolog: %d record(s) could not be journaled in %s (the home is full or not "
                           "writable) and depend on the store alone: %s", len(lost), self._session.journal.root,
                           ", ".join(lost[:10]) + (" ..." if len(lost) > 10 else ""))

    def _say_unfinished(self, waited: float) -> None:
        left = self._session.unfinished()
        if not left:
            return
        logger.warning("autolog: %d upload(s) of task %s not finished after waiting %.1f s; their bytes stay "
                       "staged and their records journaled: run `autolog sync` (or start another task on this "
                       "home) to finish them", left, self.id, waited)

    # -- models -----------------------------------------------------------------------------------------
    @property
    def models(self) -> dict[str, list[Model]]:
        """{"input": [...], "output": [...]}, each in call order."""
        if self._live:
            self._session.recorder.worker.wait()
        store = self._session.store
        outputs = store.call("select", "models", {"task_id": self.id}, order_by=("seq",))
        inputs = store.call("task_inputs", self.id)
        return {"input": [Model._from_row(r) for r in inputs], "output": [Model._from_row(r) for r in outputs]}

    def register_model(self, path: str | os.PathLike, name: str | None = None, framework: str | None = None) -> Model:
        """Register a file or folder as an output snapshot of this task (hash and upload in the background)."""
        from .paths import check_display_name
        from .recording import Target

        if name is not None:
            check_display_name("register_model name", name)  # free text, but no NUL and bounded
        if framework is not None:
            check_display_name("register_model framework", framework)
        full = os.path.abspath(os.fspath(path))
        if not os.path.exists(full):
            raise FileNotFoundError(f"register_model: {full} does not exist")
        return self._record_output(Target(full), framework or "custom", name=name)

    def _ignored(self, path: str) -> bool:
        return any(fnmatch.fnmatch(path, pattern) for pattern in self._ignore)

    def _remote_base(self) -> str | None:
        if not self.output_uri:
            return None
        return join(self.output_uri, safe_segment(self.project), f"{safe_segment(self.name)}.{self.id}")

    def _record_output(self, target: Target, framework: str, name: str | None = None) -> Model | None:
        if self._ignored(target.path):
            return None
        if target.file_object is not None and hasattr(target.file_object, "flush"):
            target.file_object.flush()
        model_id = uuid.uuid4().hex
        seq = next(self._output_seq)
        is_dir = target.files is not None or os.path.isdir(target.path)
        fingerprint = None if is_dir else Fingerprint.of(target.path)
        staged = self._session.staging.stage(model_id, target.path, target.files, copy=target.from_open_file)
        name = name or os.path.basename(target.path.rstrip(os.sep))
        base = self._remote_base()
        dest = join(base, "models", f"{seq}_{safe_segment(name)}") if base else None
        row = {"id": model_id, "task_id": self.id, "seq": seq, "name": name, "framework": framework, "uri": None,
               "local_path": target.path, "size": None, "hash": None, "is_dir": is_dir,
               "members": json.dumps([os.path.basename(f) for f in target.files]) if target.files else None,
               "created": time.time(), "upload_state": "pending", "staging_path": staged, "dest_uri": dest,
               "owner_host": host_name(), "owner_pid": os.getpid()}
        self._session.store.write("insert", "models", row)
        self._session.recorder.snapshot(SnapshotJob("models", model_id, staged, dest, target.path, fingerprint))
        return Model._from_row(row)

    def _record_remote_output(self, uri: str, digest: str, size: int, framework: str) -> Model | None:
        """A snapshot the framework itself wrote to a remote `uri` (Lightning through fsspec): recorded there,
        with the hash of the bytes it wrote; nothing staged, nothing copied."""
        from .remote_models import remote_output_row

        if self._ignored(uri):
            return None
        row = remote_output_row(self, next(self._output_seq), uri, digest, size, framework)
        self._session.store.write("insert", "models", row)
        return Model._from_row(row)

    def _record_input(self, target: Target, framework: str) -> None:
        if self._ignored(target.path):
            return
        fingerprint = None
        if target.files is None and os.path.isfile(target.path):
            fingerprint = Fingerprint.of(target.path)
        self._session.recorder.link(LinkJob(self.id, next(self._input_seq), target.path, target.files, framework,
                                            fingerprint))

    # -- artifacts ---------------------------------------------------------------------------------------
    def upload_artifact(self, name: str, artifact_object: Any, *, metadata: Mapping[str, Any] | None = None,
                        wait: bool = False) -> Artifact:
        """Store a file, folder or Python object under `name` (see the SPEC's table)."""
        from .artifact import upload_artifact

        return upload_artifact(self, name, artifact_object, metadata=metadata, wait=wait)

    @property
    def artifacts(self) -> Mapping[str, Artifact]:
        """Read-only mapping name -> Artifact, in upload order; a re-upload replaces the earlier one."""
        from .artifact import task_artifacts

        if self._live:
            self._session.recorder.worker.wait()
        return MappingProxyType(task_artifacts(self))

    @property
    def input_artifacts(self) -> list[Artifact]:
        """Artifacts of other tasks this task fetched (`get()` / `get_local_copy()`), once each, in fetch order."""
        from .artifact_inputs import input_artifacts

        return input_artifacts(self)

    def refresh(self) -> Task:
        """Re-read this task's fields from the store (status and end time of a task run elsewhere)."""
        row = self._session.store.call("get", "tasks", self.id)
        if row:
            self._row = row
        return self

