from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import autolog
from autolog.storage import Storage, safe_segment


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
