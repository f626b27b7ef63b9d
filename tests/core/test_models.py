from __future__ import annotations

from pathlib import Path

import pytest

import autolog


def test_register_model_and_fetch_it_from_another_process_after_deletion(run_py, tmp_path: Path) -> None:
    src = tmp_path / "model.pt"
    proc = run_py(f"""
        import autolog
        open({str(src)!r}, "wb").write(b"trained weights")
        task = autolog.init("p", "train", output_uri={str(tmp_path / "out")!r})
        model = task.register_model({str(src)!r}, framework="pytorch")
        print(model.id)
    """)  # no close(): the exit handler waits for the upload
    src.unlink()
    model = autolog.Model.get(proc.stdout.strip())
    assert (model.name, model.framework, model.size) == ("model.pt", "pytorch", len(b"trained weights"))
    copy = model.get_local_copy()
    assert Path(copy).read_bytes() == b"trained weights"
    assert model.get_local_copy() == copy  # cached, reused


def test_register_a_directory_as_one_model(tmp_path: Path) -> None:
    folder = tmp_path / "saved_model"
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"graph")
    (folder / "variables" / "variables.index").write_bytes(b"index")
    with autolog.init("p", "t", output_uri=str(tmp_path / "out")) as task:
        model = task.register_model(folder)
    model = autolog.Model.get(model.id)
    assert model.is_dir and model.size == len(b"graph") + len(b"index")
    copy = Path(model.get_local_copy())
    assert copy.is_dir() and (copy / "variables" / "variables.index").read_bytes() == b"index"


def test_local_only_model_returns_its_path_until_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "local.bin"
    path.write_bytes(b"v1")
    with autolog.init("p", "t") as task:  # no output_uri and no default: recorded by local path only
        model = task.register_model(path)
    model = autolog.Model.get(model.id)
    assert model.uri is None and model.get_local_copy() == str(path)
    path.write_bytes(b"v2")
    with pytest.raises(autolog.IntegrityError, match="changed since it was recorded"):
        model.get_local_copy()
    path.unlink()
    with pytest.raises(autolog.IntegrityError, match="is gone"):
        model.get_local_copy()


def test_register_model_missing_path_records_nothing(tmp_path: Path) -> None:
    task = autolog.init("p", "t")
    with pytest.raises(FileNotFoundError, match="nope.bin"):
        task.register_model(tmp_path / "nope.bin")
    assert task.models["output"] == []


def test_model_query_filters_and_order(tmp_path: Path) -> None:
    (tmp_path / "a.pt").write_bytes(b"a")
    (tmp_path / "b.pkl").write_bytes(b"b")
    with autolog.init("alpha", "t") as alpha:
        first = alpha.register_model(tmp_path / "a.pt", framework="pytorch")
        second = alpha.register_model(tmp_path / "b.pkl", framework="joblib")
    with autolog.init("beta", "t") as beta:
        beta.register_model(tmp_path / "a.pt", framework="pytorch")
    assert [m.id for m in autolog.Model.query(project="alpha")] == [second.id, first.id]
    assert [m.task_id for m in autolog.Model.query(framework="pytorch")] == [beta.id, alpha.id]
    assert [m.id for m in autolog.Model.query(task_id=alpha.id, name="a.pt")] == [first.id]
    assert alpha.models["output"][-1].id == second.id


def test_unknown_model_id_is_not_found() -> None:
    with pytest.raises(autolog.NotFoundError, match="no model"):
        autolog.Model.get("f" * 32)


def test_output_uri_true_uses_the_configured_default(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(ValueError, match="default_output_uri"):
        autolog.init("p", "t", output_uri=True)
    monkeypatch.setenv("AUTOLOG_DEFAULT_OUTPUT_URI", str(tmp_path / "default"))
    assert autolog.init("p", "t", output_uri=True).output_uri == str(tmp_path / "default")
    assert autolog.init("p", "t").output_uri == str(tmp_path / "default")


def test_memory_output_uri(tmp_path: Path) -> None:
    (tmp_path / "m.bin").write_bytes(b"in memory")
    with autolog.init("p", "t", output_uri="memory://bucket/models") as task:
        model = task.register_model(tmp_path / "m.bin")
    stored = autolog.Model.get(model.id)
    assert stored.uri.startswith(f"memory://bucket/models/.autolog/objects/{stored.hash[:2]}/{stored.hash}.")
    assert Path(stored.get_local_copy()).read_bytes() == b"in memory"


def test_multi_file_checkpoint_named_by_a_prefix_is_one_model(tmp_path: Path) -> None:
    from autolog.capture.recording import Target

    folder = tmp_path / "ckpts"
    folder.mkdir()
    members = [folder / "ckpt-1.index", folder / "ckpt-1.data-00000-of-00001"]
    for member in members:
        member.write_bytes(member.name.encode())
    with autolog.init("p", "t", output_uri=str(tmp_path / "out")) as task:
        task._record_output(Target(str(folder / "ckpt-1"), files=tuple(map(str, members))), "tensorflow")
    [model] = task.models["output"]
    assert model.is_dir and model.upload_state == "done" and model.name == "ckpt-1"
    copy = Path(model.get_local_copy())
    assert sorted(p.name for p in copy.iterdir()) == ["ckpt-1.data-00000-of-00001", "ckpt-1.index"]
