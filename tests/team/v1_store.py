"""A store exactly as autolog's first release (schema version 1) wrote it: the v1 tables, frozen here.

Do not "update" these definitions: they are the fixture the migration tests upgrade from. Run as a script
to make one by hand: `python tests/team/v1_store.py URL`.
"""

from __future__ import annotations

import json
import sys

import sqlalchemy as sa
from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

sa_meta = Table(
    "autolog_meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text, nullable=False)
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("project", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("output_uri", Text),
    Column("tags", Text, nullable=False, default="[]"),
    Column("started", Float, nullable=False),
    Column("ended", Float),
    Column("host", String(255)),
    Column("user", String(255)),
    Column("pid", Integer),
    Column("python", String(64)),
    Column("argv", Text),
    Column("cwd", Text),
    Column("git_commit", String(64)),
    Column("git_dirty", Boolean),
    Index("ix_tasks_project_name", "project", "name", "started"),
)

models = Table(
    "models",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("task_id", String(32), index=True),
    Column("seq", Integer, nullable=False, default=0),
    Column("name", Text, nullable=False),
    Column("framework", String(64)),
    Column("uri", Text),
    Column("local_path", Text),
    Column("size", BigInteger),
    Column("hash", String(64), index=True),
    Column("is_dir", Boolean, nullable=False, default=False),
    Column("members", Text),
    Column("created", Float, nullable=False),
    Column("upload_state", String(16), nullable=False),
    Column("staging_path", Text),
    Column("dest_uri", Text),
    Column("owner_host", String(255)),
    Column("owner_pid", Integer),
    Column("error", Text),
    Column("import_key", String(64), unique=True),
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
    Column("metadata", Text, nullable=False, default="{}"),
    Column("created", Float, nullable=False),
    Column("replaced", Boolean, nullable=False, default=False),
    Column("upload_state", String(16), nullable=False),
    Column("staging_path", Text),
    Column("dest_uri", Text),
    Column("owner_host", String(255)),
    Column("owner_pid", Integer),
    Column("error", Text),
    Column("tree_hash", String(64)),
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

PRODUCER, CONSUMER, MODEL, ARTIFACT = "a" * 32, "b" * 32, "c" * 32, "d" * 32
MODEL_HASH = "e" * 64


def build_v1(url: str) -> None:
    """Create the v1 tables at `url` (SQLAlchemy URL) and write one producer, one consumer, one model, the
    link between them and one artifact, the way the first release recorded them."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        metadata.create_all(conn)
        conn.execute(sa_meta.insert().values(key="schema_version", value="1"))
        common = {
            "output_uri": None,
            "ended": 2.0,
            "host": "old-host",
            "user": "u",
            "pid": 1,
            "python": "3.11",
            "argv": "[]",
            "cwd": "/",
            "git_commit": None,
            "git_dirty": None,
        }
        conn.execute(
            tasks.insert(),
            [
                {
                    "id": PRODUCER,
                    "project": "legacy",
                    "name": "train",
                    "status": "completed",
                    "tags": json.dumps(["v1"]),
                    "started": 1.0,
                    **common,
                },
                {
                    "id": CONSUMER,
                    "project": "legacy",
                    "name": "eval",
                    "status": "completed",
                    "tags": "[]",
                    "started": 3.0,
                    **common,
                },
            ],
        )
        conn.execute(
            models.insert().values(
                id=MODEL,
                task_id=PRODUCER,
                seq=0,
                name="ckpt.pt",
                framework="pytorch",
                uri=None,
                local_path="/old/ckpt.pt",
                size=3,
                hash=MODEL_HASH,
                is_dir=False,
                members=None,
                created=1.5,
                upload_state="done",
                staging_path=None,
                dest_uri=None,
                owner_host="old-host",
                owner_pid=1,
                error=None,
                import_key=None,
            )
        )
        conn.execute(model_inputs.insert().values(task_id=CONSUMER, model_id=MODEL, seq=0, created=3.5))
        conn.execute(
            artifacts.insert().values(
                id=ARTIFACT,
                task_id=PRODUCER,
                seq=0,
                name="config",
                type="json",
                file_name="config.json",
                uri="/old/config.json",
                size=2,
                hash="f" * 64,
                metadata="{}",
                created=1.6,
                replaced=False,
                upload_state="done",
                staging_path=None,
                dest_uri=None,
                owner_host="old-host",
                owner_pid=1,
                error=None,
                tree_hash=None,
            )
        )
    engine.dispose()


if __name__ == "__main__":
    build_v1(sys.argv[1])
