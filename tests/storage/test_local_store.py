"""Dedup, retention and aliases on a local output folder, through the public API (fast; the S3 and
real-framework cases are in the other files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import autolog


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_identical_files_and_folder_members_are_stored_once_and_fetch_back(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (tmp_path / "a.bin").write_bytes(b"same" * 1000)
    (tmp_path / "b.bin").write_bytes(b"same" * 1000)
    for name in ("ck1", "ck2"):
        folder = tmp_path / name
        (folder / "sub").mkdir(parents=True)
        (folder / "config.json").write_text('{"same": true}')
        (folder / "sub" / "weights.bin").write_bytes(name.encode() * 500)
    with autolog.init("dedup", "t", output_uri=str(out)) as task:
        for name in ("a.bin", "b.bin", "ck1", "ck2"):
            task.register_model(tmp_path / name)
    models = task.models["output"]
    assert models[0].uri == models[1].uri  # one object for both files
    # 1 file + config.json once + 2 weights + 2 manifests
    assert len(_files(out)) == 6
    for source, model in zip(("a.bin", "b.bin", "ck1", "ck2"), models):
        copy = Path(autolog.Model.get(model.id).get_local_copy())
        if copy.is_dir():
            assert (copy / "config.json").read_text() == '{"same": true}'
            assert (copy / "sub" / "weights.bin").read_bytes() == (
                tmp_path / source / "sub" / "weights.bin"
            ).read_bytes()
        else:
            assert copy.read_bytes() == b"same" * 1000


def test_a_folder_with_hidden_members_comes_back_with_their_names(tmp_path: Path) -> None:
    """A DCP checkpoint's `.metadata` (hidden) and a `.config/x` member keep their names through the manifest."""
    folder = tmp_path / "step-1"
    (folder / ".config").mkdir(parents=True)
    (folder / ".metadata").write_bytes(b"dcp metadata")
    (folder / "__0_0.distcp").write_bytes(b"shard 0")
    (folder / ".config" / "x").write_text("x")
    with autolog.init("dedup", "hidden", output_uri=str(tmp_path / "out")) as task:
        task.register_model(folder)
    copy = Path(task.models["output"][0].get_local_copy())
    assert sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file()) == [
        ".config/x",
        ".metadata",
        "__0_0.distcp",
    ]


def test_a_stored_object_changed_behind_autolog_is_an_integrity_error(tmp_path: Path) -> None:
    (tmp_path / "m.bin").write_bytes(b"original")
    with autolog.init("dedup", "t", output_uri=str(tmp_path / "out")) as task:
        model = task.register_model(tmp_path / "m.bin")
    stored = Path(autolog.Model.get(model.id).uri)
    os.chmod(stored, 0o600)
    stored.write_bytes(b"tampered")
    with pytest.raises(autolog.IntegrityError):
        autolog.Model.get(model.id).get_local_copy()


def test_dedup_off_keeps_per_snapshot_copies_and_retention_frees_them(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AUTOLOG_DEDUP", "0")
    out = tmp_path / "out"
    with autolog.init("plain", "t", output_uri=str(out), keep="last=1") as task:
        for i in range(4):
            autolog.log_metrics(step=i)
            (tmp_path / "m.bin").write_bytes(b"x" * (i + 1))
            task.register_model(tmp_path / "m.bin")
            task.flush()
    models = task.models["output"]
    assert [m.upload_state for m in models] == ["pruned", "pruned", "pruned", "done"]
    assert [p.name for p in _files(out)] == ["4_m.bin"] and models[-1].uri.endswith("/models/4_m.bin")


def test_aliases_are_unique_per_project_movable_logged_and_protect_from_gc(tmp_path: Path) -> None:
    from autolog.run.current import get_session

    with autolog.init("alias", "t", output_uri=str(tmp_path / "out")) as task:
        for i in range(4):
            autolog.log_metrics(step=i, loss=4 - i)
            (tmp_path / f"m{i}.bin").write_bytes(bytes([i]) * 10)
            task.register_model(tmp_path / f"m{i}.bin")
    first, second = task.models["output"][:2]
    first.set_alias("production")
    second.set_alias("candidate")
    second.set_alias("production")  # moved
    assert autolog.Model.get(alias="production", project="alias").id == second.id
    assert set(second.aliases) == {"production", "candidate"}
    history = get_session().store.refs_read("alias_history", "alias", "production")
    assert [h["model_id"] for h in history] == [first.id, second.id] and all("@" in h["set_by"] for h in history)
    with pytest.raises(ValueError, match="automatic"):
        first.set_alias("latest")
    from autolog.pipeline.retention import collect
    from autolog.store.keep import parse

    collect(get_session().store, project="alias", override=parse("last=1"))
    states = [m.upload_state for m in autolog.Task.get_task(task.id).models["output"]]
    assert states == ["pruned", "done", "pruned", "done"]  # the aliased one and the final one stay
    autolog.Model.remove_alias("production", "alias")
    autolog.Model.remove_alias("candidate", "alias")
    with pytest.raises(autolog.NotFoundError):
        autolog.Model.get(alias="production", project="alias")
    with pytest.raises(autolog.PrunedError, match="last=1"):
        autolog.Model.get(first.id).get_local_copy()


def test_best_by_metric_and_query_ordered_by_a_metric(tmp_path: Path) -> None:
    with autolog.init("metrics", "t", output_uri=str(tmp_path / "out")) as task:
        for i, acc in enumerate([0.5, 0.9, 0.7]):
            autolog.log_metrics({"val/acc": acc}, step=i * 10, epoch=i)
            (tmp_path / f"m{i}.bin").write_bytes(bytes([i]) * 10)
            task.register_model(tmp_path / f"m{i}.bin")
        with pytest.raises(TypeError, match="'bad' must be a number"):
            autolog.log_metrics(bad="high")
    assert task.models.best("val/acc", mode="max").step == 10
    assert task.models.best("val/acc").step == 0
    assert [m.step for m in autolog.Model.query(project="metrics", order_by="-val/acc")] == [10, 20, 0]
    assert [m.epoch for m in autolog.Model.query(project="metrics", order_by="val/acc")] == [0, 2, 1]


def test_cli_alias_models_show_and_materialize(run_py, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    out = tmp_path / "out"
    task_id = run_py(f"""
        import autolog
        task = autolog.init("cli", "train", output_uri={str(out)!r}, keep="last=1")
        for i in range(3):
            autolog.log_metrics(step=i * 100, val_loss=1.0 / (i + 1))
            open(f"m{{i}}.bin", "wb").write(bytes([i]) * 64)
            task.register_model(f"m{{i}}.bin")
            task.flush()
        print(task.id)
    """).stdout.split()[-1]

    def cli(*args: str) -> str:
        env = {**os.environ, "COLUMNS": "200"}  # a wide terminal: no optional column left out
        proc = subprocess.run(
            [sys.executable, "-m", "autolog", *args], capture_output=True, text=True, cwd=tmp_path, env=env
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    models = json.loads(cli("models", "--project", "cli", "--json"))
    assert [(m["step"], m["upload_state"]) for m in models] == [(200, "done"), (100, "pruned"), (0, "pruned")]
    assert models[1]["pruned_rule"] == "retention policy 'last=1'" and models[0]["metrics"] == {"val_loss": 1 / 3}
    assert "production -> " in cli("alias", models[0]["id"][:12], "production")
    listing = cli("models", "--project", "cli")
    assert "production" in listing and "val_loss=0.3333" in listing and "pruned" in listing
    shown = cli("show", models[1]["id"])
    assert "retention policy 'last=1'" in shown and "pruned" in shown
    assert json.loads(cli("show", models[0]["id"], "--json"))["aliases"] == ["production", "latest"]
    assert cli("alias", "--list", "--project", "cli").startswith("production\t" + models[0]["id"])
    cli("materialize", str(tmp_path / "tree"), "--task", task_id)
    assert (tmp_path / "tree" / "cli" / f"train.{task_id}" / "models" / "3_m2.bin").read_bytes() == bytes([2]) * 64


def test_two_processes_saving_the_same_content_at_once_stay_consistent(tmp_path: Path) -> None:
    """Both processes store the same 30 contents under one root at the same moment: every snapshot fetches back,
    and every object's reference count equals the snapshots pointing at it."""
    import subprocess
    import sys
    import textwrap

    out = tmp_path / "out"
    program = textwrap.dedent(f"""
        import sys, autolog
        task = autolog.init("same", sys.argv[1], output_uri={str(out)!r})
        for i in range(30):
            name = f"{{sys.argv[1]}}-{{i}}.bin"
            open(name, "wb").write(bytes([i]) * 4096)
            task.register_model(name)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", program, name], cwd=tmp_path) for name in ("a", "b")]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    from autolog.run.current import get_session

    store = get_session().store
    rows = store.select("objects", None)
    links = store.select("model_objects", None)
    assert sorted(r["refs"] for r in rows) == sorted(sum(1 for link in links if link["key"] == r["key"]) for r in rows)
    assert 30 <= len(rows) <= 60 and len(_files(out)) == len(rows)
    for task in autolog.Task.query(project="same"):
        for model in task.models["output"]:
            assert Path(autolog.Model.get(model.id).get_local_copy()).read_bytes()[:1] == bytes(
                [int(model.name.split("-")[1].split(".")[0])]
            )


def test_gc_deletes_old_bytes_no_record_describes_and_leaves_young_ones(tmp_path: Path) -> None:
    """A writer killed between its upload and its row leaves an object without a record: gc deletes it once it is
    older than any upload in progress could be, and lists it in a dry run first."""
    import time

    from autolog.pipeline.retention import ORPHAN_AGE_S, collect
    from autolog.run.current import get_session

    out = tmp_path / "out"
    with autolog.init("orphans", "t", output_uri=str(out)) as task:
        (tmp_path / "m.bin").write_bytes(b"kept")
        task.register_model(tmp_path / "m.bin")
    objects = out / ".autolog" / "objects"
    old, young = objects / "ab" / ("ab" * 32 + ".dead0001"), objects / "tmp" / "in-progress"
    for path in (old, young):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"left behind")
    past = time.time() - ORPHAN_AGE_S - 60
    os.utime(old, (past, past))
    store = get_session().store
    dry = collect(store, project="orphans", dry_run=True).lines()
    assert dry == [f"delete {old}  (stored without a record)"]
    assert collect(store, project="orphans").lines() == dry
    assert not old.exists() and young.exists()
    assert Path(autolog.Model.get(task.models["output"][0].id).get_local_copy()).read_bytes() == b"kept"


def test_every_nth_step_and_a_mapping_policy(tmp_path: Path) -> None:
    policy = {"last": 1, "every": 4}
    with autolog.init("every", "t", output_uri=str(tmp_path / "out"), keep=policy) as task:
        assert task.keep == "last=1,every=4"
        for i in range(10):
            autolog.log_metrics(step=i)
            (tmp_path / f"m{i}.bin").write_bytes(bytes([i]) * 16)
            task.register_model(tmp_path / f"m{i}.bin")
            task.flush()
    kept = [m.step for m in task.models["output"] if m.upload_state == "done"]
    assert kept == [0, 4, 8, 9]
