"""Models and artifacts on a real S3 server: saved in one process, fetched in another with a clean cache
after the original files are gone."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.s3


def test_registered_model_round_trips_through_s3(run_py, tmp_path, s3_uri):
    weights = tmp_path / "weights.bin"
    model_id = (
        run_py(f"""
        import autolog
        open({str(weights)!r}, "wb").write(bytes(range(256)) * 4096)
        task = autolog.init("s3", "train", output_uri={s3_uri!r})
        model = task.register_model({str(weights)!r}, framework="custom")
        task.close()
        print(model.id)
    """)
        .stdout.strip()
        .splitlines()[-1]
    )
    weights.unlink()
    cache = tmp_path / "clean-cache"
    out = run_py(
        f"""
        import autolog
        model = autolog.Model.get({model_id!r})
        assert model.uri.startswith({s3_uri!r}), model.uri
        path = model.get_local_copy()
        assert path.startswith({str(cache)!r}), path
        assert open(path, "rb").read() == bytes(range(256)) * 4096
        print("ok")
    """,
        env={"AUTOLOG_CACHE_DIR": str(cache)},
    )
    assert out.stdout.strip().endswith("ok")


def test_folder_model_round_trips_through_s3(run_py, tmp_path, s3_uri):
    folder = tmp_path / "saved_model"
    model_id = (
        run_py(f"""
        import os, autolog
        os.makedirs({str(folder / "variables")!r})
        open({str(folder / "saved_model.pb")!r}, "wb").write(b"graph")
        open({str(folder / "variables" / "v.data")!r}, "wb").write(b"values" * 1000)
        task = autolog.init("s3", "train", output_uri={s3_uri!r})
        model = task.register_model({str(folder)!r}, framework="tensorflow")
        task.close()
        print(model.id)
    """)
        .stdout.strip()
        .splitlines()[-1]
    )
    import shutil

    shutil.rmtree(folder)
    cache = tmp_path / "clean-cache"
    run_py(
        f"""
        import os, autolog
        path = autolog.Model.get({model_id!r}).get_local_copy()
        assert open(os.path.join(path, "saved_model.pb"), "rb").read() == b"graph"
        assert open(os.path.join(path, "variables", "v.data"), "rb").read() == b"values" * 1000
    """,
        env={"AUTOLOG_CACHE_DIR": str(cache)},
    )


def test_corrupted_s3_copy_is_an_error_naming_the_artifact(run_py, tmp_path, s3_uri):
    import fsspec

    import autolog

    task = autolog.init("s3", "corrupt", output_uri=s3_uri)
    art = task.upload_artifact("labels", {"cat": 0, "dog": 1}, wait=True)
    assert art.uri.startswith(s3_uri)
    with fsspec.open(art.uri, "wb") as fh:
        fh.write(b'{"cat": 1, "dog": 0}')
    proc = run_py(
        f"""
        import autolog
        autolog.Task.get_task({task.id!r}).artifacts["labels"].get()
    """,
        check=False,
        env={"AUTOLOG_CACHE_DIR": str(tmp_path / "clean-cache")},
    )
    assert proc.returncode != 0
    assert "IntegrityError" in proc.stderr and "artifact 'labels'" in proc.stderr, proc.stderr
