"""FROZEN: autolog/store/schema.py as of schema version 2 (before storage, issue #19), the fixture the v4 upgrade
test builds a store from. Do not update it.

Tables of the metadata store (SQLAlchemy Core) and their migrations.

Portable types only (strings, integers, floats, booleans, text holding JSON), so the same schema runs on
the default SQLite file and on PostgreSQL. Times are float seconds since the epoch (UTC). Every change
to the schema bumps `SCHEMA_VERSION` and adds one step to `MIGRATIONS`; a store newer than this code is
refused instead of being misread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Connection, Float, Index, Integer, MetaData, String, Table, Text

SCHEMA_VERSION = 2

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
        Column("upload_state", String(16), nullable=False),  # pending | done | failed | lost
        Column("staging_path", Text),
        Column("dest_uri", Text),  # where a pending upload goes; becomes `uri` once durable
        Column("owner_host", String(255)),  # the process that uploads it (`autolog sync` claims it after)
        Column("owner_pid", Integer),
        Column("error", Text),
    ]


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
    Index("ix_models_task_seq", "task_id", "seq"),  # v2: a task's snapshots in call order (`autolog ui`)
    Index("ix_models_created", "created", "seq"),  # v2: `autolog models`, Model.query first page
    Index("ix_models_task_created", "task_id", "created", "seq"),  # v2: a task's models, newest first
    Index("ix_models_name_created", "name", "created"),  # v2: Model.query(name=...)
    Index("ix_models_upload_state", "upload_state"),  # v2: sync finds pending rows among millions
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


# version reached -> step that brings a store of the previous version to it
MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _to_v2}
