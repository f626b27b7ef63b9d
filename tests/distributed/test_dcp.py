"""torch.distributed.checkpoint end to end: save, async_save and load by 2 and 4 gloo ranks, every rank calling
`autolog.init`; one task, one folder snapshot per checkpoint holding every rank's shard; a resharded load in
one process links it; DCP's inner torch.save calls are not snapshots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("torch.distributed.checkpoint")

import autolog  # noqa: E402


def members(model: autolog.Model) -> list[str]:
    return sorted(os.listdir(model.get_local_copy()))


@pytest.mark.parametrize(("ranks", "spawn"), [(2, True), (4, False)], ids=["2-ranks-spawn", "4-ranks-torchrun"])
def test_a_sharded_checkpoint_is_one_snapshot_of_rank_0s_task_and_a_resharded_load_links_it(
    launch, tmp_path: Path, remote: Path, ranks: int, spawn: bool
):
    root = tmp_path / "ckpt"
    out = launch("dcp_job.py", str(remote), str(root), ranks=ranks, spawn=spawn)
    (task,) = autolog.Task.query(project="dist", task="train")  # one task for the job, not one per rank
    assert task.status == "completed"
    assert f"task {task.id} current True" in out.stdout  # rank 0's
    assert out.stdout.count("current False") == ranks - 1  # the other ranks: init returned, records nothing
    outputs = task.models["output"]
    assert [(m.name, m.framework, m.is_dir) for m in outputs] == [
        ("step-1", "pytorch", True),
        ("step-2", "pytorch", True),
    ]
    shards = sorted(f"__{r}_0.distcp" for r in range(ranks))
    for model in outputs:
        assert members(model) == [".metadata", *shards]  # every rank's shard, the metadata, nothing else
        assert model.uri is not None and model.uri.startswith(str(remote))
    assert task.models["input"] == []  # loading its own checkpoint: not an input of itself
    assert autolog.Model.query(framework="pytorch") == list(reversed(outputs))  # no per-file snapshots anywhere

    evaluate = launch("dcp_reshard.py", str(root / "step-1"), str(tmp_path / "full.pt"))
    consumer = autolog.Task.get_task(evaluate.stdout.split()[-1])
    assert [m.id for m in consumer.models["input"]] == [outputs[0].id]
    assert [(m.name, m.framework, m.is_dir) for m in consumer.models["output"]] == [
        ("full.pt", "pytorch", False),  # dcp_to_torch_save: the folder linked above, the file recorded
        ("converted", "pytorch", True),  # torch_save_to_dcp: the folder (its torch.load read this task's own file)
        ("via-writer", "pytorch", True),  # dcp.save(storage_writer=FileSystemWriter(dir)) in one process
    ]

    if ranks == 2:  # a copy fetched with get_local_copy() loads in one process and links the same snapshot
        fetched = launch("dcp_reshard.py", outputs[1].get_local_copy())
        assert [m.id for m in autolog.Task.get_task(fetched.stdout.split()[-1]).models["input"]] == [outputs[1].id]


@pytest.mark.s3
def test_a_checkpoint_written_to_s3_by_dcps_fsspec_writer_is_recorded_at_its_uri_without_a_copy(
    launch, s3_uri: str, tmp_path: Path
):
    pytest.importorskip("s3fs")
    root = f"{s3_uri}/run"
    launch("dcp_job.py", str(tmp_path / "unused-output"), root, ranks=2)
    (task,) = autolog.Task.query(project="dist", task="train")
    outputs = task.models["output"]
    assert [(m.name, m.uri, m.is_dir) for m in outputs] == [
        ("step-1", f"{root}/step-1", True),
        ("step-2", f"{root}/step-2", True),
    ]
    assert not (tmp_path / "unused-output").exists()  # recorded where DCP wrote it: no second copy
    assert members(outputs[0]) == [".metadata", "__0_0.distcp", "__1_0.distcp"]  # fetched and hash-checked

    evaluate = launch("dcp_reshard.py", f"{root}/step-2")
    consumer = autolog.Task.get_task(evaluate.stdout.split()[-1])
    assert [m.id for m in consumer.models["input"]] == [outputs[1].id]
