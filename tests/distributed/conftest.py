"""Distributed jobs as users start them: `torchrun` (the launcher sets `RANK`) or `torch.multiprocessing.spawn`
(no variable: the rank comes from the process group), on the gloo backend, every rank in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).resolve().parent / "programs"


def free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    for var in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    return {**env, **extra}


@pytest.fixture
def launch(tmp_path: Path):
    """launch(program, *args, ranks=N, spawn=False): run `programs/<program>` as an N-rank job in `tmp_path`;
    returns the CompletedProcess (a non-zero exit fails the test)."""

    def run(program: str, *args: str, ranks: int = 1, spawn: bool = False, env: dict[str, str] | None = None):
        script = str(PROGRAMS / program)
        if ranks == 1 and not spawn:
            argv = [sys.executable, script, *args]
        elif spawn:
            argv = [sys.executable, script, "spawn", str(ranks), *args, free_port()]
        else:
            argv = [
                sys.executable,
                "-m",
                "torch.distributed.run",
                f"--nproc-per-node={ranks}",
                "--master-addr=127.0.0.1",
                f"--master-port={free_port()}",
                script,
                "torchrun",
                str(ranks),
                *args,
            ]
        proc = subprocess.run(
            argv, cwd=tmp_path, env=child_env(**(env or {})), capture_output=True, text=True, timeout=300
        )
        if proc.returncode != 0:
            raise AssertionError(f"{program} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    return run
