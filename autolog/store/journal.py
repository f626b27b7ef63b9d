"""`Journal`: a save is on disk in the home before it returns, whatever happens to the store afterwards.

The store is written by a background thread (which first imports SQLAlchemy, may wait on a lock, or may
find its file deleted), so a process killed right after a save could leave staged bytes and no row.
Every task and every snapshot or artifact row is therefore also appended, on the caller's thread, to
this process's journal file `{home}/journal/{host}-{pid}-{start}.jsonl`: one `write()` of one JSON line
to a file kept open (microseconds; a file per entry cost far more: docs/performance.md). No fsync: the page
cache outlives a killed process, and a write of a few hundred bytes is never torn by kill -9; a write cut
short by a full disk is truncated away. The row records where its bytes are staged, so it works wherever
staging lives.

Once the store holds a row's final state (a snapshot uploaded or recorded locally, a task ended) the store
thread appends a `forget` line; when nothing is outstanding the file is emptied, and a clean exit removes
it. `autolog sync` and the next `init` on the home `replay` the files of processes that are gone: insert
the rows the store lacks, end their tasks (their last journaled status, else `aborted`), and delete the
file; the normal orphan path then uploads and removes the staged bytes.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from ..system.host import host_name
from ..system.liveness import owner_alive, process_start
from ..system.log import logger
from .states import FINAL_TASK_STATUSES, SETTLED, UNSETTLED, TaskStatus

FINAL_TASK_STATES = FINAL_TASK_STATUSES
ROW_TABLES = ("models", "artifacts")
SUFFIX = ".jsonl"
SETTLED_COLUMNS = ("upload_state", "uri", "hash", "size", "staging_path", "error")  # what a settle may write


class Journal:
    """This process's journal file in one autolog home (opened on first use; a forked child opens its own)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.RLock()  # reentrant: the SIGTERM handler may close while a save holds it
        self._fd: int | None = None
        self._pid: int | None = None
        self.path: Path | None = None
        self._outstanding: set[tuple[str, str]] = set()
        self.lost: list[str] = []  # rows that could not be journaled (home full or unwritable)

    def _file(self) -> int:
        pid = os.getpid()
        if self._fd is None or self._pid != pid:
            self.root.mkdir(parents=True, exist_ok=True)
            self.path = self.root / f"{host_name()}-{pid}-{process_start(pid)}{SUFFIX}"
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self._pid = pid
            self._outstanding = set()
        return self._fd

    def _append(self, record: dict[str, Any], what: str | None) -> bool:
        """Append one line (caller holds the lock); False, and a warning, when the home cannot hold it (`what`
        None: a line the store will have anyway, given up silently)."""
        line = json.dumps(record, default=str, separators=(",", ":")).encode() + b"\n"
        fd = size = None
        try:
            fd = self._file()
            size = os.fstat(fd).st_size
            written = os.write(fd, line)
            if written != len(line):
                os.ftruncate(fd, size)  # never leave half a line for the next one to follow
                raise OSError(28, "No space left on device (short write)")
            return True
        except OSError as exc:
            if fd is not None and size is not None:
                try:
                    os.ftruncate(fd, size)
                except OSError:
                    pass
            if what is None:
                return False
            self.lost.append(what)
            logger.log(
                30 if len(self.lost) == 1 else 10,
                "autolog: could not journal %s in %s (%s); if this "
                "process dies before the store records it, it is lost",
                what,
                self.root,
                exc,
            )
            return False

    # -- the caller's side -----------------------------------------------------------------------------
    def record(self, table: str, row: dict[str, Any]) -> bool:
        """Journal a row as it is inserted."""
        with self._lock:
            ok = self._append({"op": "row", "table": table, "row": row}, f"{table[:-1]} {row['id']}")
            if ok:
                self._outstanding.add((table, row["id"]))
            return ok

    def task_ended(self, task_id: str, values: dict[str, Any]) -> None:
        """Journal a task's final status, for a store that never gets the update."""
        with self._lock:
            if ("tasks", task_id) in self._outstanding:
                self._append({"op": "end", "table": "tasks", "id": task_id, "values": values}, f"task {task_id}")

    def updated(self, table: str, row_id: str, values: dict[str, Any]) -> None:
        """Journal new values of an outstanding snapshot or artifact row (its hash, its final upload state), so
        a store that is down when they are written gets them from the journal, not from a second upload."""
        with self._lock:
            if (table, row_id) in self._outstanding and self._pid == os.getpid():
                self._append({"op": "set", "table": table, "id": row_id, "values": values}, None)

    def forget(self, table: str, row_id: str) -> None:
        """The store holds this row's final state (called on the store thread)."""
        with self._lock:
            if (table, row_id) not in self._outstanding or self._pid != os.getpid() or self._fd is None:
                return
            self._outstanding.discard((table, row_id))
            try:
                if self._outstanding:
                    os.write(self._fd, json.dumps({"op": "forget", "table": table, "id": row_id}).encode() + b"\n")
                else:
                    os.ftruncate(self._fd, 0)  # nothing outstanding: start empty (O_APPEND follows)
            except OSError:
                pass  # a replay checks the store before inserting: an extra line costs nothing

    def close(self) -> None:
        """At session close: remove the file when nothing in it is outstanding."""
        with self._lock:
            if self._fd is None or self._pid != os.getpid():
                return
            os.close(self._fd)
            self._fd = None
            if not self._outstanding and self.path is not None:
                try:
                    os.unlink(self.path)
                except OSError:
                    pass


# -- replay -------------------------------------------------------------------------------------------------
def read(path: Path) -> tuple[dict[str, Any], dict[tuple[str, str], dict[str, Any]]]:
    """(owner, outstanding rows) of one journal file; a line torn by a full disk is skipped."""
    host, pid, start = path.name[: -len(SUFFIX)].rsplit("-", 2)
    owner = {"host": host, "pid": int(pid), "start": None if start == "None" else int(start)}
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for line in path.read_bytes().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("op") == "row":
            rows[(entry["table"], entry["row"]["id"])] = dict(entry["row"])
        elif entry.get("op") in ("end", "set") and (entry["table"], entry["id"]) in rows:
            rows[(entry["table"], entry["id"])].update(entry["values"])
        elif entry.get("op") == "forget":
            rows.pop((entry["table"], entry["id"]), None)
    return owner, rows


def replay(journal: Journal, store: Any) -> int:
    """Put into the store what dead processes journaled and the store lacks; returns rows inserted.

    Runs off the caller's path (the recorder worker at `init`, or `autolog sync`) before the orphan
    uploads are resumed, so those find the replayed rows.
    """
    inserted = 0
    try:
        files = sorted(journal.root.glob(f"*{SUFFIX}"))
    except OSError:
        return 0
    for path in files:
        try:
            owner, rows = read(path)
        except (OSError, ValueError):
            continue
        if owner_alive(owner["host"], owner["pid"], owner["start"]) is not False:
            continue  # its process still runs (or runs on another host): not ours to replay
        ordered = sorted(rows.items(), key=lambda kv: (kv[0][0] != "tasks", kv[1].get("created") or 0))
        for (table, row_id), row in ordered:
            try:
                inserted += _replay_task(store, row) if table == "tasks" else _replay_row(store, table, row)
            except Exception:
                if store.get(table, row_id) is None:
                    raise
                # another process (a sync or an `init` next to this one) replayed the same file first
        path.unlink(missing_ok=True)  # every row is in the store now: the store is the way back
    return inserted


def _replay_task(store: Any, row: dict[str, Any]) -> int:
    """Insert a dead process's task if missing, and end it: its journaled final status, else `aborted`."""
    final = row.get("status") in FINAL_TASK_STATES
    status = row["status"] if final else TaskStatus.ABORTED
    ended = row.get("ended") if final else None
    existing = store.get("tasks", row["id"])
    if existing is None:
        store.insert("tasks", {**row, "status": status, "ended": ended or row.get("heartbeat") or row.get("started")})
        return 1
    if existing["status"] not in FINAL_TASK_STATES:
        store.end_task(row["id"], status, ended or existing.get("heartbeat") or existing.get("started"))
    return 0


def _replay_row(store: Any, table: str, row: dict[str, Any]) -> int:
    """Insert a dead process's row if missing, or give it the final state its process journaled (settled only
    over `pending`/`failed`). A row still unsettled is left to `resume_orphans`, which claims it first: marking it
    `failed` here could overwrite what another sync had just stored."""
    existing = store.get(table, row["id"])
    if existing is not None:
        if row.get("upload_state") in SETTLED and existing["upload_state"] in UNSETTLED:
            store.settle(table, row["id"], {k: v for k, v in row.items() if k in SETTLED_COLUMNS})
        return 0
    if table == "artifacts":
        same_name = store.select("artifacts", {"task_id": row["task_id"], "name": row["name"]})
        if any(r["seq"] > row["seq"] for r in same_name):
            store.insert(table, {**row, "replaced": True})
        else:
            store.replace_artifact(row)
    else:
        store.insert(table, row)
    return 1
