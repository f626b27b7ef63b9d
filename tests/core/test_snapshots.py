"""Saves and loads through the real wrappers (over plain file functions): snapshots, integrity, lineage."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

import autolog
from autolog.storage.fingerprint import hash_file


def test_each_save_is_a_snapshot_in_call_order(plain, tmp_path: Path) -> None:
    save, _load = plain
    task = autolog.init("p", "t", output_uri=str(tmp_path / "out"))
    save(b"one", str(tmp_path / "a.bin"))
    save(b"two", tmp_path / "b.bin")
    task.flush()
    outputs = task.models["output"]
    assert [m.name for m in outputs] == ["a.bin", "b.bin"]
    assert all(m.framework == "plain" and m.task_id == task.id for m in outputs)
    assert Path(outputs[0].uri).read_bytes() == b"one"
    # stored by content below the output root (docs/storage.md); `autolog materialize` lays it out as 2_b.bin
    assert outputs[1].uri.startswith(f"{tmp_path / 'out'}/.autolog/objects/{outputs[1].hash[:2]}/{outputs[1].hash}.")


def test_saving_the_same_path_again_never_loses_an_earlier_snapshot(plain, tmp_path: Path) -> None:
    save, _load = plain
    task = autolog.init("p", "t", output_uri=str(tmp_path / "out"))
    path = tmp_path / "ckpt.bin"
    contents = [os.urandom(200_000) for _ in range(5)]
    for data in contents:
        save(data, path)  # overwrites in place while earlier uploads may still be pending
    task.flush()
    outputs = task.models["output"]
    assert [m.hash for m in outputs] == [hash_file_bytes(c, tmp_path) for c in contents]
    assert [Path(m.uri).read_bytes() for m in outputs] == contents
    assert path.read_bytes() == contents[-1]
    assert not any((Path(os.environ["AUTOLOG_HOME"]) / "staging").iterdir())


def hash_file_bytes(data: bytes, folder: Path) -> str:
    scratch = folder / "scratch"
    scratch.write_bytes(data)
    return hash_file(scratch)


def test_snapshot_survives_the_user_deleting_the_file(plain, tmp_path: Path) -> None:
    save, _load = plain
    task = autolog.init("p", "t", output_uri=str(tmp_path / "out"))
    path = tmp_path / "model.bin"
    save(b"precious", path)
    path.unlink()
    task.flush()
    assert Path(task.models["output"][0].uri).read_bytes() == b"precious"


def test_a_save_that_raises_is_not_recorded_and_the_error_is_untouched(plain, tmp_path: Path) -> None:
    save, _load = plain
    task = autolog.init("p", "t")
    with pytest.raises(FileNotFoundError) as info:
        save(b"x", str(tmp_path / "missing-dir" / "a.bin"))
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert task.models["output"] == []


def test_load_links_the_producer_even_after_copy_and_rename(plain, tmp_path: Path) -> None:
    save, load = plain
    with autolog.init("p", "producer") as producer:
        save(b"weights", tmp_path / "w.bin")
    snapshot = producer.models["output"][0]
    shutil.copy(tmp_path / "w.bin", tmp_path / "copy.bin")
    os.rename(tmp_path / "w.bin", tmp_path / "renamed.bin")
    consumer = autolog.init("p", "consumer")
    assert load(tmp_path / "renamed.bin") == b"weights"
    assert load(str(tmp_path / "copy.bin")) == b"weights"
    inputs = consumer.models["input"]
    assert [m.id for m in inputs] == [snapshot.id]  # linked once
    assert [t.id for t in autolog.Model.get(snapshot.id).consumers] == [consumer.id]
    assert autolog.Model.get(snapshot.id).task.id == producer.id


def test_unknown_file_becomes_one_imported_model_reused_later(plain, tmp_path: Path) -> None:
    _save, load = plain
    (tmp_path / "foreign.bin").write_bytes(b"from elsewhere")
    first = autolog.init("p", "first")
    load(tmp_path / "foreign.bin")
    [imported] = first.models["input"]
    assert imported.task_id is None and imported.task is None and imported.name == "foreign.bin"
    shutil.copy(tmp_path / "foreign.bin", tmp_path / "again.bin")
    second = autolog.init("p", "second")
    load(tmp_path / "again.bin")
    assert [m.id for m in second.models["input"]] == [imported.id]
    assert len(autolog.Model.query(name="foreign.bin")) == 1


def test_a_task_is_never_an_input_of_itself(plain, tmp_path: Path) -> None:
    save, load = plain
    task = autolog.init("p", "t")
    save(b"mine", tmp_path / "m.bin")
    load(tmp_path / "m.bin")
    assert task.models["input"] == []


def test_known_unchanged_file_is_answered_from_its_fingerprint(plain, tmp_path: Path, monkeypatch) -> None:
    save, load = plain
    with autolog.init("p", "producer") as producer:
        save(b"fast path", tmp_path / "f.bin")
    import autolog.pipeline.recorder as recorder

    def no_hashing(path):
        raise AssertionError(f"re-hashed {path}")

    monkeypatch.setattr(recorder, "hash_path", no_hashing)
    consumer = autolog.init("p", "consumer")
    load(tmp_path / "f.bin")
    assert [m.id for m in consumer.models["input"]] == [producer.models["output"][0].id]


def test_cross_process_lineage(plain, run_py, tmp_path: Path) -> None:
    path = tmp_path / "shared.bin"
    proc = run_py(f"""
        import autolog
        task = autolog.init("p", "producer", output_uri={str(tmp_path / "out")!r})
        open({str(path)!r}, "wb").write(b"cross process")
        model = task.register_model({str(path)!r}, framework="plain")
        print(task.id, model.id)
    """)
    producer_id, model_id = proc.stdout.split()
    _save, load = plain
    consumer = autolog.init("p", "consumer")
    load(path)
    [linked] = consumer.models["input"]
    assert (linked.id, linked.task_id) == (model_id, producer_id)


def test_ignore_patterns_rank_and_no_task(plain, tmp_path: Path, monkeypatch) -> None:
    save, load = plain
    save(b"no task", tmp_path / "free.bin")  # no current task: nothing happens, nothing breaks
    task = autolog.init("p", "t", ignore=["*/scratch/*", "*.tmp"])
    (tmp_path / "scratch").mkdir()
    save(b"x", tmp_path / "scratch" / "a.bin")
    save(b"y", tmp_path / "b.tmp")
    monkeypatch.setenv("RANK", "1")
    save(b"z", tmp_path / "rank1.bin")
    monkeypatch.setenv("RANK", "0")
    save(b"w", tmp_path / "kept.bin")
    load(tmp_path / "b.tmp")
    assert [m.name for m in task.models["output"]] == ["kept.bin"]
    assert task.models["input"] == []


def test_open_file_object_target_is_recorded_with_its_final_bytes(plain, tmp_path: Path) -> None:
    _save, _load = plain
    from autolog.capture import recording

    task = autolog.init("p", "t", output_uri=str(tmp_path / "out"))
    path = tmp_path / "handle.bin"
    with open(path, "wb") as fh:
        fh.write(b"buffered")
        target = recording.resolve_target(fh)
        recording.record_save(target, "plain")
    with open(path, "wb") as fh:  # the user reuses the path at once: the snapshot was copied
        fh.write(b"second")
    task.flush()
    assert Path(task.models["output"][0].uri).read_bytes() == b"buffered"


def test_internal_failure_never_reaches_the_users_save(plain, tmp_path: Path, lenient, monkeypatch, caplog) -> None:
    save, load = plain
    task = autolog.init("p", "t")

    def broken(*args, **kwargs):
        raise OSError("disk full in autolog")

    monkeypatch.setattr(task, "_record_output", broken)
    monkeypatch.setattr(task, "_record_input", broken)
    with caplog.at_level(logging.DEBUG, logger="autolog"):
        for i in range(3):
            assert save(b"data", tmp_path / f"{i}.bin") is None
        assert load(tmp_path / "0.bin") == b"data"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # one per (place, error type): save, load; repeats go to DEBUG
    assert "disk full in autolog" in warnings[0].getMessage()
    assert (tmp_path / "2.bin").read_bytes() == b"data"


def test_strict_mode_raises_internal_errors(plain, tmp_path: Path, monkeypatch) -> None:
    save, _load = plain
    task = autolog.init("p", "t")
    monkeypatch.setattr(task, "_record_output", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        save(b"x", tmp_path / "a.bin")


@pytest.mark.sqlite  # locks the SQLite file; on PostgreSQL, tests/team/test_connection_loss.py
def test_saves_never_wait_for_a_locked_store_and_lose_nothing(plain, tmp_path: Path, home: Path) -> None:
    """Another process holds the SQLite store locked: saves still return at once, snapshots stay intact."""
    import sqlite3
    import time

    save, _load = plain
    task = autolog.init("p", "t", output_uri=str(tmp_path / "out"))
    task.flush()
    blocker = sqlite3.connect(home / "autolog.db", timeout=1)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        for data in (b"first", b"second"):
            save(data, tmp_path / "same.bin")  # the second save rewrites the path of a snapshot not yet recorded
        assert time.monotonic() - started < 1.0
        time.sleep(1.5)
    finally:
        blocker.rollback()
        blocker.close()
    task.flush()
    assert [Path(m.uri).read_bytes() for m in task.models["output"]] == [b"first", b"second"]


def test_failing_uploads_never_reach_the_user_and_sync_finishes_them_later(
    plain, tmp_path: Path, lenient, monkeypatch, caplog
) -> None:
    import autolog.pipeline.uploader

    monkeypatch.setattr(autolog.pipeline.uploader, "RETRY_DELAYS", (0.01, 0.01))
    save, load = plain
    out = tmp_path / "out"
    task = autolog.init("p", "t", output_uri=str(out))
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(b"not a folder")  # the storage breaks mid-run: every upload fails
    with caplog.at_level(logging.WARNING, logger="autolog"):
        assert save(b"kept", tmp_path / "a.bin") is None
        assert load(tmp_path / "a.bin") == b"kept"
        task.flush()
    [model] = task.models["output"]
    assert model.upload_state == "failed" and model.uri is None
    assert any("autolog sync" in r.getMessage() for r in caplog.records)
    task.close()
    out.unlink()  # storage repaired; a later sync (here: in a new process) uploads the staged bytes
    from autolog_state import reset_for_tests

    reset_for_tests()
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "autolog", "sync"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("1 upload(s) resumed"), done.stdout + done.stderr
    assert Path(autolog.Model.get(model.id).get_local_copy()).read_bytes() == b"kept"
