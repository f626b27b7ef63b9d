"""The PostgreSQL server goes away in the middle of a run and comes back: the user's saves return normally,
autolog warns once that the store is unreachable, and every record reaches the store once it is back."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import autolog

pytestmark = pytest.mark.postgres

PROGRAM = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    import autolog

    here = Path(sys.argv[1])
    def wait_for(name):
        while not (here / name).exists():
            time.sleep(0.05)

    task = autolog.init("outage", "train", output_uri=str(here / "remote"))
    def save(i):
        path = here / f"ckpt-{i}.bin"
        path.write_bytes(f"weights {i}".encode() * 1000)
        t0 = time.monotonic()
        task.register_model(path)
        return time.monotonic() - t0

    save(0)
    task.flush()
    (here / "saved-before").touch()
    wait_for("server-stopped")
    slowest = max(save(i) for i in range(1, 5))   # the store is down: these must not fail or block
    (here / "saved-during").write_text(str(slowest))
    wait_for("server-restarted")
    save(5)
    # no flush, no close: the interpreter exit finishes the task
""")


def test_saves_during_a_server_restart_lose_no_record(own_postgres, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AUTOLOG_TRACKING_URI", own_postgres.url)
    env = {**os.environ, "AUTOLOG_STRICT": "1"}
    child = subprocess.Popen(
        [sys.executable, "-c", PROGRAM, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )

    def wait_for(name: str) -> None:
        deadline = time.monotonic() + 120
        while not (tmp_path / name).exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, f"child never wrote {name}"
            time.sleep(0.05)

    wait_for("saved-before")
    own_postgres.stop()
    (tmp_path / "server-stopped").touch()
    wait_for("saved-during")
    time.sleep(1.0)  # the store worker retries against a dead server for a while
    own_postgres.start()
    (tmp_path / "server-restarted").touch()
    out, err = child.communicate(timeout=180)
    assert child.returncode == 0, err
    assert float((tmp_path / "saved-during").read_text()) < 1.0  # saves never waited on the store
    assert "metadata store at postgresql://postgres@127.0.0.1" in err and "is unreachable" in err, err
    assert err.count("is unreachable") == 1, err
    assert "reachable again" in err
    assert "Traceback" not in err, err

    task = autolog.Task.query(project="outage")[0]
    assert task.status == "completed"
    outputs = task.models["output"]
    assert [m.name for m in outputs] == [f"ckpt-{i}.bin" for i in range(6)]
    assert all(m.upload_state == "done" and m.hash and m.uri for m in outputs)
