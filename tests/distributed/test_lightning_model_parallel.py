"""Lightning's ModelParallelStrategy (FSDP2) on 2 CPU processes: its sharded checkpoint (every rank's DCP shard,
`.metadata` and rank 0's `meta.pt`) is ONE snapshot of ONE task, and resuming from it links it once. (Lightning's
FSDPStrategy refuses a CPU accelerator, so it is not run here; it goes through the same wrapper.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("lightning")

import autolog  # noqa: E402


def test_a_model_parallel_checkpoint_is_one_snapshot_and_resuming_links_it(launch, tmp_path: Path, remote: Path):
    trained = launch("lightning_model_parallel.py", "train", env={"AUTOLOG_DEFAULT_OUTPUT_URI": str(remote)})
    (task,) = autolog.Task.query(project="lightning-mp")  # Lightning's second process started no task
    assert f"TASK {task.id}" in trained.stdout
    (snapshot,) = task.models["output"]
    assert (snapshot.name, snapshot.framework, snapshot.is_dir) == ("ckpt", "lightning", True)
    assert sorted(os.listdir(snapshot.get_local_copy())) == [".metadata", "__0_0.distcp", "__1_0.distcp", "meta.pt"]

    resumed = launch("lightning_model_parallel.py", "resume")
    consumer = autolog.Task.get_task(resumed.stdout.split()[-1])
    assert [m.id for m in consumer.models["input"]] == [snapshot.id]  # one link: no meta.pt import, no shard
    assert [m for m in autolog.Model.query() if m.task_id is None] == []
