"""Point 5: the cache never returns wrong bytes, and a path it handed out stays valid.

Each attack is done from outside between two user processes: a cached file flipped in place with its size
and mtime put back, two entries of the same size swapped, a file inside a cached folder flipped. The next
`get_local_copy()` must notice (the inode or ctime changed) and come back with the recorded bytes.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

FETCH = """
    import json, autolog
    print(json.dumps([autolog.Model.get(i).get_local_copy() for i in {ids!r}]))
"""


def _register(run_py, tmp_path: Path, files: dict[str, bytes], folder: dict[str, bytes] | None = None) -> list[str]:
    remote = tmp_path / "remote"
    src = tmp_path / "in"
    src.mkdir(exist_ok=True)
    for name, data in files.items():
        (src / name).write_bytes(data)
    if folder:
        (src / "ckpt").mkdir()
        for name, data in folder.items():
            (src / "ckpt" / name).write_bytes(data)
    proc = run_py(f"""
        import os, autolog
        task = autolog.init("p", "t", output_uri={str(remote)!r})
        ids = [task.register_model(os.path.join({str(src)!r}, n)).id for n in {list(files)!r}]
        if {bool(folder)!r}:
            ids.append(task.register_model(os.path.join({str(src)!r}, "ckpt")).id)
        print(" ".join(ids))
    """)
    return proc.stdout.split()


def _fetch(run_py, ids: list[str]) -> tuple[list[str], str]:
    proc = run_py(FETCH.format(ids=ids))
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def _flip_keeping_size_and_mtime(path: Path, data: bytes) -> None:
    st = path.stat()
    os.chmod(path, 0o600)
    with open(path, "r+b") as fh:  # in place: same inode
        fh.write(data)
    os.chmod(path, stat.S_IMODE(st.st_mode))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def test_flipped_swapped_and_folder_entries_are_detected(run_py, tmp_path: Path) -> None:
    ids = _register(
        run_py,
        tmp_path,
        {"a.pt": b"AAAA-weights", "b.pt": b"BBBB-weights"},
        folder={"model.bin": b"folder weights", "config.json": b"{}"},
    )
    paths, _ = _fetch(run_py, ids)
    a, b, ckpt = Path(paths[0]), Path(paths[1]), Path(paths[2])
    # Entries are read-only files.
    for path in (a, b, ckpt / "model.bin"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0, oct(path.stat().st_mode)

    _flip_keeping_size_and_mtime(a, b"EVIL-weights")
    _flip_keeping_size_and_mtime(ckpt / "model.bin", b"EVIL weights!!")
    paths2, stderr = _fetch(run_py, ids)
    assert paths2 == paths  # same paths, repaired
    assert a.read_bytes() == b"AAAA-weights" and (ckpt / "model.bin").read_bytes() == b"folder weights"
    assert stderr.count("was modified or corrupt") == 2, stderr

    # Swap two entries of the same size (mtimes put back): inodes give it away.
    times = {p: p.stat().st_mtime_ns for p in (a, b)}
    tmp = a.with_name("swap")
    os.rename(a, tmp)
    os.rename(b, a)
    os.rename(tmp, b)
    for p, mtime in times.items():
        os.utime(p, ns=(mtime, mtime))
    paths3, stderr = _fetch(run_py, ids)
    assert paths3 == paths
    assert a.read_bytes() == b"AAAA-weights" and b.read_bytes() == b"BBBB-weights"
    assert stderr.count("was modified or corrupt") == 2, stderr

    # Untouched entries are reused without a warning (and without a download: the remote is gone).
    for path in (tmp_path / "remote").rglob("*"):
        if path.is_file():
            path.unlink()
    paths4, stderr = _fetch(run_py, ids)
    assert paths4 == paths and "modified" not in stderr


def test_same_bytes_under_two_names_keep_both_paths(run_py, tmp_path: Path) -> None:
    ids = _register(run_py, tmp_path, {"best.pt": b"same weights", "last.pt": b"same weights"})
    (best,) = _fetch(run_py, ids[:1])[0]
    (last,) = _fetch(run_py, ids[1:])[0]
    assert Path(best).name == "best.pt" and Path(last).name == "last.pt"
    assert Path(best).read_bytes() == b"same weights" == Path(last).read_bytes()
    again, stderr = _fetch(run_py, ids)
    assert again == [best, last] and "modified" not in stderr
    assert Path(best).exists()
