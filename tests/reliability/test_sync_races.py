"""Many processes on one home finishing the same leftovers: the ranks of a restarted job each calling `init`,
then several `autolog sync` at once. One process owns a pending snapshot at a time (a claim is one conditional
UPDATE), and a final state is written only over `pending`/`failed`: no stored row is ever marked `failed`,
and every sync exits 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import fresh_session, sha

SNAPSHOTS = 30

KILLED_RUN = """
    import hashlib, json, os, signal, autolog
    import autolog.pipeline.uploader as uploader
    if {hold!r}:
        uploader.Uploader.deliver = lambda *a, **k: None  # the process dies before copying...
        uploader.Uploader.enqueue = lambda *a, **k: None  # ...or uploading
    task = autolog.init("race", "killed", output_uri={out!r})
    shas = []
    for i in range({n}):
        data = os.urandom(300_000) + i.to_bytes(2, "big")
        open(f"ckpt{{i}}.bin", "wb").write(data)
        task.register_model(f"ckpt{{i}}.bin")
        shas.append(hashlib.sha256(data).hexdigest())
    task._session.recorder.worker.wait()
    task._session.uploader.worker.wait()
    task._session.store.barrier()
    print(json.dumps({{"task": task.id, "shas": shas}}), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""

RANK = """
    import time, autolog
    task = autolog.init("race", "rank")  # finishes the killed run's uploads in the background...
    time.sleep({pause})  # ...while this rank starts training, then ends (exit waits up to upload_timeout)
"""


def _start(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    merged = {**os.environ, "AUTOLOG_STRICT": "0", **env}
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=merged)


def _all(procs: list[subprocess.Popen[str]], timeout: float = 240) -> list[tuple[int, str, str]]:
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        done.append((proc.returncode, out, err))
    return done


def _states(task_id: str) -> list[dict]:
    from autolog.lifecycle import get_session

    fresh_session()
    return get_session().store.select("models", {"task_id": task_id}, order_by=("seq",))


@pytest.fixture
def read_only_until_released(tmp_path: Path):
    """`out` behind a read-only bind mount (root only); `release()` (and teardown) undoes the mount."""
    if os.geteuid() != 0:
        pytest.skip("bind mounts need root")
    out = tmp_path / "out"
    out.mkdir()
    mounted = []

    def run(*args: str) -> None:
        subprocess.run(args, check=True, capture_output=True)

    run("mount", "--bind", str(out), str(out))
    mounted.append(out)
    run("mount", "-o", "remount,bind,ro", str(out))

    def release() -> None:
        while mounted:
            run("umount", str(mounted.pop()))

    yield out, release
    release()


def _race(tmp_path: Path, out: Path, *, hold: bool, before_syncs=lambda: None) -> None:
    py = sys.executable
    killed = _start([py, "-c", textwrap.dedent(KILLED_RUN.format(hold=hold, out=str(out), n=SNAPSHOTS))], tmp_path, {})
    (rc, stdout, err) = _all([killed])[0]
    assert rc == -9, err
    info = json.loads(stdout)
    # 8 ranks of the restarted job call `init` at once; each leaves after a different time, some while the
    # uploads they took over are still running (a short upload_timeout: the rest stays pending for sync)
    ranks = [
        _start([py, "-c", textwrap.dedent(RANK.format(pause=0.1 * i))], tmp_path, {"AUTOLOG_UPLOAD_TIMEOUT": "0.5"})
        for i in range(8)
    ]
    for rc, _out, err in _all(ranks):
        assert rc == 0, err
    rows = _states(info["task"])
    assert len(rows) == SNAPSHOTS
    gone = [r for r in rows if r["upload_state"] == "failed" and "gone" in (r["error"] or "")]
    assert not gone, gone  # nobody judged a row by staged bytes another process had just stored and released
    before_syncs()
    syncs = _all([_start([py, "-m", "autolog", "sync"], tmp_path, {}) for _ in range(3)])
    for rc, stdout, err in syncs:
        assert rc == 0, stdout + err
    rows = _states(info["task"])
    assert [r["upload_state"] for r in rows] == ["done"] * SNAPSHOTS, [(r["upload_state"], r["error"]) for r in rows]
    assert [sha(Path(r["uri"]).read_bytes()) for r in rows] == info["shas"]
    leftovers = [p for p in (Path(os.environ["AUTOLOG_HOME"]) / "staging").iterdir()]
    assert not leftovers, leftovers  # every staged folder released, once


@pytest.mark.parametrize("round_", range(2))
def test_eight_inits_then_three_syncs_on_thirty_pending_snapshots(tmp_path: Path, home: Path, round_: int) -> None:
    _race(tmp_path, tmp_path / "out", hold=True)


def test_output_folder_read_only_until_the_syncs_start(tmp_path: Path, home: Path, read_only_until_released) -> None:
    out, release = read_only_until_released
    _race(tmp_path, out, hold=False, before_syncs=release)
