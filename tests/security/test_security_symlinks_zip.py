"""Point 2: symlinks in uploaded folders never leak what lies outside; point 3: a zip bomb is refused
before a byte of it is extracted, and a swapped zip before it is opened."""

from __future__ import annotations

import json
import os
import sqlite3
import zipfile
from pathlib import Path

from .conftest import all_files

SECRET = b"root:x:0:0:THE-PASSWD-LIKE-SECRET:/root:/bin/bash\n"


def _folder_with_links(tmp_path: Path) -> Path:
    outside = tmp_path / "private"
    (outside / "dir").mkdir(parents=True)
    (outside / "passwd").write_bytes(SECRET)
    (outside / "dir" / "key").write_bytes(SECRET)
    folder = tmp_path / "in" / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"real weights")
    (folder / "sub" / "config.json").write_bytes(b'{"layers": 2}')
    os.symlink(outside / "passwd", folder / "leak-file")  # absolute link out
    os.symlink("../../private/dir", folder / "leak-dir")  # relative link to a folder out
    os.symlink("weights.bin", folder / "alias.bin")  # link inside: keeps working
    os.symlink("sub", folder / "sub-alias")  # folder link inside: keeps working
    os.symlink("missing-target", folder / "dangling")  # points nowhere
    return folder


def test_links_out_of_an_uploaded_folder_are_skipped_with_a_warning(run_py, home: Path, tmp_path: Path) -> None:
    folder = _folder_with_links(tmp_path)
    remote = tmp_path / "remote"
    proc = run_py(f"""
        import json, os, autolog
        task = autolog.init("p", "t", output_uri={str(remote)!r})
        model = task.register_model({str(folder)!r})
        art = task.upload_artifact("folder", {str(folder)!r}, wait=True)
        task.flush()
        out = {{}}
        for kind, path in (("model", autolog.Model.get(model.id).get_local_copy()), ("artifact", art.get_local_copy())):
            files = {{}}
            for dirpath, _dirs, names in os.walk(path):
                for n in names:
                    full = os.path.join(dirpath, n)
                    files[os.path.relpath(full, path)] = open(full, "rb").read().decode()
            out[kind] = files
        print(json.dumps(out))
    """)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = {
        "weights.bin": "real weights",
        "alias.bin": "real weights",
        "sub/config.json": '{"layers": 2}',
        "sub-alias/config.json": '{"layers": 2}',
    }
    assert result["model"] == expected
    assert result["artifact"] == expected
    # One warning per link skipped, naming it (the model and the artifact read the same folder).
    for link in ("leak-file", "leak-dir", "dangling"):
        assert proc.stderr.count(str(folder / link)) == 1, (link, proc.stderr)
    assert "skipped the symbolic link" in proc.stderr
    # The secret is nowhere in what autolog wrote: not in the output store, the staging area or the cache.
    for path in all_files(home, remote):
        data = path.read_bytes()
        assert SECRET not in data, path
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                assert all(SECRET not in archive.read(i) for i in archive.infolist()), path


def _upload_folder(run_py, tmp_path: Path, remote: Path) -> tuple[str, str]:
    folder = tmp_path / "in" / "data"
    folder.mkdir(parents=True)
    for i in range(3):
        (folder / f"part{i}.txt").write_bytes(b"small content %d\n" % i)
    proc = run_py(f"""
        import autolog
        task = autolog.init("p", "t", output_uri={str(remote)!r})
        art = task.upload_artifact("data", {str(folder)!r}, wait=True)
        print(task.id, art.uri)
    """)
    task_id, uri = proc.stdout.split()
    return task_id, uri


def _rewrite_record(home: Path, task_id: str, archive: Path) -> None:
    """What someone with write access to a shared store and bucket can do: a new zip, with its hash."""
    from blake3 import blake3

    digest = blake3(archive.read_bytes()).hexdigest()
    db = sqlite3.connect(home / "autolog.db")
    db.execute("UPDATE artifacts SET hash = ?, size = ? WHERE task_id = ?", (digest, archive.stat().st_size, task_id))
    db.commit()
    db.close()


GET = """
    import autolog
    try:
        print(autolog.Task.get_task({task_id!r}).artifacts["data"].get_local_copy())
    except autolog.IntegrityError as exc:
        print("refused:", exc)
"""


def test_zip_bomb_is_refused_before_anything_is_extracted(run_py, home: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    task_id, uri = _upload_folder(run_py, tmp_path, remote)
    bomb = Path(uri)
    bomb.unlink()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("part0.txt", "w") as out:  # 64 MB of zeros, ~64 KB compressed
            chunk = bytes(1 << 20)
            for _ in range(64):
                out.write(chunk)
    _rewrite_record(home, task_id, bomb)
    proc = run_py(GET.format(task_id=task_id))
    assert "refused:" in proc.stdout and "zip bomb" in proc.stdout, proc.stdout
    written = sum(p.stat().st_size for p in all_files(home / "cache"))
    assert written < 2 * bomb.stat().st_size, written  # at most the downloaded zip itself, never its content

    # A zip with more members than recorded (each tiny, so the byte cap alone would not catch it).
    bomb.unlink()
    with zipfile.ZipFile(bomb, "w") as archive:
        for i in range(50):
            archive.writestr(f"f{i}", b"")
    _rewrite_record(home, task_id, bomb)
    proc = run_py(GET.format(task_id=task_id))
    assert "refused:" in proc.stdout and "50 files but 3 were recorded" in proc.stdout, proc.stdout


def test_swapped_zip_is_refused_by_its_hash_before_extraction(run_py, home: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    task_id, uri = _upload_folder(run_py, tmp_path, remote)
    Path(uri).unlink()
    with zipfile.ZipFile(uri, "w") as archive:
        archive.writestr("part0.txt", b"something else")
    proc = run_py(GET.format(task_id=task_id))
    assert "refused:" in proc.stdout and "do not match the recorded hash" in proc.stdout, proc.stdout
    extracted = [p for p in all_files(home / "cache") if p.name.startswith("part")]
    assert extracted == []


def test_a_load_hashes_through_links_out_but_never_uploads_them(tmp_path: Path, autolog_records) -> None:
    """Lineage of a load reads what the links point to (a Hugging Face cache snapshot is only links into
    `../../blobs`), silently; an upload of the same folder skips them (test above)."""
    from autolog.storage.fingerprint import hash_path, member_files

    blobs = tmp_path / "blobs"
    blobs.mkdir()
    (blobs / "aaa").write_bytes(b"weights A")
    snapshot = tmp_path / "snapshots" / "rev1"
    snapshot.mkdir(parents=True)
    os.symlink("../../blobs/aaa", snapshot / "model.safetensors")
    followed = member_files(snapshot, follow_links_out=True)
    assert [(rel, full.read_bytes()) for rel, full in followed] == [("model.safetensors", b"weights A")]
    assert hash_path(snapshot, follow_links_out=True) != hash_path(tmp_path / "blobs")
    assert not any("skipped the symbolic link" in r.getMessage() for r in autolog_records)
    assert member_files(snapshot) == []
    assert sum("skipped the symbolic link" in r.getMessage() for r in autolog_records) == 1
