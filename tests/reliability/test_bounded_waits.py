"""Every wait is bounded by default, and an error while closing never leaves a task half-closed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import autolog


@pytest.fixture
def slow_uploads(monkeypatch: pytest.MonkeyPatch):
    """Uploads that take a minute (a stuck network), and a 1 s upload_timeout."""
    import autolog.pipeline.uploader as uploader

    original = uploader.storage_for
    release = threading.Event()

    def slow(uri: str):
        release.wait(60)
        return original(uri)

    monkeypatch.setattr(uploader, "storage_for", slow)
    monkeypatch.setenv("AUTOLOG_UPLOAD_TIMEOUT", "1")
    yield
    release.set()


def _save(task, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"x" * 100)
    task.register_model(path)


@pytest.mark.parametrize("how", ["close", "with", "second-init"])
def test_closing_waits_at_most_upload_timeout_by_default(
    how: str, slow_uploads, tmp_path: Path, autolog_records
) -> None:
    began = time.monotonic()
    if how == "with":
        with autolog.init("rel", "bounded", output_uri=str(tmp_path / "out")) as task:
            _save(task, tmp_path, "a.bin")
    else:
        task = autolog.init("rel", "bounded", output_uri=str(tmp_path / "out"))
        _save(task, tmp_path, "a.bin")
        if how == "close":
            task.close()
        else:
            autolog.init("rel", "next")
    assert time.monotonic() - began < 1 + 2.5
    assert task.status == "completed"
    messages = [r.getMessage() for r in autolog_records]
    assert any("1 upload(s) of task" in m and "after waiting 1." in m for m in messages), messages


def test_a_flush_that_raises_still_ends_the_task(monkeypatch: pytest.MonkeyPatch) -> None:
    task = autolog.init("rel", "flush-raises")

    def broken(timeout=None):
        raise RuntimeError("flush broke")

    monkeypatch.setattr(task._session, "flush", broken)
    with pytest.raises(RuntimeError, match="flush broke"):
        task.close()
    assert task.status == "completed" and autolog.current_task() is None
    monkeypatch.delattr(task._session, "flush")
    assert autolog.Task.get_task(task.id).status == "completed"


def test_store_operations_after_the_store_stopped_fail_fast() -> None:
    from autolog.lifecycle import get_session
    from autolog.store.client import StoreUnavailable

    store = get_session().store
    assert store.ping()
    results: list = []

    def hammer() -> None:
        for _ in range(200):
            results.append(store.submit("ping"))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    store.close(5)
    for t in threads:
        t.join()
    began = time.monotonic()
    for future in results:  # each one ran or failed: none waits forever
        try:
            future.result(timeout=2)
        except StoreUnavailable:
            pass
    with pytest.raises(StoreUnavailable):
        store.ping()
    assert time.monotonic() - began < 2


def test_an_unopenable_store_raises_a_fresh_error_each_time(tmp_path: Path) -> None:
    from autolog.store.client import Store, StoreUnavailable

    (tmp_path / "file").write_text("not a folder")
    store = Store(f"sqlite:///{tmp_path / 'file' / 'autolog.db'}")
    errors = []
    for _ in range(3):
        with pytest.raises(StoreUnavailable) as info:
            store.select("tasks")
        errors.append(info.value)
    assert len({id(e) for e in errors}) == 3
    depths = []
    for error in errors:
        tb, depth = error.__traceback__, 0
        while tb is not None:
            tb, depth = tb.tb_next, depth + 1
        depths.append(depth)
    assert depths[0] == depths[-1]  # not growing with every call
    store.close(5)


def test_sync_waits_at_most_upload_timeout(cli, s3_server: dict, tmp_path: Path, child) -> None:
    """`autolog sync` against an S3 endpoint that accepts and never answers returns after upload_timeout."""
    from .test_exit import BlackHole

    hole = BlackHole()
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{hole.port}",
        "FSSPEC_S3_ENDPOINT_URL": f"http://127.0.0.1:{hole.port}",
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AUTOLOG_UPLOAD_TIMEOUT": "1",
    }
    code = f"""
        import autolog
        task = autolog.init("rel", "stuck", output_uri="s3://{s3_server["bucket"]}/stuck")
        open("m.bin", "wb").write(b"m")
        task.register_model("m.bin")
    """
    try:
        proc = child(code, env=env)
        proc.communicate(timeout=60)
        began = time.monotonic()
        done = cli("sync", env={**env, "AUTOLOG_UPLOAD_TIMEOUT": "2"})
        assert time.monotonic() - began < 2 + 4, done.stderr
        assert "still running after 2 s" in done.stderr
    finally:
        hole.close()
