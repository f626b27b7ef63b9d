"""Fixtures for the security tests: a PostgreSQL server, a closed port, and a look at every file on disk.

The tests are black-box where they can be: a subprocess user program does what an attacker or a careless
user would, and the test checks the files from outside.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def all_files(*roots: Path) -> set[Path]:
    """Every file and symlink under the given folders (those that exist)."""
    found: set[Path] = set()
    for root in roots:
        if not root.exists():
            continue
        for dirpath, dirs, files in os.walk(root):
            found.update(Path(dirpath) / n for n in files)
            found.update(Path(dirpath) / d for d in dirs if os.path.islink(Path(dirpath) / d))
    return found


def autolog_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`autolog ARGS` as a user runs it: the installed package (run outside the checkout, which `-m` would
    otherwise put first on sys.path)."""
    import tempfile

    return subprocess.run(
        [sys.executable, "-m", "autolog", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        cwd=tempfile.gettempdir(),
    )


@pytest.fixture(scope="session")
def postgres_url():
    """AUTOLOG_TEST_POSTGRES_URL (started by .ci/run), else a throwaway cluster started here with
    `.ci/start-postgres.sh` (port AUTOLOG_TEST_POSTGRES_PORT or a free one), else skip."""
    url = os.environ.get("AUTOLOG_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    pytest.importorskip("psycopg")
    if not sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or shutil.which("runuser") is None:
        pytest.skip("no PostgreSQL: set AUTOLOG_TEST_POSTGRES_URL or install the server binaries")
    # Not under pytest's basetemp: pytest makes /tmp/pytest-of-<user> 0700 again on every run, which would
    # shut the postgres user out of its own cluster while another test run starts.
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="autolog-security-pg-"))
    os.chmod(root, 0o755)
    port = os.environ.get("AUTOLOG_TEST_POSTGRES_PORT") or str(free_port())
    proc = subprocess.run(
        ["bash", str(_ROOT / ".ci" / "start-postgres.sh"), str(root / "cluster")],
        capture_output=True,
        text=True,
        env={**os.environ, "AUTOLOG_TEST_POSTGRES_PORT": port},
        timeout=120,
    )
    if proc.returncode != 0:
        pytest.fail(f".ci/start-postgres.sh failed:\n{proc.stderr}")
    found = dict(
        line[len("export ") :].split("=", 1) for line in proc.stdout.splitlines() if line.startswith("export ")
    )
    time.sleep(0.2)
    try:
        yield found["AUTOLOG_TEST_POSTGRES_URL"]
    finally:
        subprocess.run(found["AUTOLOG_TEST_POSTGRES_STOP"].strip("'"), shell=True, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_database(postgres_url: str) -> str:
    """A fresh, empty database on the server (each test gets its own schema state)."""
    import uuid

    import psycopg

    name = "sec_" + uuid.uuid4().hex[:10]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_url.rsplit("/", 1)[0] + "/" + name
