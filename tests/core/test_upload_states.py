"""The upload state machine of `autolog.store.states`, run as its table: one row per (state, owner, staged bytes)
case, then a real `autolog sync` in a subprocess, then the state each row must be in.

Rows are put in the store as a process would leave them (staged bytes in the home's staging folder, an owner
that is gone, alive, or on another host), so every case of the docstring's "what sync does" column is exercised
with the real store, the real staging area and the real CLI.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from autolog.store.states import UploadState

PENDING, DONE, FAILED, LOST, PRUNED = (
    UploadState.PENDING,
    UploadState.DONE,
    UploadState.FAILED,
    UploadState.LOST,
    UploadState.PRUNED,
)

# (state before, owner, staged bytes there, state after `autolog sync`, bytes at the destination after)
TABLE = [
    (PENDING, "gone", True, DONE, True),  # claimed and finished
    (PENDING, "gone", False, FAILED, False),  # claimed; nothing left to copy
    (PENDING, "alive", True, PENDING, False),  # its process is still working on it
    (PENDING, "other host", True, PENDING, False),  # its bytes are on another machine: reported apart
    (FAILED, "alive", True, DONE, True),  # given up by its process: retried
    (FAILED, "gone", False, FAILED, False),  # nothing left to retry
    (DONE, "gone", False, DONE, False),
    (LOST, "gone", False, LOST, False),
    (PRUNED, "gone", False, PRUNED, False),  # bytes freed by a retention rule: skipped
]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_table_documents_every_state() -> None:
    import autolog.store.states as states

    assert {case[0] for case in TABLE} == set(UploadState)
    for state in UploadState:
        assert f"\n{state.value} " in states.__doc__  # one row of the docstring's table per state
        assert state == state.value and f"{state}" == state.value  # stored and compared as its string


def test_sync_from_each_state(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import autolog

    # each copy lands at its row's own destination, whichever process finishes it (this one's `init` recovers
    # orphans in the background too): dedup, which stores by content instead, is not this table's subject
    monkeypatch.setenv("AUTOLOG_DEDUP", "0")
    from autolog.lifecycle import get_session

    task = autolog.init("states", "table")
    session = get_session()
    out, dead, alive = tmp_path / "out", _dead_pid(), os.getppid()
    owners = {
        "gone": (socket.gethostname(), dead),
        "alive": (socket.gethostname(), alive),
        "other host": ("another-host", dead),
    }
    cases = []
    for n, (before, owner, staged_there, after, copied) in enumerate(TABLE):
        row_id = uuid.uuid4().hex
        data = f"snapshot {n}".encode()
        staged = session.settings.staging_dir / row_id / "m.bin"
        staged.parent.mkdir(parents=True)
        staged.write_bytes(data)
        if not staged_there:
            staged.unlink()
        host, pid = owners[owner]
        dest = str(out / f"{n}-m.bin")
        session.store.insert(
            "models",
            {
                "id": row_id,
                "task_id": task.id,
                "seq": 100 + n,
                "name": "m.bin",
                "framework": "custom",
                "local_path": str(staged),
                "created": time.time(),
                "upload_state": before,
                "staging_path": str(staged),
                "dest_uri": dest,
                "owner_host": host,
                "owner_pid": pid,
            },
        )
        cases.append((row_id, data, dest, before, owner, staged_there, after, copied))
    task.close()
    env = {k: v for k, v in os.environ.items() if k != "AUTOLOG_HOST"}
    sync = subprocess.run(
        [sys.executable, "-m", "autolog", "sync"], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
    )
    rows = {row["id"]: row for row in get_session().store.select("models", {"task_id": task.id})}
    got = [(rows[c[0]]["upload_state"], os.path.exists(c[2])) for c in cases]
    want = [(c[6], c[7]) for c in cases]
    assert got == want, [(c[3], c[4], c[5]) for c in cases]
    for row_id, data, dest, *_rest, copied in cases:
        if copied:
            assert Path(dest).read_bytes() == data and rows[row_id]["uri"] == dest
        if rows[row_id]["upload_state"] == PENDING:  # still someone's: its staged bytes are kept
            assert Path(rows[row_id]["staging_path"]).read_bytes() == data
    # exit status 1 only for what failed (rows left `failed`); other hosts' rows are reported apart
    assert sync.returncode == 1, sync.stdout + sync.stderr
    assert "another host" in sync.stdout or "other host" in sync.stdout, sync.stdout


@pytest.mark.parametrize("state", [DONE, LOST, PRUNED])
def test_a_final_state_is_never_overwritten_by_a_late_failure(home: Path, state: UploadState) -> None:
    """`settle` writes over `pending`/`failed` only: a process that lost a race never undoes another's work."""
    import autolog
    from autolog.lifecycle import get_session

    task = autolog.init("states", "settle")
    store = get_session().store
    row_id = uuid.uuid4().hex
    store.insert(
        "models",
        {"id": row_id, "task_id": task.id, "seq": 1, "name": "m", "created": time.time(), "upload_state": state},
    )
    assert store.settle("models", row_id, {"upload_state": FAILED, "error": "staged bytes are gone"}) is False
    assert store.get("models", row_id)["upload_state"] == state
    assert store.settle("models", uuid.uuid4().hex, {"upload_state": DONE}) is None  # not in the store
    task.close()
