"""Every row of the SPEC's artifact table, uploaded by one process and fetched by another with a clean cache,
on local disk (the home's default store) and on a real S3 server."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

RICH = all(importlib.util.find_spec(m) for m in ("numpy", "pandas", "PIL"))

PRODUCE = """
import pathlib, shutil
import autolog

src = pathlib.Path({src!r})
folder = src / "folder"
(folder / "sub").mkdir(parents=True)
(folder / "top.txt").write_text("top")
(folder / "sub" / "deep.bin").write_bytes(bytes(range(256)) * 10)
(src / "data.csv").write_text("a,b\\n1,2\\n")
task = autolog.init("roundtrip", "produce", output_uri={output_uri!r})
task.upload_artifact("csv", str(src / "data.csv"), metadata={{"source": "unit"}})
task.upload_artifact("folder", folder)
task.upload_artifact("config", {{"lr": 0.1, "layers": [1, 2], "name": "ü"}})
task.upload_artifact("object", {{1, 2, 3}})
if {rich}:
    import numpy as np, pandas as pd
    from PIL import Image
    task.upload_artifact("array", np.arange(12, dtype="float32").reshape(3, 4))
    task.upload_artifact("frame", pd.DataFrame({{"x": [1, 2], "y": ["a", "b"]}}))
    task.upload_artifact("indexed", pd.DataFrame({{"v": [1.5, 2.5]}}, index=pd.Index(["r1", "r2"], name="row")))
    task.upload_artifact("photo", Image.new("RGB", (8, 6), (200, 10, 10)))
    task.upload_artifact("logo", Image.new("RGBA", (5, 4), (0, 0, 255, 128)))
task.close()
shutil.rmtree(src)  # the consumer must get everything from the store
print(task.id)
"""

CONSUME = """
import os, sys
import autolog

task = autolog.Task.get_task({task_id!r})
arts = task.artifacts
expected = ["csv", "folder", "config", "object"] + (["array", "frame", "indexed", "photo", "logo"] if {rich} else [])
assert list(arts) == expected, list(arts)
for art in arts.values():
    assert art.uri.startswith({uri_prefix!r}), art.uri
    assert art.hash and art.size and art.task_id == task.id, art
assert "numpy" not in sys.modules and "pandas" not in sys.modules
csv = arts["csv"].get()
assert csv.startswith({cache_dir!r}) and open(csv).read() == "a,b\\n1,2\\n", csv
assert arts["csv"].type == "file" and arts["csv"].metadata["source"] == "unit"
folder = arts["folder"].get()
assert os.path.isdir(folder) and folder.startswith({cache_dir!r}), folder
assert open(os.path.join(folder, "top.txt")).read() == "top"
assert open(os.path.join(folder, "sub", "deep.bin"), "rb").read() == bytes(range(256)) * 10
assert arts["folder"].type == "folder" and arts["folder"].metadata["preview"]["files"] == 2
assert arts["config"].get() == {{"lr": 0.1, "layers": [1, 2], "name": "ü"}} and arts["config"].type == "json"
assert arts["object"].get() == {{1, 2, 3}} and arts["object"].type == "pickle"
assert "numpy" not in sys.modules and "pandas" not in sys.modules and "PIL" not in sys.modules
if {rich}:
    import numpy as np, pandas as pd
    array = arts["array"].get()
    assert array.dtype == np.float32 and array.shape == (3, 4) and (array == np.arange(12).reshape(3, 4)).all()
    assert arts["array"].metadata["preview"] == {{"shape": [3, 4], "dtype": "float32"}}
    pd.testing.assert_frame_equal(arts["frame"].get(), pd.DataFrame({{"x": [1, 2], "y": ["a", "b"]}}))
    assert arts["frame"].metadata["preview"]["columns"] == ["x", "y"]
    pd.testing.assert_frame_equal(arts["indexed"].get(),
                                  pd.DataFrame({{"v": [1.5, 2.5]}}, index=pd.Index(["r1", "r2"], name="row")))
    photo = arts["photo"].get()
    assert photo.size == (8, 6) and photo.mode == "RGB" and arts["photo"].uri.endswith(".jpg")
    assert all(abs(a - b) <= 3 for a, b in zip(photo.getpixel((3, 3)), (200, 10, 10)))
    logo = arts["logo"].get()
    assert logo.mode == "RGBA" and logo.getpixel((1, 1)) == (0, 0, 255, 128) and arts["logo"].uri.endswith(".png")
    assert arts["logo"].metadata["preview"] == {{"size": [5, 4], "mode": "RGBA", "format": "PNG"}}
print("ok")
"""


def _roundtrip(run_py, tmp_path: Path, home: Path, output_uri: str | None, uri_prefix: str) -> None:
    src = tmp_path / "src"
    task_id = run_py(PRODUCE.format(src=str(src), output_uri=output_uri, rich=RICH)).stdout.strip().splitlines()[-1]
    cache_dir = str(tmp_path / "clean-cache")
    out = run_py(
        CONSUME.format(task_id=task_id, rich=RICH, uri_prefix=uri_prefix, cache_dir=cache_dir),
        env={"AUTOLOG_CACHE_DIR": cache_dir},
    )
    assert out.stdout.strip().endswith("ok")
    assert not (home / "cache").exists() or not any((home / "cache").iterdir())


def test_every_type_round_trips_through_the_local_store(run_py, tmp_path, home):
    _roundtrip(run_py, tmp_path, home, None, str(home / "files" / "roundtrip"))


def test_every_type_round_trips_through_an_output_dir(run_py, tmp_path, home):
    out = tmp_path / "bucket"
    _roundtrip(run_py, tmp_path, home, str(out), str(out / "roundtrip"))


@pytest.mark.s3
def test_every_type_round_trips_through_s3(run_py, tmp_path, home, s3_uri):
    _roundtrip(run_py, tmp_path, home, s3_uri, s3_uri + "/roundtrip/")
