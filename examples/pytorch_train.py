"""Quickstart: train, checkpoint every epoch, fine-tune from the latest snapshot, print the lineage.

    pip install "autolog[torch]"
    python examples/pytorch_train.py

Runs in seconds on a CPU. The only autolog lines are `autolog.init(...)` and the look-ups at the end:
every `torch.save` becomes a snapshot of the task, every `torch.load` links the model it read.
Snapshots are copied to `output_uri` (here a folder under a temporary directory; in a team,
`s3://bucket/prefix` or similar). Set AUTOLOG_HOME to keep the records somewhere other than ~/.autolog.
"""

from __future__ import annotations

import os
import tempfile

import torch
from torch import nn

import autolog


def make_data(n: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """A synthetic regression problem: y = x @ w + noise."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, 8, generator=generator)
    w = torch.randn(8, 1, generator=generator)
    return x, x @ w + 0.1 * torch.randn(n, 1, generator=generator)


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, checkpoint: str, lr: float) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for epoch in range(1, epochs + 1):
        for batch in torch.randperm(len(x)).split(64):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
        # One file, overwritten every epoch: autolog keeps every epoch as its own snapshot.
        torch.save({"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict()}, checkpoint)
        print(f"  epoch {epoch}: loss {loss.item():.4f}")


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="autolog-quickstart-")
    output_uri = os.path.join(workdir, "snapshots")  # any fsspec URI works: s3://..., gs://..., memory://
    checkpoint = os.path.join(workdir, "checkpoint.pt")
    x, y = make_data()

    print("task 1: train")
    with autolog.init(project="quickstart", task="train", output_uri=output_uri) as first:
        train(make_model(), x, y, epochs=3, checkpoint=checkpoint, lr=0.05)
    for model in first.models["output"]:
        print(f"  snapshot {model.id} {model.name} {model.size} bytes -> {model.uri}")

    print("task 2: fine-tune from task 1's latest snapshot")
    with autolog.init(project="quickstart", task="fine-tune", output_uri=output_uri) as second:
        latest = first.models["output"][-1].get_local_copy()  # downloaded, hash-checked
        state = torch.load(latest)  # links that snapshot as an input of task 2
        print(f"  resuming from epoch {state['epoch']}")
        model = make_model()
        model.load_state_dict(state["model"])
        train(model, x, y, epochs=2, checkpoint=os.path.join(workdir, "finetuned.pt"), lr=0.01)

    print("lineage of task 2:")
    for model in second.models["input"]:
        producer = model.task
        made_by = f"task {producer.id} ({producer.project}/{producer.name})" if producer else "outside autolog"
        print(f"  input {model.id} {model.name}, made by {made_by}")
    for model in second.models["output"]:
        print(f"  output {model.id} {model.name}")


if __name__ == "__main__":
    main()
