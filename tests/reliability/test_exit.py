"""Exit without flush(): pending uploads finish on every backend, and a dead endpoint never makes exit hang."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import textwrap
import threading
import time
from pathlib import Path

import pytest

from .conftest import model_bytes, sha

SAVE_THREE = """
    import json, os, autolog
    task = autolog.init("rel", "exit", output_uri={uri!r})
    ids = {{}}
    for i in range(3):
        p = os.path.abspath(f"m{{i}}.bin")
        data = os.urandom(200_000) + bytes([i])
        open(p, "wb").write(data)
        ids[task.register_model(p).id] = __import__("hashlib").sha256(data).hexdigest()
    print(json.dumps({{"task": task.id, "models": ids}}), flush=True)
"""


def _finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[str, str]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out, err


@pytest.mark.parametrize("backend", ["s3", "local"])
def test_uploads_pending_at_exit_complete_without_flush(backend: str, child, request, tmp_path: Path) -> None:
    uri = request.getfixturevalue("s3_uri") if backend == "s3" else str(tmp_path / "out")
    out, err = _finish(child(SAVE_THREE.format(uri=uri)))
    assert "failed" not in err and "interpreter shutdown" not in err, err
    import autolog

    info = json.loads(out)
    assert autolog.Task.get_task(info["task"]).status == "completed"
    for model_id, digest in info["models"].items():
        model = autolog.Model.get(model_id)
        assert model.upload_state == "done" and model.uri and model.uri.startswith(uri), model
        assert sha(model_bytes(model_id)) == digest


def test_memory_uploads_complete_before_user_atexit_handlers(child) -> None:
    """memory:// lives in the process: a user's own atexit handler (which runs after autolog's) sees it all."""
    code = """
        import atexit, hashlib, fsspec
        fs = fsspec.filesystem("memory")
        def check():
            found = sorted(hashlib.sha256(fs.cat(p)).hexdigest() for p in fs.find("/rel"))
            print("REMOTE " + " ".join(found), flush=True)
        atexit.register(check)
    """
    code = textwrap.dedent(code) + textwrap.dedent(SAVE_THREE.format(uri="memory://rel"))
    out, err = _finish(child(code))
    info = json.loads(out.splitlines()[0])
    remote = out.splitlines()[1].split()[1:]
    assert sorted(info["models"].values()) == remote, err


class BlackHole:
    """A TCP listener that accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("endpoint", ["closed-port", "black-hole"])
def test_exit_against_a_dead_s3_endpoint_is_bounded_and_counts_right(
    endpoint: str, child, cli, s3_server: dict
) -> None:
    hole = BlackHole() if endpoint == "black-hole" else None
    port = hole.port if hole else _closed_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "FSSPEC_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": s3_server["key"],
        "AWS_SECRET_ACCESS_KEY": s3_server["secret"],
        "AUTOLOG_UPLOAD_TIMEOUT": "3",
    }
    code = """
        import os, autolog
        task = autolog.init("rel", "dead-s3", output_uri="s3://{bucket}/dead")
        for i in range(2):
            open(f"m{{i}}.bin", "wb").write(os.urandom(1000))
            task.register_model(f"m{{i}}.bin")
        print(task.id, flush=True)
    """.format(bucket=s3_server["bucket"])
    try:
        began = time.monotonic()
        proc = child(code, env=env)
        out, err = proc.communicate(timeout=60)
        elapsed = time.monotonic() - began
    finally:
        if hole:
            hole.close()
    assert proc.returncode == 0, err
    # Interpreter start and autolog's import take well under a second; exit itself at most upload_timeout + 3.
    assert elapsed < 3 + 3 + 1.5, (elapsed, err)
    match = re.search(r"(\d+) upload\(s\) of task \w+ not finished after waiting ([\d.]+) s", err)
    assert match, err
    assert match.group(1) == "2" and 2.5 <= float(match.group(2)) <= 3.5, err
    assert "nan" not in err and "600" not in err
    # Back on the real endpoint, `autolog sync` finishes both.
    real = {
        "AWS_ENDPOINT_URL": s3_server["endpoint"],
        "FSSPEC_S3_ENDPOINT_URL": s3_server["endpoint"],
        "AWS_ACCESS_KEY_ID": s3_server["key"],
        "AWS_SECRET_ACCESS_KEY": s3_server["secret"],
    }
    done = cli("sync", env=real)
    assert done.returncode == 0 and done.stdout.startswith("2 upload(s) resumed; 0 still pending"), done.stdout


def test_a_training_thread_that_outlives_the_main_one_is_still_recorded(child, tmp_path: Path) -> None:
    """Exit hooks run before Python joins non-daemon threads: autolog waits for the user's threads first."""
    code = """
        import os, threading, time, autolog
        task = autolog.init("rel", "thread", output_uri={out!r})
        def train():
            for i in range(3):
                time.sleep(0.3)
                open(f"t{{i}}.bin", "wb").write(os.urandom(1000))
                task.register_model(f"t{{i}}.bin")
        threading.Thread(target=train).start()
        print(task.id, flush=True)
    """.format(out=str(tmp_path / "out"))
    out, err = _finish(child(code))
    import autolog

    task = autolog.Task.get_task(out.strip())
    assert task.status == "completed"
    assert [m.upload_state for m in task.models["output"]] == ["done"] * 3, err
