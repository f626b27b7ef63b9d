"""Uploads go on while the metadata store is down: a snapshot's bytes reach the bucket whatever the store does;
only the row's new state waits (in the store's queue and in the journal), and `autolog sync` stores it later.

PostgreSQL (a cluster of the test's own) stops for about 13 s in the middle of a run whose output_uri is a
real S3 server (SeaweedFS); the program ends while the server is still down.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from .conftest import fresh_session

PROGRAM = textwrap.dedent("""
    import hashlib, json, os, sys, time
    from pathlib import Path
    import autolog

    here = Path(sys.argv[1])
    task = autolog.init("outage", "s3", output_uri=sys.argv[2])
    shas = []
    def save(i):
        data = os.urandom(200_000) + i.to_bytes(2, "big")
        path = here / f"ckpt-{i}.bin"
        path.write_bytes(data)
        task.register_model(path)
        shas.append(hashlib.sha256(data).hexdigest())
    for i in range(3):
        save(i)
    task.flush()
    (here / "saved-before").touch()
    while not (here / "server-stopped").exists():
        time.sleep(0.05)
    for i in range(3, 23):
        save(i)
        time.sleep(0.05)
    print(json.dumps({"task": task.id, "shas": shas}), flush=True)
    # no flush, no close: the interpreter exit waits (upload_timeout) while the store is still down
""")


def test_postgres_down_13_s_with_s3_up_every_snapshot_reaches_the_bucket(
    own_postgres, s3_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs

    monkeypatch.setenv("AUTOLOG_TRACKING_URI", own_postgres.url)
    # 8 s at exit: the first deduplicated upload after the outage waits for the store to be found down (its
    # retries, ~3 s) before it and the rest are stored under their own names; the store is still down at exit
    env = {**os.environ, "AUTOLOG_STRICT": "0", "AUTOLOG_UPLOAD_TIMEOUT": "8"}
    child = subprocess.Popen(
        [sys.executable, "-c", PROGRAM, str(tmp_path), s3_uri],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 120
    while not (tmp_path / "saved-before").exists():
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    own_postgres.stop()
    stopped = time.monotonic()
    (tmp_path / "server-stopped").touch()
    try:
        out, err = child.communicate(timeout=12.5)  # exit gives up waiting after upload_timeout (8 s)
    finally:
        if child.poll() is None:
            child.kill()
    fs = s3fs.S3FileSystem()
    in_bucket_at_exit = sorted(hashlib.sha256(fs.cat_file(p)).hexdigest() for p in fs.find(s3_uri))
    time.sleep(max(0.0, 13 - (time.monotonic() - stopped)))
    own_postgres.start()
    assert child.returncode == 0, err
    info = json.loads(out)
    assert in_bucket_at_exit == sorted(info["shas"]), err  # all 23 snapshots, by exit, none twice
    assert "Traceback" not in err, err

    sync = subprocess.run(
        [sys.executable, "-m", "autolog", "sync"], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
    )
    assert sync.returncode == 0, sync.stdout + sync.stderr
    import autolog

    fresh_session()
    outputs = autolog.Task.get_task(info["task"]).models["output"]
    assert [m.upload_state for m in outputs] == ["done"] * 23
    assert [hashlib.sha256(fs.cat_file(m.uri)).hexdigest() for m in outputs] == info["shas"]
    assert len(fs.find(s3_uri)) == 23  # the records came back from the journal: no second copy anywhere
