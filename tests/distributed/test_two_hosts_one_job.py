"""One distributed job over two machines: rank 0 on host "a", rank 1 on host "b", each with its own autolog home
(`AUTOLOG_HOST`, staging, cache), one PostgreSQL tracking URI, one S3 bucket as output_uri, the checkpoint folder
on a file system both mount. Both ranks call `init`: the job is one task, each checkpoint one snapshot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

import autolog  # noqa: E402
from distributed.conftest import PROGRAMS, child_env, free_port  # noqa: E402

pytestmark = [pytest.mark.postgres, pytest.mark.s3]


def test_two_hosts_training_one_job_record_one_task_and_one_snapshot_per_checkpoint(
    tmp_path: Path, pg_tracking_uri: str, s3_uri: str, monkeypatch: pytest.MonkeyPatch
):
    shared = tmp_path / "shared-fs"
    port = free_port()
    ranks = []
    for rank, host in enumerate(("a", "b")):
        machine = tmp_path / f"machine-{host}"
        machine.mkdir()
        env = child_env(
            AUTOLOG_HOME=str(machine / "home"),
            AUTOLOG_CACHE_DIR=str(machine / "cache"),
            AUTOLOG_HOST=f"host-{host}",
            AUTOLOG_TRACKING_URI=pg_tracking_uri,
            RANK=str(rank),
            WORLD_SIZE="2",
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=port,
        )
        argv = [sys.executable, str(PROGRAMS / "dcp_job.py"), "torchrun", "2", s3_uri, str(shared / "ckpt")]
        ranks.append(subprocess.Popen(argv, cwd=machine, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for proc in ranks:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    monkeypatch.setenv("AUTOLOG_TRACKING_URI", pg_tracking_uri)
    (task,) = autolog.Task.query(project="dist")
    assert (task.status, task.run_info["host"]) == ("completed", "host-a")
    outputs = task.models["output"]
    assert [m.name for m in outputs] == ["step-1", "step-2"]
    for model in outputs:
        assert model.uri is not None and model.uri.startswith(s3_uri)
        assert sorted(os.listdir(model.get_local_copy())) == [".metadata", "__0_0.distcp", "__1_0.distcp"]
    assert len(autolog.Model.query()) == 2
