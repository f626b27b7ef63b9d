"""`Journal`: a save is on disk in the home before it returns, whatever happens to the store afterwards.

The store is written by a background thread (which first imports SQLAlchemy, may wait on a lock, or may
find its file deleted), so a process killed right after a save could leave staged bytes and no row.
Every task and every snapshot or artifact row is therefore also written as one small JSON file in
`{home}/journal/` on the caller's thread: one `open` + one `write` (tens of microseconds; no fsync: the
page cache outlives a killed process, and a single `write` of a few hundred bytes is never torn by
kill -9). The entry records the row as inserted, including where its bytes are staged, so it works
wherever staging lives.

An entry is removed once the store holds the row's final state (a snapshot uploaded or recorded
locally, a task ended). `autolog sync` and the next `init` on the home `replay` the entries of
processes that are gone: insert the rows the store lacks, end their tasks, and leave the uploads to the
normal orphan path (which then removes the staged bytes and, through the store, the entry).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .liveness import owner_alive, process_start
from .log import logger

if TYPE_CHECKING:
    from .session import Session

FINAL_TASK_STATES = ("completed", "failed", "aborted")
ROW_TABLES = ("models", "artifacts")


class Journal:
    """The journal folder of one autolog home."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._tasks: dict[str, dict[str, Any]] = {}  # this process's task rows, for the update at close
        self.lost: list[str] = []  # rows that could not be journaled (home full or unwritable)
        self._me = (os.getpid(), process_start(os.getpid()))
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # reported on the first write

    def _path(self, table: str, row_id: str) -> Path:
        return self.root / f"{table}-{row_id}.json"

    def _owner(self) -> dict[str, Any]:
        pid = os.getpid()
        if self._me[0] != pid:  # forked since
            self._me = (pid, process_start(pid))
        import socket

        return {"host": socket.gethostname(), "pid": pid, "start": self._me[1]}

    # -- the caller's side -----------------------------------------------------------------------------
    def record(self, table: str, row: dict[str, Any]) -> bool:
        """Journal a row as it is inserted; False (and a warning) when the home cannot hold it."""
        if table == "tasks":
            with self._lock:
                self._tasks[row["id"]] = dict(row)
        return self._write(table, row["id"], {"table": table, "row": row, "owner": self._owner()})

    def task_ended(self, task_id: str, values: dict[str, Any]) -> None:
        """Rewrite a task's entry with its final status (atomically: the old entry stays until replaced)."""
        with self._lock:
            row = self._tasks.pop(task_id, None)
        if row is None:
            return
        row.update(values)
        self._write("tasks", task_id, {"table": "tasks", "row": row, "owner": self._owner()}, replace=True)

    def _write(self, table: str, row_id: str, payload: dict[str, Any], *, replace: bool = False) -> bool:
        data = json.dumps(payload, default=str).encode()
        path = self._path(table, row_id)
        target = path.with_name(path.name + ".tmp") if replace else path
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                written = os.write(fd, data)
            finally:
                os.close(fd)
            if written != len(data):
                raise OSError(28, "No space left on device (short write)")
            if replace:
                os.replace(target, path)
            return True
        except OSError as exc:
            try:
                os.unlink(target)
            except OSError:
                pass
            what = f"{table[:-1]} {row_id}"
            with self._lock:
                self.lost.append(what)
                first = len(self.lost) == 1
            logger.log(30 if first else 10, "autolog: could not journal %s in %s (%s); if this process dies "
                       "before the store records it, it is lost", what, self.root, exc)
            return False

    def forget(self, table: str, row_id: str) -> None:
        """The store holds this row's final state: its entry is no longer needed."""
        try:
            os.unlink(self._path(table, row_id))
        except OSError:
            pass

    # -- replay ------------------------------------------------------------------------------------------
    def entries(self) -> list[dict[str, Any]]:
        """Every readable entry, tasks first, each with its file `path`."""
        found: list[dict[str, Any]] = []
        try:
            names = sorted(os.listdir(self.root))
        except OSError:
            return found
        for name in names:
            if not name.endswith(".json"):
                continue
            path = self.root / name
            try:
                entry = json.loads(path.read_bytes())
                entry["path"] = path
            except (OSError, ValueError):
                continue  # torn by a full disk: nothing to recover from it
            found.append(entry)
        found.sort(key=lambda e: (e.get("table") != "tasks", e.get("row", {}).get("created") or 0))
        return found


def replay(session: Session) -> int:
    """Put into the store what dead processes journaled and the store lacks; returns rows inserted.

    Runs off the caller's path (the recorder worker at `init`, or `autolog sync`) before the orphan
    uploads are resumed, so those find the replayed rows.
    """
    store, journal = session.store, session.journal
    inserted = 0
    for entry in journal.entries():
        owner = entry.get("owner") or {}
        table, row = entry.get("table"), entry.get("row") or {}
        if table not in ("tasks", *ROW_TABLES) or "id" not in row:
            continue
        if owner_alive(owner.get("host"), owner.get("pid"), owner.get("start")) is not False:
            continue  # its process still runs (or runs on another host): not ours to replay
        existing = store.call("get", table, row["id"])
        if table == "tasks":
            inserted += _replay_task(store, row, existing)
            journal.forget(table, row["id"])
            continue
        if existing is None:
            _insert_row(store, table, row)
            inserted += 1
            existing = store.call("get", table, row["id"])
        if existing is None or existing["upload_state"] == "done":
            journal.forget(table, row["id"])
        elif not existing.get("staging_path") or not os.path.exists(existing["staging_path"]):
            store.call("update", table, row["id"], {"upload_state": "failed", "error": "staged bytes are gone"})
            journal.forget(table, row["id"])
    return inserted


def _replay_task(store: Any, row: dict[str, Any], existing: dict[str, Any] | None) -> int:
    """Insert a dead process's task if missing, and end it: its journaled final status, else `aborted`."""
    final = row.get("status") in FINAL_TASK_STATES
    ended = row.get("ended") if final else None
    status = row["status"] if final else "aborted"
    if existing is None:
        store.call("insert", "tasks", {**row, "status": status, "ended": ended or row.get("heartbeat")
                                       or row.get("started")})
        return 1
    if existing["status"] not in FINAL_TASK_STATES:
        store.call("end_task", row["id"], status, ended or existing.get("heartbeat") or existing.get("started"))
    return 0


def _insert_row(store: Any, table: str, row: dict[str, Any]) -> None:
    if table == "artifacts":
        later = [r for r in store.call("select", "artifacts", {"task_id": row["task_id"], "name": row["name"]})
                 if r["seq"] > row["seq"]]
        if not later:
            store.call("replace_artifact", row)
            return
        row = {**row, "replaced": True}
    store.call("insert", table, row)
