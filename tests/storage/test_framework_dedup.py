"""Dedup and step/metrics with real frameworks on a real S3 server: a Lightning `ModelCheckpoint(save_top_k=3,
save_last=True)` run and a Hugging Face `Trainer` with 3 checkpoints, each a user program in its own process.
Bytes uploaded against bytes written are printed; identical content is stored once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import autolog

PROGRAMS = Path(__file__).parent / "programs"
pytestmark = pytest.mark.s3


def _run(program: str, *args: str, cwd: Path) -> str:
    proc = subprocess.run(
        [sys.executable, str(PROGRAMS / program), *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.split()[-1]


def _stored_once(task_id: str, s3_uri: str, stored_objects, label: str) -> list[autolog.Model]:
    from autolog.run.current import get_session

    outputs = autolog.Task.get_task(task_id).models["output"]
    links = get_session().store.refs_read("links", [m.id for m in outputs])
    objects = stored_objects(s3_uri)
    written, uploaded = sum(m.size or 0 for m in outputs), sum(objects.values())
    print(
        f"\n{label}: {len(outputs)} snapshots, {written} bytes written, {uploaded} bytes uploaded and stored "
        f"({len(objects)} objects for {len(links)} file references)"
    )
    assert len({link["hash"] for link in links}) == len(objects)  # each distinct content stored once
    assert {f"{s3_uri}/.autolog/objects/{link['key']}" for link in links} == {f"s3://{p}" for p in objects}
    assert uploaded < written
    return outputs


def test_lightning_top_k_and_last_store_identical_bytes_once(tmp_path, s3_uri, stored_objects) -> None:
    pytest.importorskip("lightning")
    task_id = _run("lightning_topk.py", s3_uri, str(tmp_path / "ckpt"), cwd=tmp_path)
    outputs = _stored_once(task_id, s3_uri, stored_objects, "lightning save_top_k=3 + save_last")
    # after the first epoch (whose last.ckpt also carries the new top-k entry) last.ckpt = the newest top-k file
    last = [m for m in outputs if m.name == "last.ckpt"][1:]
    assert last and all(any(o.hash == m.hash and o.name != m.name for o in outputs) for m in last)
    assert all(m.step is not None and m.epoch is not None and "val_loss" in m.metrics for m in outputs)
    assert {m.monitor for m in outputs} == {"val_loss"}
    best = autolog.Model.get(alias="best", task_id=task_id)
    assert best.metrics["val_loss"] == min(m.metrics["val_loss"] for m in outputs)
    assert autolog.Task.get_task(task_id).models.best().id == best.id
    for m in outputs:
        assert Path(autolog.Model.get(m.id).get_local_copy()).stat().st_size == m.size


def test_hf_trainer_checkpoints_share_their_identical_files(tmp_path, s3_uri, stored_objects) -> None:
    pytest.importorskip("transformers")
    task_id = _run("hf_trainer.py", s3_uri, str(tmp_path / "out"), cwd=tmp_path)
    outputs = _stored_once(task_id, s3_uri, stored_objects, "transformers Trainer, 3 checkpoints")
    assert [m.name for m in outputs] == ["checkpoint-2", "checkpoint-4", "checkpoint-6"]
    assert [m.step for m in outputs] == [2, 4, 6] and all("eval_loss" in m.metrics for m in outputs)
    assert {m.monitor for m in outputs} == {"eval_loss"} and {m.monitor_mode for m in outputs} == {"min"}
    folder = Path(autolog.Model.get(outputs[0].id).get_local_copy())  # members assembled, hash-checked
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
