"""The store's rows as types, next to `schema.py`: what a row of each table holds, for the code that builds
and reads them. No SQLAlchemy here (it loads only on the store's thread): `tests/core/test_store_rows.py`
checks that each `TypedDict` has exactly its table's columns, so the two cannot drift apart.

`TableName` is every table a store operation may name; `WRITES` the operations that record something.
"""

from __future__ import annotations

from typing import Literal, TypedDict

# The tables the store's generic operations (`get`, `select`, `insert`, `update`, ...) name; the storage tables
# of schema v4 (objects, aliases) are read and written through `autolog.store.refs` instead.
TableName = Literal["tasks", "models", "artifacts", "model_inputs", "artifact_inputs", "fingerprints"]
# Operations that record something (as opposed to reads a caller waits for): retried while the server is
# unreachable, refused at once on a store that is gone.
WRITES = frozenset(
    {
        "insert",
        "update",
        "settle",
        "link_input",
        "import_model",
        "put_fingerprint",
        "claim",
        "replace_artifact",
        "end_task",
        "heartbeat",
        "link_artifact_input",
        "refs_write",
    }
)


class TaskRow(TypedDict, total=False):
    id: str
    project: str
    name: str
    status: str  # states.TaskStatus
    output_uri: str | None
    tags: str  # JSON list
    started: float
    ended: float | None
    host: str | None
    user: str | None
    pid: int | None
    python: str | None
    argv: str | None  # JSON list
    cwd: str | None
    git_commit: str | None
    git_dirty: bool | None
    pid_start: int | None
    heartbeat: float | None
    failure: str | None  # v3: "ExceptionType: message" of the exception that failed the task
    keep: str | None  # v4: the task's retention policy, None: keep everything


class _UploadColumns(TypedDict, total=False):
    upload_state: str  # states.UploadState
    staging_path: str | None
    dest_uri: str | None
    owner_host: str | None
    owner_pid: int | None
    error: str | None


class ModelRow(_UploadColumns, total=False):
    id: str
    task_id: str | None  # None for an imported model
    seq: int
    name: str
    framework: str | None
    uri: str | None
    local_path: str | None
    size: int | None
    hash: str | None
    is_dir: bool
    members: str | None  # JSON list
    created: float
    import_key: str | None
    step: int | None  # v4: what was known at the save
    epoch: float | None
    metrics: str | None  # JSON object
    monitor: str | None
    monitor_mode: str | None
    pruned_at: float | None
    pruned_rule: str | None


class ArtifactRow(_UploadColumns, total=False):
    id: str
    task_id: str
    seq: int
    name: str
    type: str
    file_name: str
    uri: str | None
    size: int | None
    hash: str | None
    metadata: str  # JSON object
    created: float
    replaced: bool
    tree_hash: str | None


class InputRow(TypedDict):
    """A row of `model_inputs` (with `model_id`) or `artifact_inputs` (with `artifact_id`)."""

    task_id: str
    seq: int
    created: float


class FingerprintRow(TypedDict):
    path: str
    size: int
    mtime_ns: int
    inode: int
    hash: str
    updated: float


ROW_TYPES: dict[str, type] = {
    "tasks": TaskRow,
    "models": ModelRow,
    "artifacts": ArtifactRow,
    "fingerprints": FingerprintRow,
}
