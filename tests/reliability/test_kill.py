"""kill -9 right after a save returns: `autolog sync` (or the next `init`) rebuilds the task and every snapshot."""

from __future__ import annotations

import json
import os
import random
import signal
from pathlib import Path

import pytest

from .conftest import fresh_session, journaled, model_bytes

SAVER = """
    import hashlib, json, os, sys, time, autolog
    task = autolog.init("rel", "killed", output_uri={out!r})
    print(json.dumps({{"task": task.id}}), flush=True)
    for i in range(3):
        data = os.urandom(50_000) + bytes([i])
        {save}
        print(json.dumps({{"sha": hashlib.sha256(data).hexdigest()}}), flush=True)
    print("saved", flush=True)
    time.sleep(30)
"""
REGISTER = """p = os.path.abspath(f"ckpt{os.getpid()}-{i}.bin"); open(p, "wb").write(data); task.register_model(p)"""
TORCH = """import torch; torch.save({"blob": data}, "ckpt.pt")"""


def _run_and_kill(child, code: str, delay: float) -> dict:
    proc = child(code)
    info: dict = {"shas": []}
    for line in proc.stdout:
        if line.strip() == "saved":
            break
        entry = json.loads(line)
        if "task" in entry:
            info["task"] = entry["task"]
        else:
            info["shas"].append(entry["sha"])
    else:
        raise AssertionError(proc.stderr.read())
    if delay:
        import time

        time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    return info


def _check_recovered(runs: list[dict], content=None) -> None:
    """Every task is there and aborted; its snapshots, in save order, uploaded with the bytes that were saved."""
    import hashlib

    import autolog

    fresh_session()
    for info in runs:
        task = autolog.Task.get_task(info["task"])
        assert task.status == "aborted", task
        outputs = task.models["output"]
        assert len(outputs) == len(info["shas"]) == 3, (outputs, info)
        for model, digest in zip(outputs, info["shas"]):
            assert autolog.Model.get(model.id).upload_state == "done"
            data = content(model.id) if content else model_bytes(model.id)
            assert hashlib.sha256(data).hexdigest() == digest


def _torch_blob(model_id: str) -> bytes:
    import torch

    import autolog

    return torch.load(autolog.Model.get(model_id).get_local_copy())["blob"]


def test_kill_right_after_saves_then_sync_rebuilds_everything(child, cli, tmp_path: Path, home: Path) -> None:
    """The issue's case: killed at once, the store thread had not even opened the database."""
    info = _run_and_kill(child, SAVER.format(out=str(tmp_path / "out"), save=REGISTER), 0)
    assert sorted(t for t, _ in journaled(home)) == ["models"] * 3 + ["tasks"], "the journal holds the rows"
    done = cli("sync")
    assert done.returncode == 0, done.stdout + done.stderr
    _check_recovered([info])
    assert not os.listdir(home / "journal") and not os.listdir(home / "staging")


def test_kill_at_random_instants_after_a_save(child, cli, tmp_path: Path, home: Path) -> None:
    """20 trials, killed 0-500 ms after the last save returned; each next `init` and a final sync recover all."""
    rng = random.Random(os.environ.get("AUTOLOG_TEST_SEED", "8"))
    code = SAVER.format(out=str(tmp_path / "out"), save=REGISTER)
    runs = [_run_and_kill(child, code, rng.uniform(0, 0.5)) for _ in range(20)]
    done = cli("sync")
    assert done.returncode == 0, done.stdout + done.stderr
    _check_recovered(runs)


def test_kill_after_torch_save(child, cli, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    rng = random.Random(9)
    code = SAVER.format(out=str(tmp_path / "out"), save=TORCH)
    runs = [_run_and_kill(child, code, rng.uniform(0, 0.5)) for _ in range(2)]
    done = cli("sync")
    assert done.returncode == 0, done.stdout + done.stderr
    _check_recovered(runs, _torch_blob)
