"""Once exit stops waiting for uploads (`upload_timeout`), autolog starts no new upload and prints nothing more on
the user's stderr: the one notice that says how many uploads are left, and nothing else (no warning of a retry,
no traceback of an upload started during interpreter shutdown).

S3 is the real server (SeaweedFS) with each upload held back a little (a slow link), an endpoint that accepts
connections and never answers ("blackhole": each upload hangs), or one that refuses them ("dead": each upload
fails and is retried with backoff). Twelve snapshots are queued; the program's own exit handler, which runs after
autolog's, notes the time and keeps the process alive for seconds: no upload may start after that time.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

PROGRAM = """
    import atexit, os, time
    here = os.environ["TEST_DIR"]
    def after_autolog():  # the user's own exit work: registered before autolog, so it runs after
        open(os.path.join(here, "exit-time"), "w").write(repr(time.time()))
        time.sleep(3)
    atexit.register(after_autolog)
    import autolog
    from autolog.storage.access import Storage
    original = Storage.put
    def noted(self, *args):  # every upload attempt's start (retries too), for the test
        with open(os.path.join(here, "upload-starts"), "a") as fh:
            fh.write(repr(time.time()) + "\\n")
        time.sleep(0.5)  # a slow link
        return original(self, *args)
    Storage.put = noted
    task = autolog.init("quiet", "exit", output_uri=os.environ["TEST_OUTPUT_URI"])
    for i in range(12):
        open(f"m{i}.bin", "wb").write(os.urandom(100_000))
        task.register_model(f"m{i}.bin")
    print("saved", flush=True)
"""


@pytest.fixture(params=["real", "blackhole", "dead"])
def endpoint(request: pytest.FixtureRequest) -> Iterator[tuple[str, dict[str, str]]]:
    """(output_uri, environment) for each kind of S3."""
    if request.param == "real":
        uri = request.getfixturevalue("s3_uri")  # sets the endpoint and keys in this process's environment
        yield uri, {}
        return
    pytest.importorskip("s3fs")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    held: list[socket.socket] = []
    if request.param == "blackhole":
        server.listen(64)

        def accept() -> None:
            while True:
                try:
                    held.append(server.accept()[0])  # read nothing, answer nothing
                except OSError:
                    return

        threading.Thread(target=accept, daemon=True).start()
    else:
        server.close()  # the port refuses connections
    url = f"http://127.0.0.1:{port}"
    keys = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    yield "s3://autolog-test/quiet", {"AWS_ENDPOINT_URL": url, "FSSPEC_S3_ENDPOINT_URL": url, **keys}
    server.close()
    for conn in held:
        conn.close()


def test_after_a_timed_out_exit_no_upload_starts_and_stderr_holds_only_the_notice(
    child, endpoint: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    uri, env = endpoint
    proc = child(PROGRAM, env={"AUTOLOG_UPLOAD_TIMEOUT": "4", "TEST_DIR": str(tmp_path), "TEST_OUTPUT_URI": uri, **env})
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and out.strip() == "saved", err
    lines = [line for line in err.splitlines() if line.strip()]
    notice = [line for line in lines if "not finished after waiting" in line and "autolog sync" in line]
    assert len(notice) == 1 and lines == notice, err  # nothing before it from a retry, nothing after it
    gave_up = json.loads((tmp_path / "exit-time").read_text())
    noted = tmp_path / "upload-starts"
    starts = [float(t) for t in noted.read_text().split()] if noted.exists() else []
    assert all(t < gave_up for t in starts), [round(t - gave_up, 2) for t in starts]
