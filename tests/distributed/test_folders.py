"""Folders the way users think of them: accelerate's `save_state` folder, `save_model`, a PEFT adapter; and a
file saved under a temporary name and renamed into place (timm's `CheckpointSaver`). Each a user's program in
its own interpreter, ended by returning."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("torch")

import autolog  # noqa: E402


def members(model: autolog.Model) -> list[str]:
    return sorted(os.listdir(model.get_local_copy()))


def test_accelerate_save_state_is_one_folder_snapshot_and_load_state_one_link(run_py, tmp_path: Path, remote: Path):
    pytest.importorskip("accelerate")
    train = """
        import torch, autolog
        from accelerate import Accelerator
        task = autolog.init("acc", "{name}", output_uri={remote!r})
        accelerator = Accelerator(cpu=True)
        torch.manual_seed(0)
        model = torch.nn.Linear(8, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)
        model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
        {body}
        print(task.id)
    """
    producer_id = run_py(
        train.format(
            name="train",
            remote=str(remote),
            body="""
        model(torch.ones(4, 8)).sum().backward(); optimizer.step(); scheduler.step()
        accelerator.save_state("state")
        accelerator.save_model(model, "exported")
        """,
        )
    ).stdout.split()[-1]
    producer = autolog.Task.get_task(producer_id)
    state, exported = producer.models["output"]
    assert [(m.name, m.framework, m.is_dir) for m in (state, exported)] == [
        ("state", "accelerate", True),
        ("exported", "accelerate", True),
    ]
    assert members(state) == ["model.safetensors", "optimizer.bin", "random_states_0.pkl", "scheduler.bin"]
    assert members(exported) == ["model.safetensors"]
    assert len(autolog.Model.query()) == 2  # no optimizer.bin "pytorch model", no per-file snapshots

    consumer_id = run_py(
        train.format(name="resume", remote=str(remote), body='accelerator.load_state("state")')
    ).stdout.split()[-1]
    assert [m.id for m in autolog.Task.get_task(consumer_id).models["input"]] == [state.id]  # one link, not four


def test_a_peft_adapter_is_a_folder_snapshot_that_reloads_from_its_fetched_copy(run_py, tmp_path: Path, remote: Path):
    pytest.importorskip("peft")
    base = """
        import torch, autolog
        from peft import LoraConfig, PeftModel, get_peft_model

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.proj = torch.nn.Linear(8, 8)
                self.head = torch.nn.Linear(8, 2)

            def forward(self, x):
                return self.head(self.proj(x))

        torch.manual_seed(0)
    """
    produced = run_py(
        base
        + f"""
        task = autolog.init("peft", "tune", output_uri={str(remote)!r})
        model = get_peft_model(Net(), LoraConfig(r=2, target_modules=["proj"], init_lora_weights=False))
        model.save_pretrained("adapter")
        print(model(torch.ones(1, 8)).tolist(), task.id)
    """
    ).stdout.split("\n")[-2]
    expected, producer_id = produced.rsplit(" ", 1)
    (adapter,) = autolog.Task.get_task(producer_id).models["output"]
    assert (adapter.name, adapter.framework, adapter.is_dir) == ("adapter", "peft", True)
    assert members(adapter) == ["README.md", "adapter_config.json", "adapter_model.safetensors"]

    fetched = adapter.get_local_copy()
    consumer_id = run_py(
        base
        + f"""
        task = autolog.init("peft", "serve")
        model = PeftModel.from_pretrained(Net(), {fetched!r})
        assert torch.allclose(model(torch.ones(1, 8)), torch.tensor({expected})), "the adapter did not reload"
        print(task.id)
    """
    ).stdout.split()[-1]
    assert [m.id for m in autolog.Task.get_task(consumer_id).models["input"]] == [adapter.id]


# timm's CheckpointSaver, copied (timm itself needs torchvision, which does not install next to torch CPU here):
# save to tmp.pth.tar, rename into place, hard link to the checkpoint-N name.
TIMM_SAVER = """
    import os, torch, autolog

    class CheckpointSaver:
        def __init__(self, checkpoint_dir):
            self.checkpoint_dir = checkpoint_dir
            os.makedirs(checkpoint_dir, exist_ok=True)

        def save_checkpoint(self, model, epoch):
            tmp_save_path = os.path.join(self.checkpoint_dir, "tmp.pth.tar")
            save_path = os.path.join(self.checkpoint_dir, f"checkpoint-{epoch}.pth.tar")
            torch.save({"epoch": epoch, "state_dict": model.state_dict()}, tmp_save_path)
            os.rename(tmp_save_path, save_path)
            return save_path
"""


def test_a_save_renamed_into_place_right_after_is_named_after_its_final_path(run_py, remote: Path):
    producer_id = run_py(
        TIMM_SAVER
        + f"""
    task = autolog.init("timm", "train", output_uri={str(remote)!r})
    saver = CheckpointSaver("output")
    model = torch.nn.Linear(4, 2)
    for epoch in range(3):
        with torch.no_grad():
            model.weight.add_(1.0)
        saver.save_checkpoint(model, epoch)
    tmp = "output/model.tmp"
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, "output/model.pt")  # an atomic write, over an older file of that name
    print(task.id)
    """
    ).stdout.split()[-1]
    outputs = autolog.Task.get_task(producer_id).models["output"]
    names = ["checkpoint-0.pth.tar", "checkpoint-1.pth.tar", "checkpoint-2.pth.tar", "model.pt"]
    assert [m.name for m in outputs] == names
    assert [os.path.basename(m.local_path or "") for m in outputs] == names
    # the record's own destination (where a copy by name goes: dedup off, `autolog materialize`) is named after
    # it too; with dedup on, the bytes themselves are stored by content
    from autolog.lifecycle import get_session

    dests = [get_session().store.get("models", m.id)["dest_uri"] for m in outputs]
    assert [os.path.basename(d).split("_", 1)[1] for d in dests] == names
    import torch

    assert [torch.load(m.get_local_copy())["epoch"] for m in outputs[:3]] == [0, 1, 2]

    consumer_id = run_py(
        """
        import torch, autolog
        task = autolog.init("timm", "evaluate")
        torch.load("output/checkpoint-1.pth.tar")
        print(task.id)
        """
    ).stdout.split()[-1]
    assert [m.id for m in autolog.Task.get_task(consumer_id).models["input"]] == [outputs[1].id]
