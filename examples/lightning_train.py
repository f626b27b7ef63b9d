"""Lightning: ModelCheckpoint keeps the best 2 epochs, autolog keeps every one; a second task resumes.

    pip install "autolog[torch]" lightning
    python examples/lightning_train.py

Synthetic data, a few seconds on a CPU. The only autolog line in the training code is `autolog.init(...)`:
every checkpoint Lightning writes (`epoch=N-step=M.ckpt`, `last.ckpt`) becomes a snapshot named after its
file, even the ones `ModelCheckpoint` deletes later, and `ckpt_path=` / `load_from_checkpoint` link the
snapshot they read. The framework may be imported before or after `import autolog`.
"""

from __future__ import annotations

import os
import tempfile

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset

import autolog


class Regressor(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


def loader() -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(512, 8, generator=generator)
    y = x @ torch.randn(8, 1, generator=generator) + 0.1 * torch.randn(512, 1, generator=generator)
    return DataLoader(TensorDataset(x, y), batch_size=64)


def trainer(epochs: int, callbacks=()) -> L.Trainer:
    return L.Trainer(
        max_epochs=epochs,
        callbacks=list(callbacks),
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
    )


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="autolog-lightning-")
    output_uri = os.path.join(workdir, "snapshots")
    checkpoints = ModelCheckpoint(
        dirpath=os.path.join(workdir, "ckpts"), save_top_k=2, monitor="train_loss", save_last=True
    )

    with autolog.init(project="lightning-example", task="train", output_uri=output_uri) as first:
        trainer(4, [checkpoints]).fit(Regressor(), loader())
    print(f"on disk: {sorted(os.listdir(checkpoints.dirpath))}")
    print("snapshots of task 1:")
    for model in first.models["output"]:
        print(f"  {model.name:24} {model.framework} {model.size} bytes")

    with autolog.init(project="lightning-example", task="resume", output_uri=output_uri) as second:
        best = Regressor.load_from_checkpoint(checkpoints.best_model_path)
        trainer(6).fit(best, loader(), ckpt_path=checkpoints.last_model_path)

    print("lineage of task 2:")
    for model in second.models["input"]:
        producer = model.task
        print(f"  input {model.name:22} made by task {producer.project}/{producer.name} ({producer.id[:8]})")


if __name__ == "__main__":
    main()
