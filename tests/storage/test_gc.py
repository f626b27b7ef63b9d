"""`autolog gc` on a real S3 server: a dry run lists exactly what the real run deletes, the bucket shrinks, a
second run does nothing, gc races safely with a running task and with another gc, and a killed gc leaves
nothing a second one cannot finish. Every program is a separate process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import autolog

pytest.importorskip("torch")
pytestmark = pytest.mark.s3


def _autolog(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autolog", *args], capture_output=True, text=True, cwd=cwd, timeout=300, check=True
    )


def _save_many(run_py, s3_uri: str, count: int, *, project: str = "gc", same_every: int = 0) -> str:
    """A task (no policy) saving `count` checkpoints with val_loss; every `same_every`-th one repeats content."""
    out = run_py(f"""
        import torch, autolog
        task = autolog.init({project!r}, "train", output_uri={s3_uri!r})
        for i in range({count}):
            autolog.log_metrics(step=i, val_loss=1.0 / (1 + (i * 37) % {count}))
            value = 0.0 if {same_every} and i % {same_every} == 0 else float(i)
            torch.save({{"w": torch.full((256,), value)}}, "ckpt.pt")
        print(task.id)
    """)
    return out.stdout.split()[-1]


def _check_consistent(task_id: str, s3_uri: str, stored_objects) -> None:
    """Every kept snapshot's objects are in the bucket and fetch back hash-checked; nothing unreferenced stays."""
    from autolog.run.current import get_session

    store = get_session().store
    objects = {f"s3://{p}" for p in stored_objects(s3_uri)}
    rows = store.select("objects", None)
    assert all(r["state"] == "stored" and r["refs"] > 0 for r in rows), rows
    assert {f"{s3_uri}/.autolog/objects/{r['key']}" for r in rows} == objects
    for model in autolog.Task.get_task(task_id).models["output"]:
        if model.upload_state == "done":
            assert model.uri in objects
            autolog.Model.get(model.id).get_local_copy()


def test_dry_run_lists_exactly_what_gc_deletes_and_gc_frees_the_bucket(run_py, tmp_path, s3_uri, stored_objects):
    task_id = _save_many(run_py, s3_uri, 30, same_every=5)
    before = stored_objects(s3_uri)
    assert len(before) == 30 - 6 + 1  # six saves of one content: stored once
    dry = _autolog("gc", "--keep", "last=3,best=2:val_loss", "--dry-run", cwd=tmp_path)
    assert stored_objects(s3_uri) == before  # a dry run deletes nothing
    real = _autolog("gc", "--keep", "last=3,best=2:val_loss", cwd=tmp_path)
    assert dry.stdout == real.stdout and "prune" in real.stdout and "delete" in real.stdout
    deleted = {line.split()[1] for line in real.stdout.splitlines() if line.startswith("delete")}
    after = stored_objects(s3_uri)
    assert {f"s3://{p}" for p in after} == {f"s3://{p}" for p in before} - deleted and len(after) < len(before)
    print(f"\ngc: {len(before)} -> {len(after)} objects; {real.stderr.strip()}")
    assert _autolog("gc", "--keep", "last=3,best=2:val_loss", cwd=tmp_path).stdout == ""  # idempotent
    models = autolog.Task.get_task(task_id).models["output"]
    assert sum(m.upload_state == "done" for m in models) <= 3 + 2
    _check_consistent(task_id, s3_uri, stored_objects)


def test_gc_races_a_running_task_and_another_gc_without_deleting_a_referenced_object(
    run_py, tmp_path, s3_uri, stored_objects
):
    """50 gc runs in two processes, at random moments, while a task saves (and prunes) with repeated content."""
    gc_loop = textwrap.dedent("""
        import random, sys, time
        from autolog.run.current import get_session
        from autolog.pipeline.retention import collect
        from autolog.store.keep import parse
        random.seed(int(sys.argv[1]))
        store = get_session().store
        for _ in range(25):
            time.sleep(random.random() * 0.15)
            collect(store, project="race", override=parse("last=2"))
    """)
    gcs = [
        subprocess.Popen([sys.executable, "-c", gc_loop, str(seed)], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
        for seed in (1, 2)
    ]
    task_id = _save_many(run_py, s3_uri, 60, project="race", same_every=3)
    for gc in gcs:
        _out, err = gc.communicate(timeout=300)
        assert gc.returncode == 0, err
    _autolog("gc", "--project", "race", "--keep", "last=2", cwd=tmp_path)  # what a last run still finds
    _check_consistent(task_id, s3_uri, stored_objects)


def _pruned(task_id: str) -> int:
    import sqlalchemy as sa

    from autolog.config import load_settings
    from autolog.store.sql import _normalize_url

    engine = sa.create_engine(_normalize_url(load_settings().tracking_uri))
    try:
        with engine.connect() as conn:
            query = "SELECT COUNT(*) FROM models WHERE task_id = :t AND upload_state = 'pruned'"
            return int(conn.execute(sa.text(query), {"t": task_id}).scalar_one())
    finally:
        engine.dispose()


def test_a_killed_gc_leaves_nothing_a_second_gc_cannot_finish(run_py, tmp_path, s3_uri, stored_objects):
    task_id = _save_many(run_py, s3_uri, 120, project="killed")
    gc = subprocess.Popen(
        [sys.executable, "-m", "autolog", "gc", "--keep", "last=1"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while _pruned(task_id) < 10:  # killed mid-way through pruning, objects not deleted yet
        assert gc.poll() is None and time.monotonic() < deadline, "gc ended before it could be killed"
        time.sleep(0.01)
    os.killpg(gc.pid, signal.SIGKILL)
    assert gc.wait() == -signal.SIGKILL
    left = _autolog("gc", "--keep", "last=1", "--dry-run", cwd=tmp_path).stdout
    assert "delete" in left  # the killed run left work behind
    _autolog("gc", "--keep", "last=1", cwd=tmp_path)
    assert _autolog("gc", "--keep", "last=1", "--dry-run", cwd=tmp_path).stdout == ""
    models = autolog.Task.get_task(task_id).models["output"]
    assert [m.upload_state for m in models].count("done") <= 2  # the last, and the best by val_loss
    assert len(stored_objects(s3_uri)) <= 2
    _check_consistent(task_id, s3_uri, stored_objects)
