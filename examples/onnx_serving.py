"""From a PyTorch checkpoint to a model served with ONNX Runtime, with the lineage autolog records on the way.

Run:  python examples/onnx_serving.py  [OUTPUT_DIR]
Needs torch, onnx, onnxscript and onnxruntime (pip install "torch==2.13.0" onnx onnxscript onnxruntime);
takes a few seconds on a CPU. Three tasks, as three programs of a team would be:
  train   trains a small classifier and saves `ckpt.pt` (torch.save)
  export  loads the checkpoint and exports `model.onnx` (torch.onnx.export, the default dynamo exporter)
  serve   opens `model.onnx` with onnxruntime.InferenceSession and predicts
Snapshots are copied to OUTPUT_DIR (default: autolog-examples in the temporary folder).
"""

from __future__ import annotations

import os
import sys
import tempfile

import autolog


def _data():
    import torch

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(512, 8, generator=generator)
    y = (x[:, 0] + x[:, 1] - x[:, 4] > 0).long()
    return x, y


def _net():
    import torch

    return torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))


def train(workdir: str, output_uri: str) -> None:
    import torch

    with autolog.init(project="onnx-example", task="train", output_uri=output_uri):
        torch.manual_seed(0)
        net, (x, y) = _net(), _data()
        optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
        for _ in range(60):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            optimizer.step()
        torch.save(net.state_dict(), os.path.join(workdir, "ckpt.pt"))  # snapshot 1


def export(workdir: str, output_uri: str) -> None:
    import torch

    with autolog.init(project="onnx-example", task="export", output_uri=output_uri):
        net = _net()
        net.load_state_dict(torch.load(os.path.join(workdir, "ckpt.pt")))  # linked to the train task
        net.eval()
        example = (torch.randn(1, 8),)
        batch = torch.export.Dim("batch")
        torch.onnx.export(
            net, example, os.path.join(workdir, "model.onnx"), dynamic_shapes=({0: batch},), verbose=False
        )  # snapshot 2: model.onnx (with its external data file, if the exporter wrote one)


def serve(workdir: str) -> autolog.Task:
    import onnxruntime

    with autolog.init(project="onnx-example", task="serve") as task:
        session = onnxruntime.InferenceSession(os.path.join(workdir, "model.onnx"))  # linked to the export task
        x, y = _data()
        (logits,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
        accuracy = float((logits.argmax(axis=1) == y.numpy()).mean())
        print(f"serve: onnxruntime accuracy {accuracy:.3f} on {len(y)} rows")
    return task


def print_lineage(task: autolog.Task) -> None:
    """Walk up from the serving task: each input model, the task that made it, that task's inputs, ..."""
    chain = [f"{task.name} (task)"]
    while task.models["input"]:
        model = task.models["input"][0]
        chain.append(f"{model.name} ({model.framework}, {model.id[:12]})")
        if model.task is None:
            break
        task = model.task
        chain.append(f"{task.name} (task {task.id[:12]})")
    print("lineage: " + " <- ".join(chain))


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        # Snapshots outlive the temporary working folder: they are copied to OUTPUT_DIR.
        output_uri = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(), "autolog-examples")
        train(workdir, output_uri)
        export(workdir, output_uri)
        print_lineage(serve(workdir))


if __name__ == "__main__":
    main()
