"""Uploads left behind by a killed process are finished by `autolog sync` with the right bytes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_kill_9_during_upload_then_sync_completes_it(run_py, tmp_path: Path) -> None:
    data = os.urandom(8_000_000)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    proc = run_py(
        f"""
        import os, signal, autolog
        import autolog.pipeline.uploader as uploader
        task = autolog.init("p", "killed", output_uri={str(tmp_path / "out")!r})
        # hold the upload back so the kill lands mid-flight, after the pending row is durable
        original = uploader.storage_for
        def slow(uri):
            import time; time.sleep(30)
            return original(uri)
        uploader.storage_for = slow
        model = task.register_model({str(src)!r})
        task._session.store.barrier()  # the pending row is durable; the copy (hashed on the way) is held back
        print(model.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """,
        check=False,
    )
    assert proc.returncode == -9
    model_id = proc.stdout.strip()
    import autolog

    assert autolog.Model.get(model_id).upload_state == "pending"
    out = subprocess.run(
        [sys.executable, "-m", "autolog", "sync"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert "1" in out.stdout
    model = autolog.Model.get(model_id)
    assert model.upload_state == "done"
    assert Path(model.get_local_copy()).read_bytes() == data


def killed_before_copying(run_py, src: Path, out: Path, env: dict[str, str] | None = None) -> str:
    """A process that registers `src` (pending, durable in the store) and is killed before copying it; its
    model id."""
    proc = run_py(
        f"""
        import os, signal, autolog
        import autolog.pipeline.uploader as uploader
        uploader.Uploader.deliver = lambda *a, **k: None  # the process dies before copying...
        uploader.Uploader.enqueue = lambda *a, **k: None  # ...or uploading
        task = autolog.init("p", "killed", output_uri={str(out)!r})
        model = task.register_model({str(src)!r})
        task._session.recorder.worker.wait()
        task._session.store.barrier()
        print(model.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """,
        check=False,
        env=env,
    )
    return proc.stdout.strip()


def test_next_run_overwriting_the_path_then_finishing_the_orphan(run_py, tmp_path: Path, plain) -> None:
    src = tmp_path / "m.bin"
    src.write_bytes(b"orphan")
    model_id = killed_before_copying(run_py, src, tmp_path / "out")
    import autolog

    save, _load = plain
    task = autolog.init("p", "next")  # finishes the orphan in the background...
    save(b"the next run's bytes", src)  # ...while this save reuses the path of its staged inode
    task.flush()
    model = autolog.Model.get(model_id)
    assert model.upload_state == "done" and Path(model.uri).read_bytes() == b"orphan"


def test_exit_waits_up_to_upload_timeout_then_says_how_to_finish(run_py, tmp_path: Path) -> None:
    src = tmp_path / "slow.bin"
    src.write_bytes(b"uploaded later")
    proc = run_py(
        f"""
        import time, autolog
        import autolog.pipeline.uploader as uploader
        original = uploader.storage_for
        def slow(uri):
            time.sleep(60)
            return original(uri)
        uploader.storage_for = slow
        task = autolog.init("p", "timeout", output_uri={str(tmp_path / "out")!r})
        print(task.register_model({str(src)!r}).id, flush=True)
    """,
        env={"AUTOLOG_UPLOAD_TIMEOUT": "1"},
        timeout=60,
    )
    assert "1 upload(s)" in proc.stderr and "autolog sync" in proc.stderr
    import autolog

    model = autolog.Model.get(proc.stdout.strip())
    assert model.upload_state == "pending"
    assert autolog.Task.get_task(model.task_id).status == "completed"
    out = subprocess.run(
        [sys.executable, "-m", "autolog", "sync"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert out.returncode == 0 and out.stdout.startswith("1 upload(s) resumed; 0 still pending"), out.stdout
    assert Path(autolog.Model.get(model.id).get_local_copy()).read_bytes() == b"uploaded later"


def test_sync_removes_old_staged_folders_no_record_points_to(home: Path, tmp_path: Path) -> None:
    """A process killed between freezing a save's bytes and journaling it leaves a staged folder nothing
    points to: `autolog sync` removes it once it is an hour old. A folder whose record is settled (`done`: a
    process that died before releasing it, or whose final state came from the journal) goes at once."""
    import time
    import uuid

    import autolog

    src = tmp_path / "m.bin"
    src.write_bytes(b"weights")
    task = autolog.init("p", "sweep")
    known = task.register_model(str(src))
    task.close()
    staging = home / "staging"
    hour_ago = time.time() - 2 * 3600

    def folder(name: str, old: bool) -> Path:
        path = staging / name
        path.mkdir(parents=True)
        (path / "m.bin").write_bytes(b"orphan")
        if old:
            os.utime(path, (hour_ago, hour_ago))
        return path

    orphan_old = folder(uuid.uuid4().hex, old=True)
    orphan_new = folder(uuid.uuid4().hex, old=False)
    settled_new = folder(known.id, old=False)
    out = subprocess.run(
        [sys.executable, "-m", "autolog", "sync"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert not orphan_old.exists()
    assert orphan_new.exists() and not settled_new.exists()


def test_sync_reports_other_hosts_rows_apart_and_their_host_finishes_them(run_py, tmp_path: Path) -> None:
    """Two simulated hosts on one home (AUTOLOG_HOST): a sync finishes its own host's rows only (the staged
    bytes are there), says how many wait on which other host, and exits 0 for them."""
    src = tmp_path / "m.bin"
    src.write_bytes(b"host b's weights")
    model_id = killed_before_copying(run_py, src, tmp_path / "out", env={"AUTOLOG_HOST": "host-b"})

    def sync(host: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "AUTOLOG_HOST": host}
        return subprocess.run(
            [sys.executable, "-m", "autolog", "sync"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env=env,
        )

    on_a = sync("host-a")
    assert on_a.returncode == 0, on_a.stdout + on_a.stderr
    assert on_a.stdout.startswith("0 upload(s) resumed; 0 still pending, 0 failed"), on_a.stdout
    assert "on other hosts, 1 not finished (host-b: 1)" in on_a.stdout, on_a.stdout
    import autolog

    assert autolog.Model.get(model_id).upload_state == "pending"
    on_b = sync("host-b")
    assert on_b.returncode == 0 and on_b.stdout.startswith("1 upload(s) resumed; 0 still pending"), on_b.stdout
    assert "other hosts" not in on_b.stdout
    model = autolog.Model.get(model_id)
    assert model.upload_state == "done" and Path(model.get_local_copy()).read_bytes() == b"host b's weights"
