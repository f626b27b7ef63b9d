"""`task.upload_artifact`, `task.artifacts` and `Artifact` in one process: bad input, replacement, order,
previews, integrity, pickle gating, zip slip and names that try to climb out of the store."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

import autolog
from autolog.errors import IntegrityError, PickleNotAllowedError


@pytest.fixture
def task():
    return autolog.init("art", "unit")


def _rows(task) -> list[dict]:
    return task._session.store.select("artifacts", {"task_id": task.id})


def _staged(home: Path) -> list[Path]:
    staging = home / "staging"
    return list(staging.iterdir()) if staging.exists() else []


# -- bad input: an error, and nothing recorded ---------------------------------------------------------------
def test_missing_path_is_file_not_found_and_records_nothing(task, tmp_path, home):
    with pytest.raises(FileNotFoundError, match="no-such.csv"):
        task.upload_artifact("data", str(tmp_path / "no-such.csv"))
    with pytest.raises(FileNotFoundError):
        task.upload_artifact("data", tmp_path / "missing-dir")
    task.flush()
    assert _rows(task) == [] and dict(task.artifacts) == {} and _staged(home) == []


def test_unserializable_object_is_type_error_naming_the_type(task, home):
    with pytest.raises(TypeError, match="function"):
        task.upload_artifact("fn", lambda x: x)

    def local_function():
        pass

    with pytest.raises(TypeError, match="function"):
        task.upload_artifact("fn", {"nested": local_function})  # not JSON, and pickle fails too
    with pytest.raises(TypeError, match="generator"):
        task.upload_artifact("gen", (i for i in range(3)))
    task.flush()
    assert _rows(task) == [] and dict(task.artifacts) == {} and _staged(home) == []


def test_bad_names_and_metadata_are_refused(task):
    for name in ("", "   ", None, 3):
        with pytest.raises(ValueError):
            task.upload_artifact(name, {"a": 1})
    with pytest.raises(TypeError, match="JSON"):
        task.upload_artifact("x", {"a": 1}, metadata={"when": object()})
    with pytest.raises(ValueError, match="reserved"):
        task.upload_artifact("x", {"a": 1}, metadata={"preview": 1})
    task.flush()
    assert _rows(task) == []


# -- the mapping -----------------------------------------------------------------------------------------------
def test_artifacts_is_read_only_in_upload_order_and_same_name_replaces(task):
    task.upload_artifact("b", [1])
    task.upload_artifact("a", [2])
    task.upload_artifact("c", [3])
    first_b = task.artifacts["b"]
    task.upload_artifact("b", [4], wait=True)
    arts = task.artifacts
    assert list(arts) == ["b", "a", "c"]  # a re-upload takes its name's place
    assert arts["b"].get() == [4] and arts["b"].hash != first_b.hash
    assert first_b.get() == [1]  # the replaced artifact's copy is kept, never overwritten
    with pytest.raises(TypeError):
        arts["d"] = arts["a"]  # type: ignore[index]
    with pytest.raises(TypeError):
        del arts["a"]  # type: ignore[attr-defined]
    again = autolog.Task.get_task(task.id)
    assert list(again.artifacts) == ["b", "a", "c"]


def test_wait_makes_it_durable_and_the_record_is_complete(task, home):
    art = task.upload_artifact("cfg", {"lr": 0.1}, metadata={"stage": "prep"}, wait=True)
    assert art.upload_state == "done" and art.hash and art.size == len(json.dumps({"lr": 0.1}))
    assert art.uri == str(home / "files" / "art" / f"unit.{task.id}" / "artifacts" / "1_cfg.json")
    assert Path(art.uri).is_file() and _staged(home) == []
    assert art.metadata == {"stage": "prep", "preview": {"kind": "dict", "length": 1, "keys": ["lr"]}}
    assert art.type == "json" and art.task_id == task.id and art.created is not None
    assert art.preview() == "json dict, 1 keys: lr"


def test_get_before_the_upload_finished(task):
    art = task.upload_artifact("numbers", list(range(1000)))
    assert art.get() == list(range(1000))


def test_output_uri_receives_the_artifacts(tmp_path):
    out = tmp_path / "out"
    task = autolog.init("art", "withuri", output_uri=str(out))
    art = task.upload_artifact("notes", {"x": 1}, wait=True)
    assert art.uri.startswith(str(out / "art" / f"withuri.{task.id}" / "artifacts"))


def test_file_is_copied_at_upload_time(task, tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a\n1\n")
    art = task.upload_artifact("data", path)
    path.write_text("a\n2\n")  # rewritten in place right after the upload
    assert Path(art.get()).read_text() == "a\n1\n"
    assert art.get().endswith("data.csv") and art.preview() == "file data.csv"


def test_folder_preview_and_extraction(task, tmp_path):
    folder = tmp_path / "images"
    (folder / "a" / "b").mkdir(parents=True)
    for i, rel in enumerate(["one.txt", "a/two.txt", "a/b/three.txt"]):
        (folder / rel).write_text(str(i))
    art = task.upload_artifact("images", folder, wait=True)
    assert art.type == "folder" and art.uri.endswith("_images.zip")
    assert art.metadata["preview"] == {"files": 3, "bytes": 3} and art.preview() == "folder, 3 files"
    with zipfile.ZipFile(art.uri) as archive:
        assert sorted(archive.namelist()) == ["a/b/three.txt", "a/two.txt", "one.txt"]
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())
    local = Path(art.get_local_copy())
    assert local.is_dir() and (local / "a" / "b" / "three.txt").read_text() == "2"
    assert art.get() == str(local)


def test_json_only_when_it_round_trips(task):
    assert task.upload_artifact("list", [1, "a", None, {"k": [1.5]}]).type == "json"
    assert task.upload_artifact("tuple-inside", {"t": (1, 2)}).get() == {"t": (1, 2)}
    assert task.artifacts["tuple-inside"].type == "pickle"
    assert task.upload_artifact("int-keys", {1: "a"}).get() == {1: "a"}
    assert task.upload_artifact("nan", [float("inf")]).type == "pickle"
    assert task.upload_artifact("tuple", (1, 2)).get() == (1, 2)
    assert task.upload_artifact("text", b"bytes").get() == b"bytes"


def test_dict_upload_imports_no_numpy_pandas_or_pil(run_py):
    run_py("""
        import sys, autolog
        task = autolog.init("art", "light")
        task.upload_artifact("d", {"a": 1}, wait=True)
        task.upload_artifact("p", {1, 2}, wait=True)
        assert task.artifacts["d"].get() == {"a": 1}
        heavy = [m for m in ("numpy", "pandas", "PIL") if m in sys.modules]
        assert not heavy, heavy
    """)


# -- previews of the rich types ------------------------------------------------------------------------------
def test_previews_of_array_frame_and_image(task):
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    image_mod = pytest.importorskip("PIL.Image")
    arr = task.upload_artifact("arr", np.zeros((2, 3), dtype="int16"))
    assert arr.metadata["preview"] == {"shape": [2, 3], "dtype": "int16"} and arr.preview() == "array (2, 3) int16"
    frame = task.upload_artifact("df", pd.DataFrame({"a": [1, 2, 3], "b": [0.1, 0.2, 0.3]}))
    assert frame.metadata["preview"]["shape"] == [3, 2] and frame.metadata["preview"]["columns"] == ["a", "b"]
    assert frame.preview() == "DataFrame 3x2 [a, b]"
    img = task.upload_artifact("img", image_mod.new("L", (7, 5)))
    assert img.metadata["preview"]["size"] == [7, 5] and img.metadata["preview"]["mode"] == "L"
    assert img.preview() == "image 7x5 L"
    assert task.upload_artifact("obj-array", np.array([{"a": 1}], dtype=object)).type == "pickle"
    assert task.upload_artifact("masked", np.ma.masked_array([1, 2], mask=[0, 1])).type == "pickle"


# -- pickle gating -------------------------------------------------------------------------------------------
def test_pickle_get_needs_allow_pickle(task, monkeypatch):
    art = task.upload_artifact("obj", {1, 2}, wait=True)
    monkeypatch.setenv("AUTOLOG_ALLOW_PICKLE", "0")
    with pytest.raises(PickleNotAllowedError, match="allow_pickle") as err:
        art.get()
    assert "AUTOLOG_ALLOW_PICKLE=1" in str(err.value) and "'obj'" in str(err.value)
    assert Path(art.get_local_copy()).is_file()  # the raw bytes are still available
    assert task.artifacts["obj"].type == "pickle"
    monkeypatch.setenv("AUTOLOG_ALLOW_PICKLE", "1")
    assert art.get() == {1, 2}


# -- integrity ------------------------------------------------------------------------------------------------
def test_corrupted_stored_copy_is_an_error_naming_the_artifact(task):
    art = task.upload_artifact("weights table", {"w": [1, 2, 3]}, wait=True)
    Path(art.uri).write_text('{"w": [3, 2, 1]}')
    with pytest.raises(IntegrityError, match="artifact 'weights table'"):
        art.get()


def test_corrupt_cache_entry_is_fetched_again(task, tmp_path, caplog):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "x.txt").write_text("good")
    data = task.upload_artifact("data", {"v": 1}, wait=True)
    tree = task.upload_artifact("tree", folder, wait=True)
    cached = Path(data.get_local_copy())
    cached.write_text('{"v": 2}')
    extracted = Path(tree.get_local_copy())
    (extracted / "x.txt").write_text("evil")
    assert data.get() == {"v": 1}
    assert (Path(tree.get_local_copy()) / "x.txt").read_text() == "good"
    assert "modified or corrupt" in caplog.text


# -- paths: names never steer where bytes go, archives never write outside ------------------------------------
def test_hostile_names_stay_inside_the_store(task, home, tmp_path):
    src = tmp_path / "x.txt"
    src.write_text("payload")
    names = ["../../x", "/etc/passwd", "a/../../b", "..", "with space / and \\ backslash", "ünï"]
    for name in names:
        task.upload_artifact(name, {"name": name})
    task.upload_artifact("../../file", src, wait=True)
    store = (home / "files" / "art" / f"unit.{task.id}" / "artifacts").resolve()
    arts = task.artifacts
    assert list(arts) == [*names, "../../file"]
    for art in arts.values():
        assert Path(art.uri).resolve().parent == store, art.uri
        assert art.get_local_copy().startswith(str(home / "cache"))
    assert arts["../../x"].get() == {"name": "../../x"}
    assert not (home.parent / "x").exists() and not (home / "x").exists()
    assert sorted(p.name for p in store.iterdir())[0].startswith("1_")


def _evil_zip(path: Path, entry: str) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ok.txt", "fine")
        archive.writestr(entry, "owned")


@pytest.mark.parametrize(
    "entry", ["../escaped.txt", "sub/../../escaped.txt", "/tmp/escaped-abs.txt", "..\\escaped.txt"]
)
def test_zip_slip_is_refused(tmp_path, entry):
    from autolog.storage.serializers import extract_zip

    archive = tmp_path / "evil.zip"
    _evil_zip(archive, entry)
    dest = tmp_path / "deep" / "out"
    with pytest.raises(IntegrityError, match="refusing"):
        extract_zip(str(archive), str(dest), "artifact 'evil'")
    assert not (tmp_path / "deep" / "escaped.txt").exists() and not Path("/tmp/escaped-abs.txt").exists()


def test_a_foreign_archive_in_the_bucket_cannot_escape_the_cache(task, tmp_path, home):
    """Someone replaced a folder artifact's zip in the bucket and its recorded hash: still no zip slip."""
    from autolog.storage.fingerprint import hash_path

    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "ok.txt").write_text("fine")
    art = task.upload_artifact("tree", folder, wait=True)
    _evil_zip(Path(art.uri), "../../../../escaped.txt")
    task._session.store.update("artifacts", art.id, {"hash": hash_path(art.uri)})
    with pytest.raises(IntegrityError, match="artifact 'tree'.*refusing"):
        task.artifacts["tree"].get_local_copy()
    assert not list(home.parent.rglob("escaped.txt"))


# -- a process that dies before its upload finished ----------------------------------------------------------
def test_an_orphaned_artifact_upload_is_finished_by_the_next_init(run_py, home):
    task_id = (
        run_py("""
        import os, time
        import autolog
        from autolog.pipeline.uploader import Uploader

        Uploader._upload = lambda *args: time.sleep(1000)  # the upload never happens
        Uploader.deliver = lambda *args, **kwargs: None  # (nor a local copy, hashed on the way)
        task = autolog.init("art", "dies")
        task.upload_artifact("result", {"score": 0.9})
        task._session.recorder.worker.wait()
        task._session.store.barrier()
        print(task.id, flush=True)
        os._exit(0)
    """)
        .stdout.strip()
        .splitlines()[-1]
    )
    orphan = autolog.Task.get_task(task_id).artifacts["result"]
    assert orphan.upload_state == "pending" and orphan.uri is None and orphan.hash
    assert orphan.get() == {"score": 0.9}  # served from the staged bytes on this machine, hash-checked
    task = autolog.init("art", "next")  # takes the dead process's upload over
    task.flush()
    done = autolog.Task.get_task(task_id).artifacts["result"]
    assert done.upload_state == "done" and Path(done.uri).is_file() and done.hash == orphan.hash
    assert "/art/dies." in done.uri and done.uri.endswith("/artifacts/1_result.json")


def test_the_example_runs(run_py, home):
    for module in ("numpy", "pandas", "PIL"):
        pytest.importorskip(module)
    example = Path(__file__).resolve().parents[2] / "examples" / "artifacts.py"
    if not example.exists():
        pytest.skip("examples/ is not part of this installation")
    out = run_py(example.read_text())
    assert "train: raw.csv, 4 shards" in out.stdout


@pytest.mark.parametrize(
    ("mode", "suffix"),
    [
        ("RGB", ".jpg"),
        ("L", ".jpg"),
        ("RGBA", ".png"),
        ("P", ".png"),
        ("1", ".png"),
        ("F", ".tiff"),
        ("I", ".tiff"),
        ("HSV", ".pkl"),
    ],
)
def test_image_modes_keep_their_mode(task, mode, suffix):
    image_mod = pytest.importorskip("PIL.Image")
    image = image_mod.new(mode, (4, 3))
    art = task.upload_artifact(f"img-{mode}", image, wait=True)
    assert art.uri.endswith(suffix) and art.type == ("pickle" if suffix == ".pkl" else "image")
    back = art.get()
    assert back.mode == mode and back.size == (4, 3)
    if suffix != ".jpg":
        assert back.tobytes() == image.tobytes()
