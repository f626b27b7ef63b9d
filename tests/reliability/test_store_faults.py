"""The store breaks under a running job: deleted, made immutable, locked by another process, or out of disk.

Each time the user's saves return, the process ends normally (never a SIGBUS), autolog says so once, and
`autolog sync` later stores every snapshot that was saved (bytes compared).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import fresh_session, journaled, model_bytes, sha

# Saves 3 snapshots, waits until they are recorded, signals the test, waits for its "go", saves 3 more.
TWO_PHASES = """
    import hashlib, json, os, sys, time, autolog
    task = autolog.init("rel", "faults", output_uri={out!r})
    shas = []
    def save(i):
        data = os.urandom(20_000) + bytes([i])
        p = os.path.abspath(f"ckpt-{{i}}.bin"); open(p, "wb").write(data)
        task.register_model(p)
        shas.append(hashlib.sha256(data).hexdigest())
    for i in range(3):
        save(i)
    task.flush()
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(3, 6):
        save(i)
        time.sleep(0.05)
    print(json.dumps({{"task": task.id, "shas": shas}}), flush=True)
"""


def _two_phases(child, tmp_path: Path, fault, env: dict[str, str] | None = None) -> tuple[dict, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", __import__("textwrap").dedent(TWO_PHASES.format(out=str(tmp_path / "out")))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "AUTOLOG_STRICT": "0", "AUTOLOG_UPLOAD_TIMEOUT": "3", **(env or {})},
    )
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    fault()
    out, err = proc.communicate("go\n", timeout=60)
    assert proc.returncode == 0, (proc.returncode, err)  # not -SIGBUS (-7), not a crash
    return json.loads(out.splitlines()[-1]), err


def _all_recorded(info: dict) -> None:
    import autolog

    fresh_session()
    outputs = autolog.Task.get_task(info["task"]).models["output"]
    assert [sha(model_bytes(m.id)) for m in outputs] == info["shas"]


def test_store_file_deleted_mid_run(child, cli, tmp_path: Path, home: Path) -> None:
    info, err = _two_phases(child, tmp_path, lambda: os.unlink(home / "autolog.db"))
    assert err.count("was deleted or replaced") == 1, err
    kept = journaled(home)
    assert ("tasks", info["task"]) in kept and [t for t, _ in kept].count("models") == 3  # the later three
    assert cli("sync").returncode == 0
    import autolog

    fresh_session()
    task = autolog.Task.get_task(info["task"])
    assert task.status == "completed"
    outputs = task.models["output"]
    # The first three were recorded in the file that was deleted; the later three were kept by the journal.
    assert [sha(model_bytes(m.id)) for m in outputs] == info["shas"][3:]


@pytest.fixture
def immutable(home: Path):
    """chattr +i on the store files (undone afterwards); skips where chattr is refused (not root, not ext4)."""
    made: list[str] = []

    def lock_down() -> None:
        for name in os.listdir(home):
            if name.startswith("autolog.db"):
                path = str(home / name)
                if subprocess.run(["chattr", "+i", path], capture_output=True).returncode == 0:
                    made.append(path)

    probe = home.parent / "probe"
    probe.write_text("x")
    if (
        shutil.which("chattr") is None
        or subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode != 0
    ):
        pytest.skip("chattr +i is not available here (needs root on ext4)")
    subprocess.run(["chattr", "-i", str(probe)])
    yield lock_down, lambda: [subprocess.run(["chattr", "-i", p]) for p in made]
    for path in made:
        subprocess.run(["chattr", "-i", path])


def test_store_file_made_immutable_mid_run(child, cli, tmp_path: Path, immutable) -> None:
    lock_down, undo = immutable
    info, err = _two_phases(child, tmp_path, lock_down)
    assert "is not writable" in err and err.count("is not writable;") == 1, err
    undo()
    assert cli("sync").returncode == 0
    _all_recorded(info)


def test_a_wal_database_of_an_older_autolog_is_switched_to_a_rollback_journal(home: Path) -> None:
    """WAL maps `-shm`; a store left in WAL mode is converted on open, so the SIGBUS case cannot arise."""
    home.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(home / "autolog.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    import autolog

    autolog.init("rel", "wal").flush()
    mode = sqlite3.connect(home / "autolog.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode != "wal"  # a rollback journal (its mode is per connection: TRUNCATE for autolog's)


def test_store_locked_by_another_process_longer_than_the_run(child, cli, tmp_path: Path, home: Path) -> None:
    import autolog

    autolog.init("rel", "create-the-store").close()  # the store exists, as on any used home
    fresh_session()
    locker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sqlite3, sys, time\n"
                f"c = sqlite3.connect({str(home / 'autolog.db')!r}, isolation_level=None)\n"
                "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); sys.stdin.readline()\n"
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert locker.stdout.readline().strip() == "locked"
        code = """
            import hashlib, json, os, autolog
            task = autolog.init("rel", "locked-out", output_uri={out!r})
            shas = []
            for i in range(3):
                data = os.urandom(10_000) + bytes([i])
                open(f"c{{i}}.bin", "wb").write(data)
                task.register_model(f"c{{i}}.bin")
                shas.append(hashlib.sha256(data).hexdigest())
            print(json.dumps({{"task": task.id, "shas": shas}}), flush=True)
        """.format(out=str(tmp_path / "out"))
        began = time.monotonic()
        proc = child(code, env={"AUTOLOG_UPLOAD_TIMEOUT": "2"})
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert time.monotonic() - began < 2 + 3 + 1.5, err  # saves returned and exit stayed bounded
        assert "3 upload(s)" in err, err
    finally:
        locker.communicate("\n", timeout=30)
    assert cli("sync").returncode == 0
    info = json.loads(out)
    _all_recorded(info)
    assert autolog.Task.get_task(info["task"]).status == "completed"  # its journaled final status


@pytest.fixture
def small_tmpfs(tmp_path: Path):
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    if (
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True).returncode
        != 0
    ):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)])


def test_home_on_a_full_disk_keeps_what_fits_and_says_what_was_lost(child, cli, small_tmpfs: Path, monkeypatch) -> None:
    """The home (store, journal, staging) and the checkpoints share a small tmpfs that fills up mid-run."""
    home = small_tmpfs / "home"
    monkeypatch.setenv("AUTOLOG_HOME", str(home))
    code = """
        import hashlib, json, os, sys, autolog
        task = autolog.init("rel", "full", output_uri={out!r})
        ckpts = {ckpts!r}
        os.makedirs(ckpts, exist_ok=True)
        paths, shas = [], []
        for i in range(10):
            data = os.urandom(100_000) + bytes([i])
            p = os.path.join(ckpts, f"c{{i}}.bin"); open(p, "wb").write(data)
            paths.append(p); shas.append(hashlib.sha256(data).hexdigest())
        task.flush()
        # Fill the disk: what is left for autolog is a few pages at most.
        fd = os.open(os.path.join(ckpts, "filler"), os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"x" * 4096)
        except OSError:
            pass  # full: the journal file's last page still has room for a few rows, nothing more
        os.close(fd)
        for p in paths:
            task.register_model(p)  # a hard link: needs no data block
        print(json.dumps({{"task": task.id, "shas": shas}}), flush=True)
    """.format(out=str(small_tmpfs.parent / "out"), ckpts=str(small_tmpfs / "ckpts"))
    proc = child(code, env={"AUTOLOG_UPLOAD_TIMEOUT": "3", "AUTOLOG_HOME": str(home)})
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    info = json.loads(out)
    kept = [t for t, _ in journaled(home)].count("models")
    assert 0 < kept < 10, err  # some rows fitted, some did not
    (summary,) = [line for line in err.splitlines() if "record(s) could not be journaled" in line]
    assert summary.count("model ") == 10 - kept, summary  # it names each snapshot that was not kept
    os.unlink(small_tmpfs / "ckpts" / "filler")  # space is freed
    done = cli("sync", env={"AUTOLOG_HOME": str(home)})
    assert done.returncode == 0, (done.stdout, done.stderr, err)  # nothing replayed is left failed
    import autolog

    fresh_session()
    outputs = autolog.Task.get_task(info["task"]).models["output"]
    recorded = {sha(model_bytes(m.id)) for m in outputs}
    assert recorded <= set(info["shas"])
    assert len(recorded) >= kept  # every journal entry that fitted became a snapshot
