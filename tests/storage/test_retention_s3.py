"""Retention on a real S3 server (SeaweedFS): 200 checkpoints of a plain loop with `keep="last=3,best=2:val_loss"`
leave at most 6 checkpoints' bytes in the bucket, the right ones, and a snapshot another task loaded mid-run
survives. The training program and the consumer are separate processes that end as users' programs do."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import autolog

pytest.importorskip("torch")
pytestmark = pytest.mark.s3

STEPS = 200


def val_loss(i: int) -> float:
    return ((i * 7919) % STEPS) / 100 + 0.01  # a permutation: every value distinct


def test_200_checkpoints_keep_last_3_and_best_2_on_s3(tmp_path: Path, s3_uri: str, stored_objects) -> None:
    trainer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import os, time, torch, autolog
            task = autolog.init("ret", "train", output_uri={s3_uri!r}, keep="last=3,best=2:val_loss")
            print(task.id, flush=True)
            for i in range({STEPS}):
                autolog.log_metrics(step=i, val_loss=((i * 7919) % {STEPS}) / 100 + 0.01)
                torch.save({{"w": torch.full((1024,), float(i))}}, "ckpt.pt")
                if i == 60:
                    open("at-60.part", "w").write(task.models["output"][-1].id)
                    os.rename("at-60.part", "at-60")
                    while not os.path.exists("loaded"):  # another task loads this snapshot now
                        time.sleep(0.05)
            """),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    )
    task_id = trainer.stdout.readline().strip()
    deadline = time.monotonic() + 120
    while not (tmp_path / "at-60").exists():
        assert trainer.poll() is None and time.monotonic() < deadline, "the training program stopped early"
        time.sleep(0.05)
    loaded_id = (tmp_path / "at-60").read_text()
    subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import time, torch, autolog
            autolog.init("ret", "evaluate")
            model = autolog.Model.get({loaded_id!r})
            while model.upload_state == "pending":  # its upload is still on its way
                time.sleep(0.05)
                model = autolog.Model.get(model.id)
            torch.load(model.get_local_copy())
            """),
        ],
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    (tmp_path / "loaded").write_text("yes")
    assert trainer.wait(timeout=300) == 0

    outputs = autolog.Task.get_task(task_id).models["output"]
    assert len(outputs) == STEPS and [m.step for m in outputs] == list(range(STEPS))
    best_two = sorted(range(STEPS), key=val_loss)[:2]
    expected = {STEPS - 3, STEPS - 2, STEPS - 1, *best_two, 60}
    kept = {m.step for m in outputs if m.upload_state == "done"}
    assert kept == expected
    pruned = [m for m in outputs if m.upload_state == "pruned"]
    assert len(pruned) == STEPS - len(expected) and all(m.pruned_rule and "last=3" in m.pruned_rule for m in pruned)
    assert outputs[60].consumers and outputs[60].upload_state == "done"  # loaded by another task: kept

    objects = stored_objects(s3_uri)
    size = outputs[-1].size
    print(
        f"\nbucket after {STEPS} checkpoints: {len(objects)} objects, {sum(objects.values())} bytes "
        f"(one checkpoint: {size} bytes, {STEPS * size} bytes written)"
    )
    assert len(objects) <= 6 and sum(objects.values()) <= 6 * size
    for m in outputs:
        if m.upload_state == "done":
            assert m.uri in {f"s3://{p}" for p in objects}
            assert Path(m.get_local_copy()).stat().st_size == m.size  # downloaded, hash-checked
    with pytest.raises(autolog.PrunedError, match="retention policy 'last=3,best=2:val_loss:min'"):
        pruned[0].get_local_copy()
    assert autolog.Model.get(alias="best", task_id=task_id).step == best_two[0]
    assert autolog.Model.get(alias="latest", task_id=task_id).step == STEPS - 1


def test_a_bad_policy_is_refused_at_init_and_nothing_is_recorded() -> None:
    for bad, words in (
        ("last=0", "at least 1"),
        ("best=2", "needs a metric"),
        ("keep=3", "cannot read"),
        ({"best": 1}, "metric"),
        ("last=2,last=3", "twice"),
    ):
        with pytest.raises(ValueError, match=words):
            autolog.init("bad", "t", keep=bad)
    assert autolog.Task.query(project="bad") == []


def test_the_configured_default_policy_applies_and_keep_all_overrides_it(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AUTOLOG_KEEP", "last=2")
    assert autolog.init("cfg", "t", output_uri=str(tmp_path / "out")).keep == "last=2"
    assert autolog.init("cfg", "t2", output_uri=str(tmp_path / "out"), keep="all").keep is None
    monkeypatch.setenv("AUTOLOG_KEEP", "last=nope")
    with pytest.raises(autolog.ConfigError, match="AUTOLOG_KEEP"):
        autolog.init("cfg", "t3")
