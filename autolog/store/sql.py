"""`SqlStore`: every read and write of the metadata store, as plain functions over rows (dicts).

Runs on SQLite (the default, one file in the autolog home) or any SQLAlchemy URL. Several processes
may write the same SQLite file at once (a sweep): a 30 s busy timeout and a retry with backoff on
"database is locked" make sure no row is lost. SQLite runs with a rollback journal, not WAL: WAL maps its
`-shm` file into memory, and a write through that mapping to a file made unwritable mid-run (`chattr +i`,
a full disk) is a SIGBUS that kills the user's process; a rollback journal maps nothing, so the same fault
is an ordinary error. Only the store worker thread calls this class.
"""

from __future__ import annotations

import functools
import os
import random
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError

from ..errors import AutologError, ConfigError, StoreUnavailableError
from ..redact import redact, redact_text
from . import schema

T = TypeVar("T")
Row = dict[str, Any]
TABLES = {t.name: t for t in schema.metadata.sorted_tables}
# An unreachable server is retried this long in all (a restart blip), then StoreUnavailableError: a user's
# `task.models` must fail in seconds, not hang on backoff. PostgreSQL's own connect timeout bounds one try.
UNREACHABLE_RETRY_SECONDS = 3.0
CONNECT_TIMEOUT_SECONDS = 5


def _normalize_url(url: str) -> str:
    """postgresql:// picks psycopg (v3) when psycopg2 is not installed."""
    if url.startswith(("postgresql://", "postgres://")):
        import importlib.util

        if importlib.util.find_spec("psycopg2") is None and importlib.util.find_spec("psycopg") is not None:
            return "postgresql+psycopg://" + url.split("://", 1)[1]
        if url.startswith("postgres://"):
            return "postgresql://" + url.split("://", 1)[1]
    return url


def _retrying(fn: Callable[..., T]) -> Callable[..., T]:
    """Retry transient OperationalErrors (locked SQLite, dropped connection) with jittered backoff."""

    @functools.wraps(fn)
    def run(self: SqlStore, *args: Any, **kwargs: Any) -> T:
        delay = 0.05
        started = time.monotonic()
        for attempt in range(12):
            try:
                result = fn(self, *args, **kwargs)
                self._unreachable_seen = False
                return result
            except OperationalError as exc:
                if _refused(exc):  # wrong password, no such database or role: retrying cannot help
                    raise StoreUnavailableError(_unavailable_message(self.shown_url, exc)) from exc
                if _unreachable(exc) and not self.url.startswith("sqlite"):
                    # Once the server was found unreachable, later operations try once: the queue is FIFO,
                    # and a user's read must not wait behind a retry window per queued write.
                    if (self._unreachable_seen or attempt == 11
                            or time.monotonic() - started >= UNREACHABLE_RETRY_SECONDS):
                        self._unreachable_seen = True
                        raise StoreUnavailableError(_unavailable_message(self.shown_url, exc)) from exc
                elif attempt == 11 or not _transient(exc):
                    raise
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 3.0)
        raise AssertionError("unreachable")

    return run


class SqlStore:
    """The metadata store. Construct with an SQLAlchemy URL; the schema is created or migrated."""

    def __init__(self, url: str) -> None:
        self.url = _normalize_url(url)
        self.shown_url = redact(url)  # for messages: the user's URL, password masked
        self._unreachable_seen = False
        kwargs: dict[str, Any] = {"future": True}
        if self.url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
            if self.url.startswith("postgresql"):
                kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        try:
            self.engine = sa.create_engine(self.url, **kwargs)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise ConfigError(f"tracking URL {redact(url)}: {redact_text(str(exc))}") from None
        if self.url.startswith("sqlite"):
            _create_private(self.engine.url.database)
        if self.url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._migrate()

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> bool:
        """No-op used as a queue barrier: when it runs, every earlier operation has run."""
        return True

    # -- schema ---------------------------------------------------------------------------------------
    @_retrying
    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            schema.metadata.create_all(conn, checkfirst=True)
            row = conn.execute(sa.select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(schema.meta.insert().values(key="schema_version",
                                                                 value=str(schema.SCHEMA_VERSION)))
                except IntegrityError:
                    pass  # another process created it at the same moment
                return
            version = int(row[0])
            if version > schema.SCHEMA_VERSION:
                raise AutologError(f"the store at {self.shown_url} has schema version {version}, newer than this "
                                   f"autolog understands ({schema.SCHEMA_VERSION}); upgrade autolog")
            for target in range(version + 1, schema.SCHEMA_VERSION + 1):
                schema.MIGRATIONS[target](conn)
                conn.execute(schema.meta.update().where(schema.meta.c.key == "schema_version")
                             .values(value=str(target)))

    # -- generic row access ----------------------------------------------------------------------
    @_retrying
    def insert(self, table: str, row: Row) -> None:
        with self.engine.begin() as conn:
            conn.execute(TABLES[table].insert().values(**row))

    @_retrying
    def update(self, table: str, key: str, values: Row) -> int:
        t = TABLES[table]
        with self.engine.begin() as conn:
            return conn.execute(t.update().where(t.c.id == key).values(**values)).rowcount

    @_retrying
    def get(self, table: str, key: str) -> Row | None:
        t = TABLES[table]
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == key)).mappings().first()
        return dict(row) if row else None

    @_retrying
    def select(self, table: str, where: Row | None = None, *, order_by: Iterable[str] = (), desc: bool = False,
               limit: int | None = None, id_prefix: str | None = None) -> list[Row]:
        t = TABLES[table]
        query = sa.select(t)
        for column, value in (where or {}).items():
            if value is None:
                continue
            query = query.where(t.c[column].in_(value) if isinstance(value, (list, tuple, set)) else
                                t.c[column] == value)
        if id_prefix:
            query = query.where(t.c.id.like(id_prefix.replace("%", "").replace("_", r"\_") + "%", escape="\\"))
        for column in order_by:
            query = query.order_by(t.c[column].desc() if desc else t.c[column])
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # -- tasks and lineage ---------------------------------------------------------------------------
    def query_tasks(self, project: str | None, name: str | None, status: str | None, limit: int | None) -> list[Row]:
        return self.select("tasks", {"project": project, "name": name, "status": status},
                           order_by=("started",), desc=True, limit=limit)

    @_retrying
    def query_models(self, project: str | None, task_id: str | None, name: str | None,
                     framework: str | None, limit: int | None = None) -> list[Row]:
        m, t = schema.models, schema.tasks
        query = sa.select(m)
        if project is not None:
            query = query.join(t, t.c.id == m.c.task_id).where(t.c.project == project)
        for column, value in (("task_id", task_id), ("name", name), ("framework", framework)):
            if value is not None:
                query = query.where(m.c[column] == value)
        query = query.order_by(m.c.created.desc(), m.c.seq.desc())
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    @_retrying
    def task_inputs(self, task_id: str) -> list[Row]:
        m, i = schema.models, schema.model_inputs
        query = sa.select(m).join(i, i.c.model_id == m.c.id).where(i.c.task_id == task_id).order_by(i.c.seq)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    @_retrying
    def model_consumers(self, model_id: str) -> list[Row]:
        t, i = schema.tasks, schema.model_inputs
        query = sa.select(t).join(i, i.c.task_id == t.c.id).where(i.c.model_id == model_id).order_by(i.c.created)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    @_retrying
    def link_input(self, task_id: str, model_id: str, seq: int, created: float) -> bool:
        """Link a model as an input of a task; False when it already was (linked once)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(schema.model_inputs.insert().values(task_id=task_id, model_id=model_id, seq=seq,
                                                                 created=created))
            return True
        except IntegrityError:
            return False

    @_retrying
    def import_model(self, row: Row) -> Row:
        """Insert an imported model unless one with the same content exists; return the one that counts."""
        try:
            with self.engine.begin() as conn:
                conn.execute(schema.models.insert().values(**row))
            return row
        except IntegrityError:
            existing = self.select("models", {"import_key": row["import_key"]})
            return existing[0]

    # -- fingerprints (load fast path) ---------------------------------------------------------------------
    def get_fingerprint(self, path: str) -> Row | None:
        rows = self.select("fingerprints", {"path": path})
        return rows[0] if rows else None

    @_retrying
    def put_fingerprint(self, row: Row) -> None:
        f = schema.fingerprints
        with self.engine.begin() as conn:
            if conn.execute(f.update().where(f.c.path == row["path"]).values(**row)).rowcount:
                return
            try:
                with conn.begin_nested():
                    conn.execute(f.insert().values(**row))
            except IntegrityError:
                conn.execute(f.update().where(f.c.path == row["path"]).values(**row))

    # -- task liveness ---------------------------------------------------------------------------------
    @_retrying
    def end_task(self, task_id: str, status: str, ended: float | None) -> bool:
        """End a task that is still running or closing; False when it had already ended."""
        t = schema.tasks
        with self.engine.begin() as conn:
            return conn.execute(t.update().where(t.c.id == task_id, t.c.status.in_(("running", "closing")))
                                .values(status=status, ended=ended)).rowcount == 1

    @_retrying
    def heartbeat(self, task_ids: list[str], now: float) -> None:
        t = schema.tasks
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.id.in_(task_ids), t.c.status == "running").values(heartbeat=now))

    # -- pending uploads ---------------------------------------------------------------------------
    @_retrying
    def claim(self, table: str, key: str, old_host: str | None, old_pid: int | None, host: str, pid: int) -> bool:
        """Take over a pending upload from a dead process; False if someone else took it first."""
        t = TABLES[table]
        with self.engine.begin() as conn:
            result = conn.execute(t.update().where(t.c.id == key, t.c.upload_state.in_(("pending", "failed")),
                                                   t.c.owner_host == old_host, t.c.owner_pid == old_pid)
                                  .values(owner_host=host, owner_pid=pid))
            return result.rowcount == 1

    @_retrying
    def replace_artifact(self, row: Row) -> None:
        """Insert an artifact and mark earlier ones of the same task and name as replaced, atomically."""
        a = schema.artifacts
        with self.engine.begin() as conn:
            conn.execute(a.update().where(a.c.task_id == row["task_id"], a.c.name == row["name"])
                         .values(replaced=True))
            conn.execute(a.insert().values(**row))


def _unreachable(exc: OperationalError) -> bool:
    """The server cannot be reached at all (refused, unknown host, timed out), as opposed to a busy one."""
    text = str(exc.orig if exc.orig is not None else exc).lower()
    return any(words in text for words in (
        "could not connect", "connection refused", "connection failed", "timeout expired", "timed out",
        "could not translate host name", "name or service not known", "no route to host",
        "network is unreachable", "server closed the connection"))


def _refused(exc: OperationalError) -> bool:
    """The server answered but will not open this store for us (credentials, database or role)."""
    text = str(exc.orig if exc.orig is not None else exc).lower()
    return bool(re.search(r'(database|role) "[^"]*" does not exist', text)) or any(words in text for words in (
        "authentication failed", "no password supplied", "pg_hba.conf", "permission denied for database",
        "unable to open database file"))


def _unavailable_message(url: str, exc: OperationalError) -> str:
    reason = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
    first = redact_text(reason[0]) if reason else type(exc).__name__
    return f"cannot reach the metadata store at {url}: {first}"


def _create_private(database: str | None) -> None:
    """Create a new SQLite file as 0600 (SQLite gives its -wal and -shm files the same mode)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:
        pass  # it exists, or SQLite will report why it cannot be opened


def _transient(exc: OperationalError) -> bool:
    """Worth retrying: a locked/busy SQLite file or a dropped connection, not a schema or SQL error."""
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return exc.connection_invalidated or any(word in text for word in (
        "locked", "busy", "could not connect", "connection", "server closed", "timeout", "terminating",
        "already exists"))  # two processes creating the schema at the same moment


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # A database left in WAL mode by an older autolog switches back once no other process has it open.
    cursor.execute("PRAGMA journal_mode=TRUNCATE")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
