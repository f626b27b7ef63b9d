from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import autolog
from autolog.storage.access import Storage, safe_segment


def test_unknown_scheme_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="'nosuchscheme'"):
        autolog.init("p", "t", output_uri="nosuchscheme://bucket/x")
    assert autolog.current_task() is None


@pytest.mark.skipif(importlib.util.find_spec("gcsfs") is not None, reason="gcsfs is installed")
def test_missing_backend_names_the_package_to_install() -> None:
    with pytest.raises(ImportError, match="gcsfs"):
        autolog.init("p", "t", output_uri="gs://bucket/x")


def test_file_uri_and_relative_paths_become_absolute(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert autolog.init("p", "t", output_uri="rel/out").output_uri == str(tmp_path / "rel" / "out")
    assert autolog.init("p", "t", output_uri=f"file://{tmp_path}/x").output_uri == str(tmp_path / "x")


@pytest.mark.parametrize("text", ["../../etc", "a/b", "..", "", "/abs"])
def test_safe_segment_never_climbs(text: str) -> None:
    segment = safe_segment(text)
    assert segment and "/" not in segment and segment not in (".", "..")


def test_put_is_atomic_and_leaves_no_partial_files(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 1000)
    storage = Storage(str(tmp_path / "out"))
    storage.put(str(src), str(tmp_path / "out" / "a" / "b.bin"))
    assert [p.name for p in (tmp_path / "out" / "a").iterdir()] == ["b.bin"]


def test_task_names_with_slashes_stay_inside_the_output_uri(tmp_path: Path) -> None:
    (tmp_path / "m.bin").write_bytes(b"m")
    with autolog.init("../../escape", "a/../../b", output_uri=str(tmp_path / "out")) as task:
        model = task.register_model(tmp_path / "m.bin")
    uri = Path(autolog.Model.get(model.id).uri).resolve()
    assert str(uri).startswith(str((tmp_path / "out").resolve()) + "/")


def test_large_transfers_show_progress_only_on_a_terminal(tmp_path: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        fh.truncate(65 * 2**20)  # over the 64 MB threshold
    code = (
        f"from autolog.storage.access import Storage; s = Storage({str(tmp_path / 'out')!r}); "
        f"s.put({str(big)!r}, {str(tmp_path / 'out' / 'big.bin')!r}); "
        f"s.get({str(tmp_path / 'out' / 'big.bin')!r}, {str(tmp_path / 'back.bin')!r}, False)"
    )
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=follower, stdout=subprocess.DEVNULL, cwd=tmp_path)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(60) == 0
    assert b"autolog: upload big.bin" in seen and b"autolog: download back.bin" in seen
    piped = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=tmp_path)
    assert piped.returncode == 0 and piped.stderr == b""
