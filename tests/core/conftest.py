"""Fixtures for the core tests: a plain-Python "framework" whose save/load go through the real wrappers,
and a PostgreSQL server for the store tests marked `postgres`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import wrapt

from autolog.instrumentation import Hook
from autolog.wrappers import arg, load_wrapper, save_wrapper


class PlainFilesHook(Hook):
    """A hook over two plain functions: lets the core be tested end to end with no ML framework."""

    name = "plain"
    watches = ()
    distribution = "autolog"


def _write_bytes(data: bytes, path: str) -> None:
    with open(path, "wb") as fh:
        fh.write(data)


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


@pytest.fixture
def plain():
    """(save, load) functions wrapped exactly as a framework's would be."""
    hook = PlainFilesHook()
    save = wrapt.FunctionWrapper(_write_bytes, save_wrapper(hook, target=arg(1, "path"), framework="plain"))
    load = wrapt.FunctionWrapper(_read_bytes, load_wrapper(hook, target=arg(0, "path"), framework="plain"))
    return save, load


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory):
    """AUTOLOG_TEST_POSTGRES_URL (started by .ci/run), else a throwaway local cluster, else skip."""
    url = os.environ.get("AUTOLOG_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    pytest.importorskip("psycopg")
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not bins or shutil.which("runuser") is None:
        pytest.skip("no PostgreSQL server binaries on this machine")
    bindir = bins[-1].parent
    root = tmp_path_factory.mktemp("pg")
    os.chmod(root, 0o755)
    for parent in root.parents:
        if str(parent).startswith("/tmp/") or str(parent) == "/tmp":
            os.chmod(parent, os.stat(parent).st_mode | 0o755)
    shutil.chown(root, "postgres")
    port = _free_port()
    as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_pg, str(bindir / "initdb"), "-D", f"{root}/data", "-U", "postgres", "--auth=trust",
                    "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
    subprocess.run([*as_pg, str(bindir / "pg_ctl"), "-D", f"{root}/data", "-l", f"{root}/log", "-w", "-o",
                    f"-c listen_addresses=127.0.0.1 -p {port} -k {root}", "start"], check=True, capture_output=True)
    time.sleep(0.2)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_pg, str(bindir / "pg_ctl"), "-D", f"{root}/data", "-m", "immediate", "stop"],
                       capture_output=True)
