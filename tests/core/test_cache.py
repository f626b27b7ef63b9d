from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

import autolog


def _model(tmp_path: Path, data: bytes, name: str = "m.bin") -> autolog.Model:
    (tmp_path / name).write_bytes(data)
    with autolog.init("p", "t", output_uri=str(tmp_path / "out")) as task:
        model = task.register_model(tmp_path / name)
    return autolog.Model.get(model.id)


def test_corrupt_cache_entry_is_detected_and_fetched_again(tmp_path: Path, caplog) -> None:
    model = _model(tmp_path, b"good bytes")
    copy = Path(model.get_local_copy())
    copy.write_bytes(b"evil bytes")
    with caplog.at_level(logging.WARNING, logger="autolog"):
        again = Path(model.get_local_copy())
    assert again.read_bytes() == b"good bytes"
    assert any("modified or corrupt" in r.getMessage() for r in caplog.records)


def test_corrupt_remote_copy_is_an_error_naming_the_model(tmp_path: Path) -> None:
    model = _model(tmp_path, b"original")
    Path(model.uri).write_bytes(b"tampered")
    with pytest.raises(autolog.IntegrityError, match=f"model {model.id} \\(m.bin\\)"):
        model.get_local_copy()


def test_lru_eviction_past_cache_max_bytes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AUTOLOG_CACHE_MAX_BYTES", "2500")
    models = [_model(tmp_path, bytes([i]) * 1000, f"m{i}.bin") for i in range(3)]
    first = Path(models[0].get_local_copy())
    second = Path(models[1].get_local_copy())
    os.utime(first.parent / ".autolog-entry.json", (1, 1))  # least recently used
    third = Path(models[2].get_local_copy())
    assert third.exists() and second.exists() and not first.exists()


def test_concurrent_fetches_share_one_entry(tmp_path: Path, run_py) -> None:
    model = _model(tmp_path, os.urandom(3_000_000))
    code = f"import autolog; print(autolog.Model.get({model.id!r}).get_local_copy())"
    import subprocess
    import sys

    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
        for _ in range(4)
    ]
    paths = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert len(paths) == 1 and Path(paths.pop()).read_bytes() == Path(model.uri).read_bytes()
