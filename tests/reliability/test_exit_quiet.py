"""Once exit stops waiting for uploads (`upload_timeout`), autolog starts no new I/O and prints nothing more on
the user's stderr: the one notice that says how many uploads are left, and nothing else (no traceback of an
upload started during interpreter shutdown).

S3 here is an endpoint that accepts connections and never answers ("slow": each upload hangs) or one that
refuses them ("dead": each upload fails and is retried with backoff); several snapshots are queued behind, and
the program's own exit handler keeps the process alive for seconds after autolog's exit gave up.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

PROGRAM = """
    import atexit, os, time
    atexit.register(time.sleep, 4)  # the user's own exit work, after autolog's: the process lives on a while
    import autolog
    task = autolog.init("quiet", "exit", output_uri="s3://autolog-test/quiet")
    for i in range(6):
        open(f"m{i}.bin", "wb").write(os.urandom(100_000))
        task.register_model(f"m{i}.bin")
    print("saved", flush=True)
"""


@pytest.fixture(params=["slow", "dead"])
def bad_s3(request: pytest.FixtureRequest) -> Iterator[str]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    held: list[socket.socket] = []
    if request.param == "slow":
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
    yield f"http://127.0.0.1:{port}"
    server.close()
    for conn in held:
        conn.close()


@pytest.mark.parametrize("round_", range(2))
def test_after_a_timed_out_exit_stderr_holds_only_the_notice(child, bad_s3: str, round_: int) -> None:
    pytest.importorskip("s3fs")
    env = {
        "AUTOLOG_UPLOAD_TIMEOUT": "1",
        "AWS_ENDPOINT_URL": bad_s3,
        "FSSPEC_S3_ENDPOINT_URL": bad_s3,
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
    }
    proc = child(PROGRAM, env=env)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and out.strip() == "saved", err
    lines = [line for line in err.splitlines() if line.strip()]
    notice = [line for line in lines if "not finished after waiting" in line and "autolog sync" in line]
    assert len(notice) == 1, err
    assert lines == notice, err  # nothing before it from a retry, nothing after it from shutdown
