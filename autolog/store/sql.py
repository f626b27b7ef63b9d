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
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError

from ..errors import AutologError, ConfigError, StoreUnavailableError
from ..system.redact import redact, redact_text
from . import queries, refs, schema
from .rows import WRITES
from .states import LIVE_TASK_STATUSES, UNSETTLED, TaskStatus, UploadState

T = TypeVar("T")
logger = logging.getLogger("autolog")
MIGRATION_LOCK = 0x6175746F6C6F67  # "autolog": the PostgreSQL advisory lock that serializes schema upgrades
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
    """Retry transient errors with jittered backoff.

    A locked or busy SQLite file is retried a dozen times (seconds). A store that cannot be reached (the
    PostgreSQL server restarts, the network drops) is retried for `UNREACHABLE_RETRY_SECONDS`, then (and at
    once while it is known to be down) raises `StoreUnavailableError` marked `retry_later`: the store worker
    parks such writes, in order, and retries them until `retry_seconds` have passed (`autolog.store.client`), while
    a user's read fails in seconds instead of waiting behind them. One warning when the store goes away and
    one line when it is back. A store that refuses us (credentials, no such database) is not retried.
    """

    @functools.wraps(fn)
    def run(self: SqlStore, *args: Any, **kwargs: Any) -> T:
        delay = 0.05
        attempt = 0
        started = time.monotonic()
        while True:
            try:
                result = fn(self, *args, **kwargs)
            except DBAPIError as exc:
                if _refused(exc):  # wrong password, no such database or role: retrying cannot help
                    raise StoreUnavailableError(_unavailable_message(self.shown_url, exc)) from exc
                kind = _transient(exc)
                if kind is None:
                    raise
                attempt += 1
                self._retried = True
                if kind == "unreachable":
                    self._went_away(exc, fn.__name__ in WRITES)
                    if self._unreachable_seen or time.monotonic() - started >= UNREACHABLE_RETRY_SECONDS:
                        self._unreachable_seen = True
                        error = StoreUnavailableError(_unavailable_message(self.shown_url, exc))
                        error.retry_later = True  # type: ignore[attr-defined]
                        raise error from exc
                elif attempt >= 12:
                    raise
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 3.0)
            else:
                if self._unreachable_since is not None:
                    self._came_back()
                self._unreachable_seen = False
                self._retried = False
                return result

    return run


class SqlStore:
    """The metadata store. Construct with an SQLAlchemy URL; the schema is created or migrated."""

    def __init__(self, url: str, *, retry_seconds: float | None = None) -> None:
        self.given_url = url
        self.url = _normalize_url(url)
        self.shown_url = redact(url)  # for messages: the user's URL, password masked
        self._unreachable_seen = False
        self.retry_seconds = (
            retry_seconds
            if retry_seconds is not None
            else float(os.environ.get("AUTOLOG_STORE_RETRY_SECONDS", "") or 900)
        )
        self._unreachable_since: float | None = None
        self.records_waited = False  # set by the store worker when writes wait for this server to come back
        self._retried = False
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

    # -- reachability ---------------------------------------------------------------------------------
    def _went_away(self, exc: BaseException, writing: bool) -> None:
        """Note when the server became unreachable, and warn once when a record has to wait for it (a read
        that fails says so itself, in one line: the CLI prints nothing else)."""
        if self._unreachable_since is None:
            self._unreachable_since = time.monotonic()
        if writing and not self.records_waited:
            self.records_waited = True
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
            logger.warning(
                "autolog: the metadata store at %s is unreachable (%s); records are kept in this "
                "process (and its journal) and written when it is back (retrying for up to %.0f s)",
                self.shown_url,
                redact_text(reason),
                self.retry_seconds,
            )

    def _came_back(self) -> None:
        down = time.monotonic() - (self._unreachable_since or time.monotonic())
        self._unreachable_since = None
        if self.records_waited:
            self.records_waited = False
            logger.warning(
                "autolog: the metadata store at %s is reachable again after %.0f s; queued records written",
                self.shown_url,
                down,
            )

    # -- schema ---------------------------------------------------------------------------------------
    @_retrying
    def _migrate(self) -> None:
        """Create or upgrade the schema, one process at a time (two upgrading at once must not corrupt it).

        PostgreSQL: a transaction-scoped advisory lock. SQLite: `BEGIN IMMEDIATE` takes the write lock before
        the version is read (DDL is transactional in both), so the second process sees the upgraded store."""
        if self._up_to_date():
            return
        dialect = self.engine.dialect.name
        with self.engine.connect() as conn:
            if dialect == "sqlite":
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")  # we issue BEGIN/COMMIT ourselves
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    self._migrate_locked(conn)
                except BaseException:
                    conn.exec_driver_sql("ROLLBACK")
                    raise
                conn.exec_driver_sql("COMMIT")
                return
            with conn.begin():
                if dialect == "postgresql":
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
                self._migrate_locked(conn)

    def _up_to_date(self) -> bool:
        """The common case, checked without any lock: the store exists at this schema version."""
        try:
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")).first()
        except DBAPIError as exc:
            if _transient(exc) == "unreachable":
                raise
            return False  # no table yet
        return row is not None and row[0] == str(schema.SCHEMA_VERSION)

    def _migrate_locked(self, conn: sa.Connection) -> None:
        schema.metadata.create_all(conn, checkfirst=True)
        row = conn.execute(sa.select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")).first()
        if row is None:  # a new store: create_all made the current schema
            conn.execute(schema.meta.insert().values(key="schema_version", value=str(schema.SCHEMA_VERSION)))
            return
        version = int(row[0])
        if version > schema.SCHEMA_VERSION:
            raise AutologError(
                f"the store at {self.shown_url} has schema version {version}, newer than this "
                f"autolog understands ({schema.SCHEMA_VERSION}); upgrade autolog"
            )
        for target in range(version + 1, schema.SCHEMA_VERSION + 1):
            schema.MIGRATIONS[target](conn)
            conn.execute(schema.meta.update().where(schema.meta.c.key == "schema_version").values(value=str(target)))

    # -- generic row access ----------------------------------------------------------------------
    @_retrying
    def insert(self, table: str, row: Row) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(TABLES[table].insert().values(**row))
        except IntegrityError:
            if not self._already_written(table, row):
                raise

    def _already_written(self, table: str, row: Row) -> bool:
        """After a lost connection, a retried insert may find its own row: the first try committed."""
        return self._retried and "id" in row and self.get(table, row["id"]) is not None

    @_retrying
    def update(self, table: str, key: str, values: Row) -> int:
        t = TABLES[table]
        with self.engine.begin() as conn:
            return conn.execute(t.update().where(t.c.id == key).values(**values)).rowcount

    @_retrying
    def settle(self, table: str, key: str, values: Row) -> bool | None:
        """Write a snapshot's or artifact's final upload state, only over `pending` or `failed` (one conditional
        UPDATE): True when written; False when the row had left those states (another process settled it);
        None when the row is not in the store."""
        t = TABLES[table]
        with self.engine.begin() as conn:
            if conn.execute(t.update().where(t.c.id == key, t.c.upload_state.in_(UNSETTLED)).values(**values)).rowcount:
                return True
            return None if conn.execute(sa.select(t.c.id).where(t.c.id == key)).first() is None else False

    @_retrying
    def get(self, table: str, key: str) -> Row | None:
        t = TABLES[table]
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == key)).mappings().first()
        return dict(row) if row else None

    @_retrying
    def select(
        self,
        table: str,
        where: Row | None = None,
        *,
        order_by: Iterable[str] = (),
        desc: bool = False,
        limit: int | None = None,
        id_prefix: str | None = None,
        offset: int = 0,
    ) -> list[Row]:
        t = TABLES[table]
        query = sa.select(t)
        for column, value in (where or {}).items():
            if value is None:
                continue
            query = query.where(
                t.c[column].in_(value) if isinstance(value, (list, tuple, set)) else t.c[column] == value
            )
        if id_prefix:
            query = query.where(*queries.prefix_conditions(t.c.id, id_prefix))
        for column in order_by:
            query = query.order_by(t.c[column].desc() if desc else t.c[column])
        return self._rows(query, limit, offset)

    def _rows(self, query: sa.Select[Any], limit: int | None = None, offset: int = 0) -> list[Row]:
        """The query's rows as dicts, after the page (`limit`, `offset`) is applied in the database."""
        if (limit is not None and limit < 0) or offset < 0:
            raise ValueError(f"limit and offset must not be negative (got limit={limit}, offset={offset})")
        if limit:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # -- tasks and lineage ---------------------------------------------------------------------------
    @_retrying
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
        """Tasks newest first; filters, order and page run in the database (see `queries.tasks`). With tags,
        candidates are checked exactly here, fetching further pages until `limit` rows pass."""
        wanted = list(dict.fromkeys(tags or ()))
        query = queries.tasks(project, name, status, wanted)
        if not wanted:
            return self._rows(query, limit, offset)
        found: list[Row] = []
        skip, chunk, position = offset, max(limit or 0, 100), 0
        while True:
            rows = self._rows(query, chunk, position)
            position += len(rows)
            for row in rows:
                if queries.has_tags(row, wanted):
                    if skip:
                        skip -= 1
                        continue
                    found.append(row)
                    if limit and len(found) >= limit:
                        return found
            if len(rows) < chunk:
                return found

    @_retrying
    def query_models(
        self,
        project: str | None,
        task_id: str | None,
        name: str | None,
        framework: str | None,
        limit: int | None = None,
        *,
        offset: int = 0,
    ) -> list[Row]:
        """Models newest first; filters, order and page run in the database (see `queries.models`)."""
        return self._rows(queries.models(project, task_id, name, framework), limit, offset)

    @_retrying
    def task_inputs(self, task_id: str) -> list[Row]:
        m, i = schema.models, schema.model_inputs
        return self._rows(sa.select(m).join(i, i.c.model_id == m.c.id).where(i.c.task_id == task_id).order_by(i.c.seq))

    @_retrying
    def lineage(self, task_id: str, max_tasks: int = 10_000) -> dict[str, Any]:
        """A task and its whole ancestry in one call (see `queries.lineage`)."""
        with self.engine.connect() as conn:
            return queries.lineage(conn, task_id, max_tasks)

    @_retrying
    def model_consumers(self, model_id: str) -> list[Row]:
        t, i = schema.tasks, schema.model_inputs
        return self._rows(
            sa.select(t).join(i, i.c.task_id == t.c.id).where(i.c.model_id == model_id).order_by(i.c.created)
        )

    @_retrying
    def link_input(self, task_id: str, model_id: str, seq: int, created: float) -> bool:
        """Link a model as an input of a task; False when it already was (linked once)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    schema.model_inputs.insert().values(task_id=task_id, model_id=model_id, seq=seq, created=created)
                )
            return True
        except IntegrityError:
            return False

    @_retrying
    def link_artifact_input(self, task_id: str, artifact_id: str, seq: int, created: float) -> bool:
        """Link an artifact as an input of a task; False when it already was (linked once)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    schema.artifact_inputs.insert().values(
                        task_id=task_id, artifact_id=artifact_id, seq=seq, created=created
                    )
                )
            return True
        except IntegrityError:
            return False

    @_retrying
    def task_artifact_inputs(self, task_id: str) -> list[Row]:
        """The artifacts a task fetched from other tasks, in fetch order."""
        a, i = schema.artifacts, schema.artifact_inputs
        query = (
            sa.select(a).join(i, i.c.artifact_id == a.c.id).where(i.c.task_id == task_id).order_by(i.c.seq, i.c.created)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    @_retrying
    def artifact_consumers(self, artifact_id: str) -> list[Row]:
        """The tasks that fetched an artifact, in the order they first did."""
        t, i = schema.tasks, schema.artifact_inputs
        query = sa.select(t).join(i, i.c.task_id == t.c.id).where(i.c.artifact_id == artifact_id).order_by(i.c.created)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

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

    # -- stored objects, pruning and aliases (`autolog.store.refs`, one transaction each) -------------------
    @_retrying
    def refs_read(self, name: str, *args: Any) -> Any:
        return refs.READS[name](self.engine, *args)

    @_retrying
    def refs_write(self, name: str, *args: Any) -> Any:
        return refs.WRITES[name](self.engine, *args)

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
            return (
                conn.execute(
                    t.update()
                    .where(t.c.id == task_id, t.c.status.in_(LIVE_TASK_STATUSES))
                    .values(status=status, ended=ended)
                ).rowcount
                == 1
            )

    @_retrying
    def heartbeat(self, task_ids: list[str], now: float) -> None:
        t = schema.tasks
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.id.in_(task_ids), t.c.status == TaskStatus.RUNNING).values(heartbeat=now))

    # -- pending uploads ---------------------------------------------------------------------------
    @_retrying
    def claim(self, table: str, key: str, old_host: str | None, old_pid: int | None, host: str, pid: int) -> bool:
        """Take over a pending or failed upload from its owner (a dead process, or one that gave it up), and make it
        `pending` again, in one conditional UPDATE: one process owns a row at a time. False if someone else took it
        first."""
        t = TABLES[table]
        with self.engine.begin() as conn:
            result = conn.execute(
                t.update()
                .where(
                    t.c.id == key,
                    t.c.upload_state.in_(UNSETTLED),
                    t.c.owner_host == old_host,
                    t.c.owner_pid == old_pid,
                )
                .values(owner_host=host, owner_pid=pid, upload_state=UploadState.PENDING, error=None)
            )
            return result.rowcount == 1

    @_retrying
    def replace_artifact(self, row: Row) -> None:
        """Insert an artifact and mark earlier ones of the same task and name as replaced, atomically."""
        a = schema.artifacts
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    a.update().where(a.c.task_id == row["task_id"], a.c.name == row["name"]).values(replaced=True)
                )
                conn.execute(a.insert().values(**row))
        except IntegrityError:
            if not self._already_written("artifacts", row):
                raise


def _refused(exc: DBAPIError) -> bool:
    """The server answered but will not open this store for us (credentials, database or role)."""
    text = str(exc.orig if exc.orig is not None else exc).lower()
    return bool(re.search(r'(database|role) "[^"]*" does not exist', text)) or any(
        words in text
        for words in (
            "authentication failed",
            "no password supplied",
            "pg_hba.conf",
            "permission denied for database",
            "unable to open database file",
        )
    )


def _unavailable_message(url: str, exc: DBAPIError) -> str:
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


def _transient(exc: DBAPIError) -> str | None:
    """ "unreachable" (connection refused or dropped), "busy" (a locked SQLite file, a concurrent DDL), or
    None: a schema or SQL error, not worth retrying."""
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    if exc.connection_invalidated or any(
        word in text
        for word in (
            "could not connect",
            "connection refused",
            "connection failed",
            "server closed",
            "terminating",
            "connection is closed",
            "connection to server",
            "the database system is",
            "consuming input failed",
            "network is unreachable",
            "no route to host",
            "timeout expired",
            "timed out",
            "could not translate host name",
            "name or service not known",
        )
    ):
        return "unreachable"
    if not isinstance(exc, sa.exc.OperationalError):
        return None
    if any(word in text for word in ("locked", "busy", "connection", "timeout", "already exists")):
        return "busy"
    return None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # A database left in WAL mode by an older autolog switches back once no other process has it open.
    cursor.execute("PRAGMA journal_mode=TRUNCATE")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
