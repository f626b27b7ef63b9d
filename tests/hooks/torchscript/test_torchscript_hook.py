"""torchscript hook: real `torch.jit.save` / `torch.jit.load`, user programs in fresh interpreters."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from hooks.programs import assert_contained, assert_linked, break_recording, run_task  # noqa: E402

import autolog  # noqa: E402

PROJECT = "torchscript-hook"
NET = """
import io, warnings, torch
warnings.simplefilter("ignore", DeprecationWarning)   # torch.jit.save/load are deprecated in torch 2.13
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)).eval()
x = torch.randn(3, 4)
"""


def _scripted():
    torch.manual_seed(0)
    return torch.jit.script(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)))


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_saves_and_loads_across_programs(run_py, tmp_path: Path):
    producer = run_task(
        run_py,
        PROJECT,
        "export",
        NET
        + """
torch.jit.save(torch.jit.script(net), "scripted.pt")
torch.jit.trace(net, x).save("traced.pt")        # the tutorials' `model.save(path)`: no torch.jit.save inside
with open("into-file.pt", "wb") as f:
    torch.jit.save(torch.jit.script(net), f)
torch.jit.save(torch.jit.script(net), io.BytesIO())   # no file: not recorded
""",
        output_uri=str(tmp_path / "remote"),
    )
    assert [(m.name, m.framework) for m in producer.models["output"]] == [
        ("scripted.pt", "torchscript"),
        ("traced.pt", "torchscript"),
        ("into-file.pt", "torchscript"),
    ]
    consumer = run_task(
        run_py,
        PROJECT,
        "serve",
        NET
        + """
torch.jit.load("scripted.pt")(x)
torch.load("traced.pt", weights_only=False)(x)   # torch.load hands a TorchScript archive to torch.jit.load
with open("into-file.pt", "rb") as f:
    torch.jit.load(f)
torch.jit.load(io.BytesIO(open("scripted.pt", "rb").read()))   # no file: not recorded
""",
    )
    assert_linked(producer, consumer, ["scripted.pt", "traced.pt", "into-file.pt"])
    copy = producer.models["output"][0].get_local_copy()
    assert torch.jit.load(copy)(torch.ones(1, 4)).shape == (1, 2)


@pytest.mark.parametrize("torch_hook", [True, False], ids=["torch-hook-on", "torch-hook-off"])
def test_torch_load_of_a_torchscript_archive_is_one_load_named_torchscript(tmp_path: Path, torch_hook: bool):
    path = tmp_path / "unknown.pt"
    _scripted().save(str(path))  # before any task: an unknown file
    with autolog.init(PROJECT, "load", frameworks={"torch": torch_hook}) as task:
        torch.load(path, weights_only=False)
        torch.jit.load(path)
    (model,) = task.models["input"]
    assert (model.name, model.framework, model.task_id) == ("unknown.pt", "torchscript", None)


def test_failing_save_and_load_pass_the_exception_through(task, tmp_path: Path):
    with pytest.raises(Exception) as expected:
        torch.jit.save.__wrapped__(_scripted(), str(tmp_path / "missing" / "m.pt"))
    with pytest.raises(type(expected.value)):
        torch.jit.save(_scripted(), str(tmp_path / "missing" / "m.pt"))
    with pytest.raises(ValueError, match="does not exist"):
        torch.jit.load(str(tmp_path / "nowhere.pt"))
    assert task.models == {"input": [], "output": []}


def test_internal_errors_never_reach_the_user(lenient, tmp_path: Path, monkeypatch, autolog_records):
    break_recording(monkeypatch)
    path = str(tmp_path / "m.pt")
    with autolog.init(PROJECT, "broken"):
        assert torch.jit.save(_scripted(), path) is None
        assert torch.jit.load(path)(torch.ones(1, 4)).shape == (1, 2)
        buffer = io.BytesIO()
        torch.jit.save(_scripted(), buffer)
    assert_contained(autolog_records, "torchscript")
