"""Point 6: what autolog creates is private (0700 folders, 0600 files, a stricter umask wins), and no copy
is more open than its source."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_home_database_staging_cache_and_copies_are_private(run_py, home: Path, tmp_path: Path, umask: int) -> None:
    remote = tmp_path / "remote"
    src = tmp_path / "in"
    src.mkdir()
    secret = src / "secret.bin"
    secret.write_bytes(b"private weights")
    os.chmod(secret, 0o600)
    shared = src / "shared.bin"
    shared.write_bytes(b"readable weights")
    os.chmod(shared, 0o644)
    proc = run_py(f"""
        import json, os, autolog
        os.umask({umask})
        local = autolog.init("p", "local")                                       # the home's local store
        a1 = local.upload_artifact("secret", {str(secret)!r}, wait=True)
        a2 = local.upload_artifact("shared", {str(shared)!r}, wait=True)
        remote = autolog.init("p", "remote", output_uri={str(remote)!r})        # a local output folder
        m1 = remote.register_model({str(secret)!r})
        m2 = remote.register_model({str(shared)!r})
        remote.flush()
        print(json.dumps({{"stored": [a1.uri, a2.uri, autolog.Model.get(m1.id).uri, autolog.Model.get(m2.id).uri],
                          "cached": [a1.get_local_copy(), autolog.Model.get(m1.id).get_local_copy(),
                                     autolog.Model.get(m2.id).get_local_copy()]}}))
    """)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # The home and what autolog keeps in it.
    for folder in (home, home / "staging", home / "cache", home / "files"):
        assert _mode(folder) == 0o700, (folder, oct(_mode(folder)))
    for db in home.glob("autolog.db*"):
        assert _mode(db) == 0o600, (db, oct(_mode(db)))
    # Copies keep the source's mode (narrowed by the umask), never wider.
    narrow = 0o644 & ~umask
    secret_stored, shared_stored, secret_model, shared_model = map(Path, out["stored"])
    assert _mode(secret_stored) == 0o600 and _mode(secret_model) == 0o600
    assert _mode(shared_stored) == narrow and _mode(shared_model) == narrow
    # Cache entries: read-only, and only for their owner.
    for path in map(Path, out["cached"]):
        assert _mode(path) == 0o400, (path, oct(_mode(path)))
