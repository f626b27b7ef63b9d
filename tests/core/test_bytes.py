"""The bytes of a snapshot under faults: failing destinations, full disks, other file systems, leftovers.

File-system faults use real tmpfs mounts (root only; skipped elsewhere).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import autolog
from autolog.pipeline.staging import Staging

STAGING_DIRNAME = ".autolog-staging"


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    """A small tmpfs mounted at `path` for the duration (skip when mounting is not allowed)."""
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def sync() -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autolog", "sync"], capture_output=True, text=True, timeout=120)


def test_not_found_on_the_last_retry_is_recorded_failed_not_left_pending(tmp_path: Path, lenient, monkeypatch) -> None:
    """A backend that keeps answering FileNotFoundError (s3fs: a missing bucket) while the staged bytes
    exist: the upload ends `failed`, so `sync` retries it; it never stays `pending` for ever."""
    import autolog.pipeline.uploader
    import autolog.storage.access

    monkeypatch.setattr(autolog.pipeline.uploader, "RETRY_DELAYS", (0.01, 0.01))

    def missing_bucket(self, local_path, dest_uri):
        raise FileNotFoundError(f"NoSuchBucket: {dest_uri}")

    monkeypatch.setattr(autolog.storage.access.Storage, "put", missing_bucket)
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"kept")
    task = autolog.init("p", "missing-bucket", output_uri="memory://autolog-missing-bucket/run")
    task.register_model(weights)
    assert task.flush(timeout=30)
    [model] = task.models["output"]
    assert model.upload_state == "failed" and model.uri is None and model.hash is not None
    row = task._session.store.get("models", model.id)
    assert "NoSuchBucket" in row["error"] and os.path.exists(row["staging_path"])


def test_leftover_protection_ends_once_sync_finished_the_leftovers(plain, run_py, tmp_path: Path) -> None:
    """While another process's staged snapshots exist, any multiply-linked file is unlinked before a save.
    Once they are finished, a user's own hard link behaves as without autolog again."""
    src = tmp_path / "orphan.bin"
    src.write_bytes(b"orphan")
    run_py(
        f"""
        import os, signal, autolog
        import autolog.pipeline.uploader as uploader
        uploader.Uploader.deliver = lambda *a, **k: None  # the process dies before copying...
        uploader.Uploader.enqueue = lambda *a, **k: None  # ...or uploading
        task = autolog.init("p", "killed", output_uri={str(tmp_path / "out")!r})
        task.register_model({str(src)!r})
        task._session.recorder.worker.wait()
        task._session.store.barrier()
        os.kill(os.getpid(), signal.SIGKILL)
    """,
        check=False,
    )
    save, _load = plain
    task = autolog.init("p", "next")  # finishes the leftover
    task.flush()
    assert not any((Path(os.environ["AUTOLOG_HOME"]) / "staging").iterdir())
    mine, alias = tmp_path / "mine.bin", tmp_path / "alias.bin"
    mine.write_bytes(b"old")
    os.link(mine, alias)  # the user's own hard link
    save(b"new", mine)
    task.flush()
    assert alias.read_bytes() == b"new"  # as without autolog: the save wrote the shared inode
    assert Path(task.models["output"][0].local_path).read_bytes() == b"new"


def test_full_output_keeps_every_snapshot_leaves_no_partial_file_and_sync_recovers(run_py, tmp_path: Path) -> None:
    out = tmp_path / "out"
    datas = [bytes([i]) * 300_000 for i in range(5)]
    with tmpfs(out, "700k"):
        proc = run_py(
            f"""
            import autolog
            task = autolog.init("p", "full", output_uri={str(out)!r})
            for i in range(5):
                path = {str(tmp_path)!r} + f"/m{{i}}.bin"
                open(path, "wb").write(bytes([i]) * 300_000)
                print(task.register_model(path).id, flush=True)
                assert task.flush(timeout=60)
        """,
            env={"AUTOLOG_STRICT": "0"},
            timeout=120,
        )
        ids = proc.stdout.split()
        models = [autolog.Model.get(i) for i in ids]
        assert [m.upload_state for m in models].count("failed") >= 3, [m.upload_state for m in models]
        assert not [p for p in out.rglob("*") if ".part-" in p.name], list(out.rglob("*"))
        assert "No space left" in proc.stderr and "autolog sync" in proc.stderr
        for i in range(5):
            (tmp_path / f"m{i}.bin").unlink()  # only the staged copies remain
        subprocess.run(["mount", "-o", "remount,size=8m", str(out)], check=True)
        done = sync()
        assert done.returncode == 0, done.stdout + done.stderr
        fetched = [Path(autolog.Model.get(i).get_local_copy()).read_bytes() for i in ids]
        assert fetched == datas
        assert all(autolog.Model.get(i).upload_state == "done" for i in ids)


def test_staging_stays_on_the_checkpoints_file_system(tmp_path: Path) -> None:
    """The home on another file system: the snapshot is hard-linked into a staging folder on the
    checkpoint's file system (no copy), and released from there."""
    with tmpfs(tmp_path / "home-fs", "16m") as home_fs:
        staging = Staging(home_fs / "staging")
        ckpt = tmp_path / "ckpt.bin"
        ckpt.write_bytes(b"x" * 100_000)
        staged = staging.stage("k1", str(ckpt))
        assert os.stat(staged).st_ino == os.stat(ckpt).st_ino  # a link, not a copy
        assert Path(staged).parent.parent.name == STAGING_DIRNAME
        assert staging.intact(staged) is None
        staging.release(staged)
        assert not Path(staged).parent.exists() and os.stat(ckpt).st_nlink == 1
        # a later process (`sync`) learns every root this home used
        assert str(Path(staged).parent.parent) in Staging(home_fs / "staging").all_roots()


def test_home_on_another_file_system_records_every_save_exactly(plain, tmp_path: Path, monkeypatch) -> None:
    with tmpfs(tmp_path / "home-fs", "16m") as home_fs:
        monkeypatch.setenv("AUTOLOG_HOME", str(home_fs / "home"))
        save, _load = plain
        task = autolog.init("p", "other-fs", output_uri=str(tmp_path / "out"))
        contents = [os.urandom(100_000) for _ in range(4)]
        for data in contents:
            save(data, tmp_path / "ckpt.bin")
        task.flush()
        outputs = task.models["output"]
        assert [Path(m.get_local_copy()).read_bytes() for m in outputs] == contents
        task.close()
        from autolog_state import reset_for_tests

        reset_for_tests()
    leftovers = [p for p in Path("/").glob(f"{STAGING_DIRNAME}/*")] + list(tmp_path.glob(f"{STAGING_DIRNAME}/*"))
    assert not [p for p in leftovers if p.name in {m.id for m in outputs}]


@pytest.mark.parametrize("overwritten", [False, True])
def test_sync_finishes_and_removes_a_leftover_staged_on_another_file_system(
    run_py, tmp_path: Path, monkeypatch, overwritten: bool
) -> None:
    """A killed process's snapshot staged beside the checkpoint (home on a tmpfs): `sync` uploads it and
    removes that staging folder. If the user rewrote the file in place meanwhile, the staged bytes no
    longer have the hash recorded at save time: flagged `lost`, never uploaded as that snapshot."""
    data = b"left behind" * 1000
    with tmpfs(tmp_path / "home-fs", "16m") as home_fs:
        monkeypatch.setenv("AUTOLOG_HOME", str(home_fs / "home"))
        src = tmp_path / "ckpt.bin"
        src.write_bytes(data)
        proc = run_py(
            f"""
            import os, signal, autolog
            import autolog.pipeline.uploader as uploader
            uploader.Uploader.deliver = lambda *a, **k: None  # the process dies before copying...
            uploader.Uploader.enqueue = lambda *a, **k: None  # ...or uploading
            task = autolog.init("p", "killed", output_uri={str(tmp_path / "out")!r})
            model = task.register_model({str(src)!r})
            task._session.recorder.worker.wait()
            task._session.store.barrier()
            row = task._session.store.get("models", model.id)
            print(model.id, row["staging_path"], flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        """,
            check=False,
        )
        model_id, staged = proc.stdout.split()
        assert Path(staged).parent.parent.name == STAGING_DIRNAME and not staged.startswith(str(home_fs))
        assert os.stat(staged).st_ino == os.stat(src).st_ino  # a hard link, not a copy
        if overwritten:
            with open(src, "r+b") as f:  # a raw in-place write into the frozen inode
                f.write(b"X")
        done = sync()
        assert done.returncode == 0, done.stdout + done.stderr
        model = autolog.Model.get(model_id)
        assert not Path(staged).parent.exists()
        if overwritten:
            assert model.upload_state == "lost" and model.hash is None
            with pytest.raises(autolog.errors.IntegrityError, match="lost"):
                model.get_local_copy()
        else:
            assert model.upload_state == "done"
            assert Path(model.get_local_copy()).read_bytes() == data
        from autolog_state import reset_for_tests

        reset_for_tests()


def test_a_local_copy_is_a_hard_link_only_when_nobody_else_can_write_the_inode(tmp_path: Path) -> None:
    """A staged file that is the only name of its inode is hard-linked to a same-file-system output (no
    bytes move); one still shared with the user's path is copied, hashed in the same read."""
    from autolog.storage.access import Storage
    from autolog.storage.fingerprint import hash_file

    staging = tmp_path / "staging"
    staging.mkdir()
    alone, shared, user = staging / "alone.bin", staging / "shared.bin", tmp_path / "user.bin"
    alone.write_bytes(os.urandom(300_000))
    user.write_bytes(os.urandom(300_000))
    os.link(user, shared)
    out = Storage(str(tmp_path / "out"))
    assert out.put_hashed(str(alone), str(tmp_path / "out" / "a"), staged=True) == hash_file(alone)
    assert os.stat(tmp_path / "out" / "a").st_ino == os.stat(alone).st_ino  # linked
    digest = out.put_hashed(str(shared), str(tmp_path / "out" / "s"), staged=True)
    assert digest == hash_file(user) and os.stat(tmp_path / "out" / "s").st_ino != os.stat(user).st_ino
    before = (tmp_path / "out" / "s").read_bytes()
    with open(user, "r+b") as f:  # the user writes into their file in place: the remote copy must not change
        f.write(b"changed")
    assert (tmp_path / "out" / "s").read_bytes() == before
    assert not list((tmp_path / "out").glob("*.part-*"))


@pytest.mark.parametrize("kernel_copy", [True, False], ids=["kernel-copy", "block-copy"])
@pytest.mark.parametrize("threads", [False, True], ids=["one-core", "all-cores"])
def test_a_needed_copy_is_hashed_as_stored(tmp_path: Path, monkeypatch, kernel_copy: bool, threads: bool) -> None:
    """Both ways of copying (the kernel's copy then a hash of the copy, or 1 MiB blocks hashed between read
    and write for files too large for the page cache) give the same hash, that of the bytes stored, with or
    without hashing threads (used only while someone waits)."""
    from autolog.storage import fingerprint
    from autolog.storage.access import Storage
    from autolog.storage.fingerprint import hash_file

    monkeypatch.setattr(fingerprint, "KERNEL_COPY_LIMIT", 2**40 if kernel_copy else 0)
    user = tmp_path / "user.bin"
    user.write_bytes(os.urandom(3 * 2**20 + 12345))  # not a whole number of blocks
    shared = tmp_path / "staging" / "shared.bin"
    shared.parent.mkdir()
    os.link(user, shared)
    dest = tmp_path / "out" / "m.bin"
    digest = Storage(str(tmp_path / "out")).put_hashed(str(shared), str(dest), staged=True, threads=threads)
    assert digest == hash_file(user) == hash_file(dest)
    assert dest.read_bytes() == user.read_bytes() and os.stat(dest).st_ino != os.stat(user).st_ino


def test_remote_copy_never_changes_when_the_user_writes_into_their_file(plain, tmp_path: Path) -> None:
    save, _load = plain
    task = autolog.init("p", "t", output_uri=str(tmp_path / "out"))
    path = tmp_path / "kept.bin"
    save(b"saved bytes", path)
    task.flush()
    [model] = task.models["output"]
    with open(path, "r+b") as f:
        f.write(b"SAVED")
    assert Path(model.uri).read_bytes() == b"saved bytes"
    assert Path(model.get_local_copy()).read_bytes() == b"saved bytes"


def test_a_retry_removes_what_a_killed_attempt_left(tmp_path: Path) -> None:
    """A process killed mid-copy leaves `dest.part-*`; the next attempt at that destination removes it."""
    from autolog.storage.access import Storage

    staged = tmp_path / "staged.bin"
    staged.write_bytes(b"bytes")
    dest = tmp_path / "out" / "models" / "1_m.bin"
    dest.parent.mkdir(parents=True)
    (dest.parent / "1_m.bin.part-deadbeef").write_bytes(b"half")
    (dest.parent / "2_other.bin.part-cafef00d").write_bytes(b"another snapshot's attempt")
    Storage(str(tmp_path / "out")).put_hashed(str(staged), str(dest), staged=True)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["1_m.bin", "2_other.bin.part-cafef00d"]


def test_staging_folders_made_ahead_never_pile_up(run_py, tmp_path: Path, home: Path) -> None:
    """Each process keeps a few empty staging folders ready (a rename is 10x cheaper than a mkdir on a
    busy disk); the next process takes over the ones left, so they never accumulate."""
    from autolog.pipeline.staging import SPARE_FOLDERS

    for i in range(3):
        run_py(f"""
            import autolog
            open("m.bin", "wb").write(b"{i}")
            task = autolog.init("p", "spares", output_uri={str(tmp_path / "out")!r})
            task.register_model("m.bin")
            task.flush()
        """)
    spares = list((home / "staging-spares").iterdir())
    assert 0 < len(spares) <= SPARE_FOLDERS
    assert not any((home / "staging").iterdir())
