"""Tables of the metadata store (SQLAlchemy Core) and their migrations.

Portable types only (strings, integers, floats, booleans, text holding JSON), so the same schema runs on
the default SQLite file and on PostgreSQL. Times are float seconds since the epoch (UTC). Every change
to the schema bumps `SCHEMA_VERSION` and adds one step to `MIGRATIONS`; a store newer than this code is
refused instead of being misread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Connection, Float, Index, Integer, MetaData, String, Table, Text

SCHEMA_VERSION = 4

metadata = MetaData()

meta = Table(
    "autolog_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("project", Text, nullable=False),  # names are free text: TEXT on every backend (schema v2)
    Column("name", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("output_uri", Text),
    Column("tags", Text, nullable=False, default="[]"),  # JSON list
    Column("started", Float, nullable=False),
    Column("ended", Float),
    Column("host", String(255)),
    Column("user", String(255)),
    Column("pid", Integer),
    Column("python", String(64)),
    Column("argv", Text),  # JSON list
    Column("cwd", Text),
    Column("git_commit", String(64)),
    Column("git_dirty", Boolean),
    Column("pid_start", BigInteger),  # start time of `pid` (clock ticks since boot): tells a reused pid apart
    Column("heartbeat", Float),  # refreshed by the owner's store thread while it runs
    Column("failure", Text),  # v3: "ExceptionType: message" of the exception that failed the task
    Column("keep", Text),  # v4: the task's retention policy (`autolog.store.keep`), NULL: keep everything
    Index("ix_tasks_project_name", "project", "name", "started"),
    # v2: newest-first listings (the CLI, the `autolog ui` task table) page through an index, overall,
    # per project and per status
    Index("ix_tasks_started", "started"),
    Index("ix_tasks_project_started", "project", "started"),
    Index("ix_tasks_status_started", "status", "started"),
)


def _upload_columns() -> list[Column[Any]]:
    """The upload-state columns models and artifacts share (new Column objects for each table)."""
    return [
        Column("upload_state", String(16), nullable=False),  # states.UploadState (pruned: models, v4)
        Column("staging_path", Text),
        Column("dest_uri", Text),  # where a pending upload goes; becomes `uri` once durable
        Column("owner_host", String(255)),  # the process that uploads it (`autolog sync` claims it after)
        Column("owner_pid", Integer),
        Column("error", Text),
    ]


def _v4_model_columns() -> list[Column[Any]]:
    """v4: what was known when a snapshot was saved, and why its bytes were freed (`docs/storage.md`)."""
    return [
        Column("step", BigInteger),  # global step at the save (framework, or `autolog.log_metrics(step=...)`)
        Column("epoch", Float),
        Column("metrics", Text),  # JSON object name -> number, the latest values at the save
        Column("monitor", Text),  # the metric the framework (or the policy) optimizes, e.g. "val_loss"
        Column("monitor_mode", String(8)),  # "min" | "max"
        Column("pruned_at", Float),
        Column("pruned_rule", Text),  # the retention rule that pruned it (upload_state 'pruned')
    ]


_V4_MODEL_COLUMNS = (
    ("step", "BIGINT"),
    ("epoch", "FLOAT"),
    ("metrics", "TEXT"),
    ("monitor", "TEXT"),
    ("monitor_mode", "VARCHAR(8)"),
    ("pruned_at", "FLOAT"),
    ("pruned_rule", "TEXT"),
)


models = Table(
    "models",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("task_id", String(32), index=True),  # producer; NULL for an imported model
    Column("seq", Integer, nullable=False, default=0),  # call order within the producing task
    Column("name", Text, nullable=False),
    Column("framework", Text),  # free text from register_model(framework=...) (schema v2)
    Column("uri", Text),
    Column("local_path", Text),
    Column("size", BigInteger),
    Column("hash", String(64), index=True),
    Column("is_dir", Boolean, nullable=False, default=False),
    Column("members", Text),  # JSON list of file names, for a multi-file checkpoint named by a prefix
    Column("created", Float, nullable=False),
    *_upload_columns(),
    Column("import_key", String(64), unique=True),  # = hash for imported models: one per content
    *_v4_model_columns(),
    Index("ix_models_task_seq", "task_id", "seq"),  # v2: a task's snapshots in call order (`autolog ui`)
    Index("ix_models_created", "created", "seq"),  # v2: `autolog models`, Model.query first page
    Index("ix_models_task_created", "task_id", "created", "seq"),  # v2: a task's models, newest first
    Index("ix_models_name_created", "name", "created"),  # v2: Model.query(name=...)
    Index("ix_models_upload_state", "upload_state"),  # v2: sync finds pending rows among millions
    Index("ix_models_size", "size", "id"),  # v3: `autolog ui`'s models view sorted by size, paged by keyset
)

model_inputs = Table(
    "model_inputs",
    metadata,
    Column("task_id", String(32), primary_key=True),
    Column("model_id", String(32), primary_key=True, index=True),
    Column("seq", Integer, nullable=False),
    Column("created", Float, nullable=False),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("task_id", String(32), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("type", String(16), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("uri", Text),
    Column("size", BigInteger),
    Column("hash", String(64)),
    Column("metadata", Text, nullable=False, default="{}"),  # JSON object
    Column("created", Float, nullable=False),
    Column("replaced", Boolean, nullable=False, default=False),
    *_upload_columns(),
    Column("tree_hash", String(64)),  # folder artifacts: hash of the extracted folder (`hash_members`)
    Index("ix_artifacts_upload_state", "upload_state"),  # v2
    Index("ix_artifacts_hash", "hash"),  # v3: `autolog ui`'s go-to box finds an artifact by hash prefix
)

# Artifacts a task fetched from another task (`Artifact.get_local_copy()` / `.get()`), once each, in fetch
# order: the data end of the genealogy. A new table, so `create_all(checkfirst=True)` makes it on open.
artifact_inputs = Table(
    "artifact_inputs",
    metadata,
    Column("task_id", String(32), primary_key=True),
    Column("artifact_id", String(32), primary_key=True, index=True),
    Column("seq", Integer, nullable=False),
    Column("created", Float, nullable=False),
)

# v4: content-addressed objects of each output store (`autolog.pipeline.dedup`). One row per stored copy
# (`key` is its object name below the root's `.autolog/objects/`); `refs` counts the `model_objects` rows
# that point at it. `state` is `stored`, or `deleting` once a collector took it at refs = 0 (writers never
# reference a `deleting` row, so its bytes can go; a collector killed mid-way leaves it for the next one).
objects = Table(
    "objects",
    metadata,
    Column("root", Text, primary_key=True),  # the output_uri root (protocol and bucket/folder)
    Column("key", String(128), primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("size", BigInteger),
    Column("refs", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created", Float, nullable=False),
    Index("ix_objects_root_hash", "root", "hash"),
    Index("ix_objects_refs", "refs", "state"),
)

# v4: which stored objects a snapshot points at: a file snapshot one (member ""), a folder snapshot its
# manifest (member "") and one per file. A row counts once in `objects.refs` until the snapshot is pruned.
model_objects = Table(
    "model_objects",
    metadata,
    Column("model_id", String(32), primary_key=True),
    Column("member", Text, primary_key=True),
    Column("root", Text, nullable=False),
    Column("key", String(128), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_model_objects_key", "root", "key"),
)

# v4: user aliases (`production`, `candidate`), unique per project and movable; `alias_log` keeps every move.
aliases = Table(
    "aliases",
    metadata,
    Column("project", Text, primary_key=True),
    Column("alias", String(255), primary_key=True),
    Column("model_id", String(32), nullable=False, index=True),
    Column("set_by", Text),
    Column("set_at", Float, nullable=False),
)

alias_log = Table(
    "alias_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", Text, nullable=False),
    Column("alias", String(255), nullable=False),
    Column("model_id", String(32)),  # NULL: removed
    Column("set_by", Text),
    Column("set_at", Float, nullable=False),
)

fingerprints = Table(
    "fingerprints",
    metadata,
    Column("path", String(1024), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("inode", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("updated", Float, nullable=False),
)


def _v2_indexes(conn: Connection) -> None:
    """v2: the indexes that keep listings, filters, the `autolog ui` pages and sync fast at millions of rows."""
    from sqlalchemy.schema import CreateIndex

    for table in (tasks, models, artifacts):
        for index in table.indexes:
            if index.name in _V2_INDEXES:
                conn.execute(CreateIndex(index, if_not_exists=True))


_V2_INDEXES = frozenset(
    {
        "ix_tasks_started",
        "ix_tasks_project_started",
        "ix_tasks_status_started",
        "ix_models_task_seq",
        "ix_models_created",
        "ix_models_task_created",
        "ix_models_name_created",
        "ix_models_upload_state",
        "ix_artifacts_upload_state",
    }
)


# Columns that hold user-given names and became TEXT in schema v2 (a 300-character project name made
# PostgreSQL reject the task row, orphaning its models). SQLite never enforced the old lengths.
_TEXT_IN_V2 = (("tasks", "project"), ("tasks", "name"), ("models", "framework"))


def _names_to_text(conn: Connection) -> None:
    from sqlalchemy import text

    if conn.dialect.name == "sqlite":
        return
    for table, column in _TEXT_IN_V2:
        conn.execute(text(f'ALTER TABLE {table} ALTER COLUMN "{column}" TYPE TEXT'))


def _v2_task_liveness(conn: Connection) -> None:
    """tasks.pid_start and tasks.heartbeat, for telling dead runs from live ones (both nullable)."""
    from sqlalchemy import inspect, text

    have = {c["name"] for c in inspect(conn).get_columns("tasks")}
    for name, kind in (("pid_start", "BIGINT"), ("heartbeat", "FLOAT")):
        if name not in have:
            conn.execute(text(f"ALTER TABLE tasks ADD COLUMN {name} {kind}"))


# Schema v2 gathers the steps of one release; each is idempotent, so a store half-upgraded by a crashed
# process upgrades again cleanly.
_V2_STEPS: tuple[Callable[[Connection], None], ...] = (_names_to_text, _v2_task_liveness, _v2_indexes)


def _to_v2(conn: Connection) -> None:
    for step in _V2_STEPS:
        step(conn)


def _to_v3(conn: Connection) -> None:
    """v3 (`autolog ui` second pass): tasks.failure (why a task failed), an index on artifacts.hash (the go-to
    box takes a hash prefix) and one on models (size, id) (the models view sorts by size). Idempotent."""
    from sqlalchemy import inspect, text
    from sqlalchemy.schema import CreateIndex

    if "failure" not in {c["name"] for c in inspect(conn).get_columns("tasks")}:
        conn.execute(text("ALTER TABLE tasks ADD COLUMN failure TEXT"))
    for index in (*artifacts.indexes, *models.indexes):
        if index.name in ("ix_artifacts_hash", "ix_models_size"):
            conn.execute(CreateIndex(index, if_not_exists=True))


def _to_v4(conn: Connection) -> None:
    """v4, storage: models gain step/epoch/metrics/monitor and pruned_at/pruned_rule, tasks their `keep` policy;
    the `objects`, `model_objects`, `aliases` and `alias_log` tables are new (made by `create_all` before the
    steps run). Idempotent, like every step: a store half-upgraded by a crashed process upgrades again."""
    from sqlalchemy import inspect, text

    have = {c["name"] for c in inspect(conn).get_columns("models")}
    for name, kind in _V4_MODEL_COLUMNS:
        if name not in have:
            conn.execute(text(f"ALTER TABLE models ADD COLUMN {name} {kind}"))
    if "keep" not in {c["name"] for c in inspect(conn).get_columns("tasks")}:
        conn.execute(text("ALTER TABLE tasks ADD COLUMN keep TEXT"))


# version reached -> step that brings a store of the previous version to it
MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _to_v2, 3: _to_v3, 4: _to_v4}
