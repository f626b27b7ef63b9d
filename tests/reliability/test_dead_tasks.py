"""Dead tasks end: SIGTERM, kill -9, a reused pid, a silent host; `aborted` is a status the API and CLI know."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

from .conftest import fresh_session, model_bytes

SLOW_SAVER = """
    import os, signal, sys, time, autolog
    {prelude}
    task = autolog.init("rel", "term", output_uri={out!r})
    data = os.urandom(300_000)
    open("ckpt.bin", "wb").write(data)
    model = task.register_model("ckpt.bin")
    print(task.id, model.id, flush=True)
    time.sleep(60)
"""


def _started(proc) -> tuple[str, str]:
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    task_id, model_id = line.split()
    return task_id, model_id


def test_sigterm_ends_the_run_as_aborted_with_its_uploads_done(child, tmp_path: Path) -> None:
    proc = child(SLOW_SAVER.format(prelude="", out=str(tmp_path / "out")))
    task_id, model_id = _started(proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM, err  # the exit status a SIGTERM gives without autolog
    import autolog

    task = autolog.Task.get_task(task_id)
    assert task.status == "aborted" and task.ended is not None
    model = autolog.Model.get(model_id)
    assert model.upload_state == "done" and model.uri  # uploaded in the grace period, no sync needed
    assert model_bytes(model_id) == (tmp_path / "ckpt.bin").read_bytes()
    assert [t.id for t in autolog.Task.query(status="aborted")] == [task_id]


def test_a_sigterm_handler_of_the_user_is_kept(child, tmp_path: Path) -> None:
    # os.write, not print: a handler that prints while the main thread prints is a reentrant-write
    # RuntimeError in CPython itself, with or without autolog.
    prelude = "signal.signal(signal.SIGTERM, lambda *a: (os.write(1, b'mine\\n'), sys.exit(3)))"
    proc = child(SLOW_SAVER.format(prelude=prelude, out=str(tmp_path / "out")))
    task_id, _ = _started(proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3 and "mine" in out, err
    import autolog

    assert autolog.Task.get_task(task_id).status in ("completed", "failed")  # ended by the user's own exit


def test_sync_and_next_init_abort_dead_tasks(child, cli, tmp_path: Path) -> None:
    proc = child(SLOW_SAVER.format(prelude="", out=str(tmp_path / "out")))
    task_id, model_id = _started(proc)
    time.sleep(0.3)
    proc.kill()
    proc.communicate(timeout=30)
    listed = cli("tasks", "--status", "aborted", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []  # nothing ran sync yet: still `running`
    assert cli("sync").returncode == 0
    listed = cli("tasks", "--status", "aborted", "--json")
    assert [t["id"] for t in json.loads(listed.stdout)] == [task_id]
    import autolog

    fresh_session()
    assert autolog.Model.get(model_id).upload_state == "done"  # its snapshots are still finished

    # The next init on the home does the same for a run killed later.
    proc = child(SLOW_SAVER.format(prelude="", out=str(tmp_path / "out")))
    second, _ = _started(proc)
    proc.kill()
    proc.communicate(timeout=30)
    task = autolog.init("rel", "next")
    task.flush()
    deadline = time.monotonic() + 20
    while autolog.Task.get_task(second).status != "aborted" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert autolog.Task.get_task(second).status == "aborted"
    assert task.status == "running"


def _insert_task(task_id: str, **fields) -> None:
    import autolog
    from autolog.lifecycle import get_session

    now = time.time()
    row = {
        "id": task_id,
        "project": "rel",
        "name": "forged",
        "status": "running",
        "output_uri": None,
        "tags": "[]",
        "started": now - 1000,
        "ended": None,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "pid_start": None,
        "heartbeat": now,
        **fields,
    }
    get_session().store.insert("tasks", row)
    assert autolog.Task.get_task(task_id).status == "running"


def test_a_reused_pid_and_a_silent_host(cli, monkeypatch) -> None:
    """Same host: a live pid whose start time differs is another process. Other host: the heartbeat decides."""
    from autolog.system.liveness import process_start

    me = process_start(os.getpid())
    assert me is not None
    _insert_task("a" * 32, pid_start=me)  # this very process: alive
    _insert_task("b" * 32, pid_start=me + 12345)  # same pid, started at another time: the pid was reused
    _insert_task("c" * 32, host="elsewhere", heartbeat=time.time() - 120)  # silent for 2 minutes
    _insert_task("d" * 32, host="elsewhere", heartbeat=time.time())  # beating
    fresh_session()
    assert cli("sync", env={"AUTOLOG_HEARTBEAT_TIMEOUT": "60"}).returncode == 0
    import autolog

    fresh_session()
    status = {t.id[0]: t.status for t in autolog.Task.query(project="rel")}
    assert status == {"a": "running", "b": "aborted", "c": "aborted", "d": "running"}


def test_the_store_thread_refreshes_the_heartbeat(child) -> None:
    code = """
        import time, autolog
        task = autolog.init("rel", "beat")
        print(task.id, flush=True)
        time.sleep(60)
    """
    proc = child(code, env={"AUTOLOG_HEARTBEAT_TIMEOUT": "1"})
    task_id = proc.stdout.readline().strip()
    try:
        from autolog.lifecycle import get_session

        def beat() -> float:
            return get_session().store.get("tasks", task_id)["heartbeat"]

        time.sleep(1.5)
        first = beat()
        time.sleep(1.0)
        assert beat() > first
    finally:
        proc.kill()
        proc.communicate(timeout=30)


def test_sigterm_in_the_middle_of_a_save_loop(child, cli, tmp_path: Path) -> None:
    """The handler runs between two bytecodes of a save: it must not deadlock on autolog's own locks."""
    code = """
        import os, time, autolog
        task = autolog.init("rel", "term-loop", output_uri={out!r})
        print(task.id, flush=True)
        i = 0
        while True:
            p = f"loop-{{i % 50}}-{{i}}.bin"
            open(p, "wb").write(os.urandom(2000))
            task.register_model(p)
            i += 1
            time.sleep(0.01)
    """.format(out=str(tmp_path / "out"))
    proc = child(code, env={"AUTOLOG_UPLOAD_TIMEOUT": "3"})
    task_id = proc.stdout.readline().strip()
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)  # a deadlock in the handler fails here
    assert proc.returncode == -signal.SIGTERM, err
    assert cli("sync").returncode == 0
    import autolog

    fresh_session()
    task = autolog.Task.get_task(task_id)
    outputs = task.models["output"]
    assert task.status == "aborted" and len(outputs) > 5
    assert all(m.upload_state == "done" for m in outputs)
    assert [m.name for m in outputs] == sorted((m.name for m in outputs), key=lambda n: int(n.split("-")[2][:-4]))
