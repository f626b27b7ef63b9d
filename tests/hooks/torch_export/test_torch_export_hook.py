"""torch_export hook: real `torch.export.save` / `torch.export.load` of `.pt2` archives, fresh interpreters."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from hooks.programs import assert_contained, assert_linked, break_recording, run_task  # noqa: E402

import autolog  # noqa: E402

PROJECT = "torch-export-hook"
NET = """
import io, torch
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)).eval()
x = torch.randn(3, 4)
"""


def _program():
    net = torch.nn.Sequential(torch.nn.Linear(4, 2)).eval()
    return torch.export.export(net, (torch.randn(1, 4),))


def test_saves_and_loads_across_programs(run_py, tmp_path: Path):
    producer = run_task(
        run_py,
        PROJECT,
        "export",
        NET
        + """
ep = torch.export.export(net, (x,))
torch.export.save(ep, "model.pt2")
with open("into-file.pt2", "wb") as f:
    torch.export.save(ep, f)
torch.export.save(ep, io.BytesIO())          # no file: not recorded
""",
        output_uri=str(tmp_path / "remote"),
    )
    assert [(m.name, m.framework) for m in producer.models["output"]] == [
        ("model.pt2", "torch.export"),
        ("into-file.pt2", "torch.export"),
    ]
    consumer = run_task(
        run_py,
        PROJECT,
        "serve",
        NET
        + """
assert torch.allclose(torch.export.load("model.pt2").module()(x), net(x))
with open("into-file.pt2", "rb") as f:
    torch.export.load(f)
""",
    )
    assert_linked(producer, consumer, ["model.pt2", "into-file.pt2"])
    assert torch.export.load(producer.models["output"][0].get_local_copy()).module()(torch.ones(3, 4)).shape == (3, 2)


def test_failing_save_and_load_pass_the_exception_through(task, tmp_path: Path):
    with pytest.raises(TypeError, match="ExportedProgram"):
        torch.export.save(torch.nn.Linear(1, 1), tmp_path / "not-a-program.pt2")
    with pytest.raises(FileNotFoundError):
        torch.export.load(tmp_path / "nowhere.pt2")
    assert task.models == {"input": [], "output": []}


def test_internal_errors_never_reach_the_user(lenient, tmp_path: Path, monkeypatch, autolog_records):
    break_recording(monkeypatch)
    path = tmp_path / "m.pt2"
    with autolog.init(PROJECT, "broken"):
        assert torch.export.save(_program(), path) is None
        assert torch.export.load(path).module()(torch.ones(1, 4)).shape == (1, 2)
    assert_contained(autolog_records, "torch_export")
