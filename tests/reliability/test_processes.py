"""Many processes on one home, forked children that call `init`, Ctrl-C, and S3 that comes back later."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from .conftest import fresh_session, model_bytes, sha


def test_eight_processes_fifty_saves_each_lose_no_row(child, tmp_path: Path) -> None:
    code = """
        import hashlib, json, os, sys, autolog
        task = autolog.init("rel", "sweep", output_uri={out!r})
        shas = []
        for i in range(50):
            data = os.urandom(2000) + i.to_bytes(2, "big")
            p = os.path.abspath(f"w{{os.getpid()}}-{{i}}.bin"); open(p, "wb").write(data)
            task.register_model(p)
            shas.append(hashlib.sha256(data).hexdigest())
        print(json.dumps({{"task": task.id, "shas": shas}}), flush=True)
    """.format(out=str(tmp_path / "out"))
    procs = [child(code) for _ in range(8)]
    runs = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        runs.append(json.loads(out))
    import autolog

    fresh_session()
    for info in runs:
        task = autolog.Task.get_task(info["task"])
        assert task.status == "completed"
        outputs = task.models["output"]
        assert all(m.upload_state == "done" for m in outputs)
        # every row, in save order, its copy holding the bytes that were saved
        assert [sha(Path(m.uri).read_bytes()) for m in outputs] == info["shas"]
    assert len(autolog.Model.query(project="rel")) == 400
    assert sha(model_bytes(outputs[-1].id)) == info["shas"][-1]  # and hash-checked on the way back


FORK = """
    import hashlib, json, os, sys, threading, time, autolog
    out = {out!r}
    parent = autolog.init("rel", "parent", output_uri=out)
    {before_fork}
    pid = os.fork()
    if pid == 0:
        task = autolog.init("rel", "child", output_uri=out)
        data = os.urandom(5000)
        open(f"child-{{os.getpid()}}.bin", "wb").write(data)
        task.register_model(f"child-{{os.getpid()}}.bin")
        task.close()
        print(json.dumps({{"child": task.id, "sha": hashlib.sha256(data).hexdigest()}}), flush=True)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    {after_fork}
    parent.close()
    print(json.dumps({{"parent": parent.id, "status": status}}), flush=True)
"""
SAVING = """
    def saver():
        for i in range(100):
            open(f"p{i}.bin", "wb").write(os.urandom(3000))
            parent.register_model(f"p{i}.bin")
    t = threading.Thread(target=saver); t.start(); time.sleep(0.02)
"""


@pytest.mark.parametrize("case", ["right-after-init", "while-saving"])
def test_forked_child_calls_init_and_never_hangs(case: str, tmp_path: Path, home: Path) -> None:
    before = "" if case == "right-after-init" else textwrap.dedent(SAVING)
    after = "" if case == "right-after-init" else "t.join()"
    code = textwrap.dedent(FORK).format(out=str(tmp_path / "out"), before_fork=before, after_fork=after)
    for _trial in range(2):
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "AUTOLOG_STRICT": "0"},
            timeout=60,
        )  # a hang fails here
        assert proc.returncode == 0, proc.stderr
        lines = [json.loads(line) for line in proc.stdout.splitlines()]
        child_info = next(x for x in lines if "child" in x)
        parent_info = next(x for x in lines if "parent" in x)
        assert parent_info["status"] == 0
        import autolog

        fresh_session()
        child_task = autolog.Task.get_task(child_info["child"])
        assert child_task.status == "completed" and child_task.run_info["pid"] != os.getpid()
        (model,) = child_task.models["output"]
        assert sha(model_bytes(model.id)) == child_info["sha"]
        parent_task = autolog.Task.get_task(parent_info["parent"])
        assert parent_task.status == "completed"
        if case == "while-saving":
            assert len(parent_task.models["output"]) == 100


def test_keyboard_interrupt_fails_the_task_and_keeps_its_snapshots(child, tmp_path: Path) -> None:
    code = """
        import hashlib, json, os, signal, autolog
        # Ctrl-C raises KeyboardInterrupt, as in a terminal, even when this test runs in the background
        # (a shell starts background jobs with SIGINT ignored, and Python then keeps it ignored).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        task = autolog.init("rel", "ctrl-c", output_uri={out!r})
        shas = []
        for i in range(3):
            data = os.urandom(30_000)
            open(f"k{{i}}.bin", "wb").write(data)
            task.register_model(f"k{{i}}.bin")
            shas.append(hashlib.sha256(data).hexdigest())
        print(json.dumps({{"task": task.id, "shas": shas}}), flush=True)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of training
        for _ in range(10**9):
            pass
    """.format(out=str(tmp_path / "out"))
    proc = child(code)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    info = json.loads(out)
    import autolog

    task = autolog.Task.get_task(info["task"])
    assert task.status == "failed"
    outputs = task.models["output"]
    assert [sha(model_bytes(m.id)) for m in outputs] == info["shas"] and all(m.uri for m in outputs)


class Forwarder:
    """A TCP port that refuses connections until `start()`, then forwards them to the real S3 server."""

    def __init__(self, target: tuple[str, int]) -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.target = target
        self.sock: socket.socket | None = None

    def start(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        if self.sock:
            self.sock.close()


def test_s3_down_at_start_back_later_then_sync(child, cli, s3_uri: str, s3_server: dict) -> None:
    host, port = s3_server["endpoint"].split("//")[1].split(":")
    proxy = Forwarder((host, int(port)))
    endpoint = f"http://127.0.0.1:{proxy.port}"
    env = {"AWS_ENDPOINT_URL": endpoint, "FSSPEC_S3_ENDPOINT_URL": endpoint, "AUTOLOG_UPLOAD_TIMEOUT": "2"}
    code = """
        import hashlib, json, os, autolog
        task = autolog.init("rel", "s3-down", output_uri={uri!r})
        shas = []
        for i in range(3):
            data = os.urandom(40_000)
            open(f"s{{i}}.bin", "wb").write(data)
            task.register_model(f"s{{i}}.bin")
            shas.append(hashlib.sha256(data).hexdigest())
        print(json.dumps({{"task": task.id, "shas": shas}}), flush=True)
    """.format(uri=s3_uri)
    try:
        proc = child(code, env=env)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "3 upload(s)" in err, err
        proxy.start()  # S3 is back, on the same endpoint
        done = cli("sync", env=env)
        assert done.returncode == 0 and done.stdout.startswith("3 upload(s) resumed; 0 still pending"), done
    finally:
        proxy.close()
    info = json.loads(out)
    import autolog

    fresh_session()
    outputs = autolog.Task.get_task(info["task"]).models["output"]
    assert all(m.uri and m.uri.startswith(s3_uri) for m in outputs)
    assert [sha(model_bytes(m.id)) for m in outputs] == info["shas"]
