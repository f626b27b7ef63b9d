"""`Task`: one run of training code, what it saved and loaded, and its artifacts."""

from __future__ import annotations

import fnmatch
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError
from ..pipeline.recorder import LinkJob, SnapshotJob
from ..storage.fingerprint import Fingerprint
from ..store.states import TaskStatus
from ..system.host import host_name
from ..system.log import logger
from . import current
from .layout import Numbering, model_uri, task_folder
from .model import Model, Models, _when, model_from_row
from .progress import Progress

if TYPE_CHECKING:
    from ..pipeline.session import Session
    from .artifact import Artifact
    from .target import Target

RUNNING, COMPLETED, FAILED, ABORTED = TaskStatus.RUNNING, TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.ABORTED
STATUSES = (RUNNING, COMPLETED, FAILED, ABORTED)


class Task:
    """A run. Created by `autolog.init()`; fetched later with `Task.get_task()` / `Task.query()`."""

    def __init__(
        self, session: Session, row: dict[str, Any], *, live: bool = False, ignore: Iterable[str] = ()
    ) -> None:
        self._session = session
        self._row = row
        self._live = live  # created by this process: it records and can be closed
        self._ignore = tuple(ignore)
        self._lock = threading.RLock()  # reentrant: the SIGTERM handler may close while a save holds it
        self._numbers = Numbering()
        self._fetched_artifacts: set[str] = set()  # other tasks' artifacts fetched here (`artifact_inputs`)
        self.progress = Progress()  # step, epoch, metrics the next saves record (`autolog.log_metrics`, hooks)

    # -- fields ------------------------------------------------------------------------------------
    id = property(lambda self: self._row["id"])
    project = property(lambda self: self._row["project"])
    name = property(lambda self: self._row["name"])
    status = property(lambda self: self._row["status"])
    output_uri = property(lambda self: self._row["output_uri"])
    tags = property(lambda self: tuple(json.loads(self._row["tags"] or "[]")))
    started = property(lambda self: _when(self._row["started"]))
    ended = property(lambda self: _when(self._row["ended"]))
    failure = property(lambda self: self._row.get("failure"))  # "ExceptionType: message" of a failed task

    @property
    def run_info(self) -> dict[str, Any]:
        """Host, user, pid, Python version, command line, working directory, git commit and dirty flag."""
        keys = ("host", "user", "pid", "python", "cwd", "git_commit", "git_dirty")
        info = {k: self._row.get(k) for k in keys}
        info["argv"] = json.loads(self._row["argv"]) if self._row.get("argv") else None
        return info

    @property
    def session(self) -> Session:
        """The session this task records through (store, staging, recorder): for autolog's own modules."""
        return self._session

    def is_live_in_this_process(self) -> bool:
        """Created by `init()` in this very process (not a task fetched by id, nor a forked parent's)."""
        return self._live and self._row.get("pid") == os.getpid()

    def __repr__(self) -> str:
        return f"<Task {self.id} {self.project}/{self.name} {self.status}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Task) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    # -- creation and lookup ---------------------------------------------------------------------------
    @classmethod
    def _create(
        cls,
        session: Session,
        project: str,
        name: str,
        output_uri: str | None,
        tags: tuple[str, ...],
        ignore: tuple[str, ...],
        keep: str | None = None,
    ) -> Task:
        from ..system.liveness import process_start
        from ..system.runinfo import run_info

        started = time.time()
        row = {
            "id": uuid.uuid4().hex,
            "project": project,
            "name": name,
            "status": RUNNING,
            "output_uri": output_uri,
            "tags": json.dumps(list(tags)),
            "started": started,
            "ended": None,
            "git_dirty": None,
            **run_info(),
            "pid_start": process_start(os.getpid()),
            "heartbeat": started,
            "keep": keep,
        }
        session.store.queue_insert("tasks", row)
        task = cls(session, row, live=True, ignore=ignore)
        if keep is not None:
            from ..store.keep import parse

            session.retention.register(str(row["id"]), parse(keep))
        if row["git_commit"]:
            session.recorder.worker.submit(task._record_git_dirty)
        return task

    def _record_git_dirty(self) -> None:
        from ..system.runinfo import git_dirty

        dirty = git_dirty(self._row["cwd"])
        self._row["git_dirty"] = dirty
        self._session.store.queue_update("tasks", self.id, {"git_dirty": dirty})

    @classmethod
    def _from_row(cls, session: Session, row: dict[str, Any]) -> Task:
        return cls(session, row)

    @classmethod
    def get_task(cls, task_id: str | None = None, *, project: str | None = None, task: str | None = None) -> Task:
        """A task by id, or the latest with this project and task name. Unknown -> NotFoundError."""
        from .current import current_task, get_session

        current = current_task()
        if task_id is not None and current is not None and current.id == task_id:
            return current
        session = get_session()
        if task_id is not None:
            row = session.store.get("tasks", task_id)
            if row is None:
                raise NotFoundError(f"no task with id {task_id!r}")
            return cls._from_row(session, row)
        if project is None and task is None:
            raise ValueError("Task.get_task needs a task_id, or project= and/or task=")
        rows = session.store.query_tasks(project, task, None, 1)
        if not rows:
            raise NotFoundError(f"no task with project={project!r} and task={task!r}")
        return cls._from_row(session, rows[0])

    @classmethod
    def query(
        cls,
        project: str | None = None,
        task: str | None = None,
        status: str | None = None,
        tags: Iterable[str] | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Task]:
        """Tasks matching every given field (and having every tag in `tags`), newest first; `limit` and
        `offset` page through them in the database.

        A field left `None` matches anything: `Task.query(project="mnist", status="failed")`,
        `Task.query(tags=["nightly"], limit=20)`. `status` is one of `running`, `completed`, `failed`,
        `aborted` (the process died without closing the task).
        """
        from .current import get_session

        session = get_session()
        rows = session.store.query_tasks(project, task, status, limit, offset=offset, tags=list(tags or ()))
        return [cls._from_row(session, r) for r in rows]

    # -- lifecycle ----------------------------------------------------------------------------------------
    def __enter__(self) -> Task:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close(FAILED if exc_type is not None else COMPLETED, failure=describe_failure(exc))

    def flush(self, wait: bool = True, timeout: float | None = None) -> bool:
        """Wait until every snapshot and artifact recorded so far is hashed and durable. False on timeout."""
        if not wait:
            return self._session.pending() == 0
        return self._session.flush(timeout)

    def close(self, status: str = COMPLETED, *, timeout: float | None = None, failure: str | None = None) -> None:
        """Flush pending uploads (up to `timeout`, default the `upload_timeout` setting), then end the task.

        Always ends it: an error while flushing still records `status` and releases the current task.
        `failure` is why it failed (`describe_failure` of the exception), kept in the task's `failure` column.
        """
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
            values: dict[str, Any] = {"status": status, "ended": ended}
            if failure:
                values["failure"] = failure
            self._row.update(values)
            current.forget(self)
            self._session.store.queue_update("tasks", self.id, values)
            # The status update gets at least a second even when the uploads used the whole limit.
            self._session.store.barrier(max(1.0, timeout - (time.monotonic() - began)))
        if self._session.journal.lost:
            lost = self._session.journal.lost
            logger.warning(
                "autolog: %d record(s) could not be journaled in %s (the home is full or not "
                "writable) and depend on the store alone: %s",
                len(lost),
                self._session.journal.root,
                ", ".join(lost[:10]) + (" ..." if len(lost) > 10 else ""),
            )

    def _say_unfinished(self, waited: float) -> None:
        left = self._session.unfinished()
        if not left:
            return
        logger.warning(
            "autolog: %d upload(s) of task %s not finished after waiting %.1f s; their bytes stay "
            "staged and their records journaled: run `autolog sync` (or start another task on this "
            "home) to finish them",
            left,
            self.id,
            waited,
        )

    # -- models -----------------------------------------------------------------------------------------
    @property
    def keep(self) -> str | None:
        """The task's retention policy (`init(keep=...)` or the configured default), None: every snapshot kept."""
        value = self._row.get("keep")
        return str(value) if value else None

    @property
    def models(self) -> Models:
        """{"input": [...], "output": [...]}, each in call order; `task.models.best("val_loss")` picks by metric."""
        if self._live:
            self._session.recorder.worker.wait()
        store = self._session.store
        outputs = store.select("models", {"task_id": self.id}, order_by=("seq",))
        inputs = store.task_inputs(self.id)
        return Models({"input": [model_from_row(r) for r in inputs], "output": [model_from_row(r) for r in outputs]})

    def register_model(
        self, path: str | os.PathLike[str], name: str | None = None, framework: str | None = None
    ) -> Model | None:
        """Register a file or folder as an output snapshot of this task (hash and upload in the background);
        None when the path matches one of the task's `ignore` patterns (nothing is recorded)."""
        from ..system.paths import check_display_name
        from .target import Target

        if name is not None:
            check_display_name("register_model name", name)  # free text, but no NUL and bounded
        if framework is not None:
            check_display_name("register_model framework", framework)
        full = os.path.abspath(os.fspath(path))
        if not os.path.exists(full):
            raise FileNotFoundError(f"register_model: {full} does not exist")
        return self.record_output(Target(full), framework or "custom", name=name)

    def _ignored(self, path: str) -> bool:
        return any(fnmatch.fnmatch(path, pattern) for pattern in self._ignore)

    def _remote_base(self) -> str | None:
        """This task's folder under its output_uri (`autolog.run.layout`), or None without one."""
        if not self.output_uri:
            return None
        return task_folder(self.output_uri, self.project, self.name, self.id)

    def artifact_folder(self) -> str:
        """Where this task's artifacts go: its output_uri, else the home's local store, with the same layout."""
        return self._remote_base() or task_folder(
            self._session.settings.local_store_uri, self.project, self.name, self.id
        )

    def next_artifact_number(self) -> int:
        """The number of this task's next artifact upload: counted in this process for a live task; a task
        fetched by id continues after what is recorded, never reusing a stored name."""
        if self._live:
            return next(self._numbers.artifacts)
        rows = self._session.store.select("artifacts", {"task_id": self.id}, order_by=("seq",), desc=True, limit=1)
        return (rows[0]["seq"] + 1) if rows else 1

    def mark_artifact_fetched(self, artifact_id: str) -> int | None:
        """Note that this task fetched another task's artifact (`autolog.run.artifact_inputs`): its number among
        the artifacts this task fetched, in fetch order, or None when it was fetched here before."""
        with self._lock:
            if artifact_id in self._fetched_artifacts:
                return None
            self._fetched_artifacts.add(artifact_id)
            return len(self._fetched_artifacts)

    # -- what hooks record (through `autolog.capture.recording`): the run's whole surface towards them --------------
    def protect(self, target: Target) -> None:
        """Before a save over `target`: keep an earlier snapshot there that still waits for its upload intact."""
        if not target.from_open_file:
            self._session.staging.protect(target.path, target.files)

    def record_output(self, target: Target, framework: str, name: str | None = None) -> Model | None:
        """A framework saved `target`: one output snapshot (staged now, hashed and copied in the background).
        A save into an fsspec transaction is named and recorded after its final path."""
        if target.final_path is None or name is not None:
            return self._record_output(target, framework, name)
        model = self._record_output(target, framework, os.path.basename(target.final_path))
        if model is not None:
            self._session.store.queue_update("models", model.id, {"local_path": target.final_path})
        return model

    def record_input(self, target: Target, framework: str) -> None:
        """A framework loaded `target`: link the model with those bytes as an input (in the background)."""
        self._record_input(target, framework)

    def record_remote_output(self, uri: str, digest: str, size: int, framework: str) -> Model | None:
        """A framework wrote `uri` itself (see `_record_remote_output`)."""
        return self._record_remote_output(uri, digest, size, framework)

    def record_remote_folder_output(self, uri: str, framework: str) -> None:
        """Several processes wrote the folder `uri` themselves (DCP to `s3://`): one snapshot recorded there, its
        hash read back in the background (`remote_models.record_remote_folder_output`), nothing copied."""
        from .remote_models import record_remote_folder_output

        if not self._ignored(uri):
            record_remote_folder_output(self, next(self._numbers.outputs), uri, framework)

    def record_remote_input(self, uri: str, framework: str) -> None:
        """A framework read `uri` itself: link the newest snapshot recorded there, in call order."""
        from .remote_models import link_remote_input

        link_remote_input(self._session, self.id, next(self._numbers.inputs), uri)

    def _record_output(self, target: Target, framework: str, name: str | None = None) -> Model | None:
        if self._ignored(target.path):
            return None
        if target.file_object is not None and hasattr(target.file_object, "flush"):
            target.file_object.flush()
        model_id = uuid.uuid4().hex
        seq = next(self._numbers.outputs)
        is_dir = target.files is not None or os.path.isdir(target.path)
        fingerprint = None if is_dir else Fingerprint.of(target.path)
        copy = target.from_open_file or target.single_link
        staged = self._session.staging.stage(model_id, target.path, target.files, copy=copy)
        name = name or os.path.basename(target.path.rstrip(os.sep))
        base = self._remote_base()
        dest = model_uri(base, seq, name) if base else None
        row = {
            "id": model_id,
            "task_id": self.id,
            "seq": seq,
            "name": name,
            "framework": framework,
            "uri": None,
            "local_path": target.path,
            "size": None,
            "hash": None,
            "is_dir": is_dir,
            "members": json.dumps([os.path.basename(f) for f in target.files]) if target.files else None,
            "created": time.time(),
            "upload_state": "pending",
            "staging_path": staged,
            "dest_uri": dest,
            "owner_host": host_name(),
            "owner_pid": os.getpid(),
            **self._progress_columns(),
        }
        self._session.store.queue_insert("models", row)
        moved = None if fingerprint is None else self._on_moved(model_id, seq, base)
        self._session.recorder.snapshot(
            SnapshotJob("models", model_id, staged, dest, target.path, fingerprint, on_moved=moved)
        )
        return model_from_row(row)

    def _on_moved(self, model_id: str, seq: int, base: str | None) -> Callable[[str], str | None]:
        """For a file renamed or replaced into place right after its save (timm's `tmp.pth.tar` ->
        `checkpoint-3.pth.tar`): name the snapshot after its final path, and store it under that name."""

        def moved(path: str) -> str | None:
            name = os.path.basename(path)
            dest = model_uri(base, seq, name) if base else None
            self._session.store.queue_update("models", model_id, {"name": name, "local_path": path, "dest_uri": dest})
            return dest

        return moved

    def _progress_columns(self) -> dict[str, Any]:
        """Step, epoch, metrics of a snapshot saved now; the monitored metric falls back to the policy's best=."""
        columns = self.progress.columns()
        if columns["monitor"] is None and self.keep:
            from ..store.keep import parse

            policy = parse(self.keep)
            if policy is not None and policy.metric:
                columns.update(monitor=policy.metric, monitor_mode=policy.mode)
        return columns

    def _record_remote_output(self, uri: str, digest: str, size: int, framework: str) -> Model | None:
        """A snapshot the framework itself wrote to a remote `uri` (Lightning through fsspec): recorded there,
        with the hash of the bytes it wrote; nothing staged, nothing copied."""
        from .remote_models import remote_output_row

        if self._ignored(uri):
            return None
        row = remote_output_row(self, next(self._numbers.outputs), uri, digest, size, framework)
        row.update(self._progress_columns())
        self._session.store.queue_insert("models", row)
        return model_from_row(row)

    def _record_input(self, target: Target, framework: str) -> None:
        if self._ignored(target.path):
            return
        fingerprint = None
        if target.files is None and os.path.isfile(target.path):
            fingerprint = Fingerprint.of(target.path)
        # Hard-linked now (O(1)), hashed later: the user may delete or rewrite the file as soon as we return.
        frozen = None if target.single_link else self._session.staging.freeze(target.path, target.files)
        self._session.recorder.link(
            LinkJob(self.id, next(self._numbers.inputs), target.path, target.files, framework, fingerprint, frozen)
        )

    # -- artifacts ---------------------------------------------------------------------------------------
    def upload_artifact(
        self, name: str, artifact_object: Any, *, metadata: Mapping[str, Any] | None = None, wait: bool = False
    ) -> Artifact:
        """Store a file, folder or Python object under `name`, copied to `output_uri` (or, for a task without
        one, to the local default store under the autolog home).

        ============================  ===============================  ==================================
        object                        stored as                        `Artifact.get()` returns
        ============================  ===============================  ==================================
        path to a file (str or path)  the file                         its local path (str)
        path to a folder              one `.zip` of it                 the extracted folder's local path
        `numpy.ndarray`               `.npz`                           the array
        `pandas.DataFrame`            `.csv.gz`                        the DataFrame
        `PIL.Image.Image`             `.jpg` (`.png` with alpha)       the image
        JSON-able `dict` / `list`     `.json`                          the object
        anything else                 pickle                           the object (if `allow_pickle`)
        ============================  ===============================  ==================================

        The same name again replaces the earlier artifact in `task.artifacts`. `metadata`: JSON-able keys of
        the user's, kept with the artifact. `wait=True` returns once the copy is stored. A missing path is a
        `FileNotFoundError`, an object that cannot be serialized a `TypeError`; either way nothing is recorded.
        """
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
        from .artifact import artifact_from_row

        return [artifact_from_row(row) for row in self._session.store.task_artifact_inputs(self.id)]

    def refresh(self) -> Task:
        """Re-read this task's fields from the store (status and end time of a task run elsewhere)."""
        row = self._session.store.get("tasks", self.id)
        if row:
            self._row = row
        return self


FAILURE_CHARS = 2000


def describe_failure(exc: BaseException | None) -> str | None:
    """What a failed task records: the exception's type and message, one bounded string, credentials masked.
    Never the traceback (its frames hold locals, and those may hold data or secrets)."""
    if exc is None:
        return None
    from ..system.redact import redact_text

    kind = type(exc)
    name = (
        kind.__qualname__ if kind.__module__ in ("builtins", "__main__") else f"{kind.__module__}.{kind.__qualname__}"
    )
    try:
        message = str(exc).strip()
    except Exception:  # noqa: BLE001 - a broken __str__ must not stop the task from ending
        message = ""
    text = redact_text(f"{name}: {message}" if message else name)
    return text if len(text) <= FAILURE_CHARS else text[: FAILURE_CHARS - 1] + "…"


def new_task(
    session: Session,
    project: str,
    name: str,
    output_uri: str | None,
    tags: tuple[str, ...],
    ignore: tuple[str, ...],
    keep: str | None = None,
) -> Task:
    """Record a new running task created by this process (`autolog.init`); `keep`: its policy's canonical text."""
    return Task._create(session, project, name, output_uri, tags, ignore, keep)


class _FollowerTask(Task):
    """A task that opens no session until asked for one: on a rank other than 0, `init` starts no store
    connection, heartbeat or staging (nothing there records), so no rank pays for autolog's threads."""

    @property
    def _session(self) -> Session:
        from .current import get_session

        return get_session()

    @_session.setter
    def _session(self, value: Session | None) -> None:
        pass

    def record_output(self, target: Target, framework: str, name: str | None = None) -> Model | None:
        """Nothing: the job's snapshots are rank 0's (`register_model` on this rank returns None too)."""
        return None


def follower_task(project: str, name: str, output_uri: str | None, tags: tuple[str, ...]) -> Task:
    """What `init` returns on a distributed rank other than 0: the job's one task is rank 0's, so this one is
    never stored and records nothing (its `models` and `artifacts` are empty); it only answers its fields."""
    row = {
        "id": uuid.uuid4().hex,
        "project": project,
        "name": name,
        "status": RUNNING,
        "output_uri": output_uri,
        "tags": json.dumps(list(tags)),
        "started": time.time(),
        "ended": None,
    }
    return _FollowerTask(None, row)  # type: ignore[arg-type]


def find_artifact(task_id: str, name: str) -> Artifact:
    """The artifact `name` of task `task_id` (for `autolog get`); unknown -> `NotFoundError` listing the names."""
    artifacts = Task.get_task(task_id).artifacts
    if name not in artifacts:
        known = ", ".join(repr(n) for n in artifacts) or "none"
        raise NotFoundError(f"task {task_id} has no artifact {name!r} (it has: {known})")
    return artifacts[name]
