"""A user's Lightning run: ModelCheckpoint(save_top_k=3, save_last=True) on val_loss; argv: output_uri, checkpoint
folder. Prints the task id. Used by the storage tests and `bench/workloads/storage.py`."""

import sys

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset

import autolog

task = autolog.init("storage", "lightning", output_uri=sys.argv[1])


class Regressor(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Linear(256, 256)
        self.head = torch.nn.Linear(256, 1)

    def forward(self, x):
        return self.head(torch.relu(self.body(x)))

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


torch.manual_seed(0)
data = DataLoader(TensorDataset(torch.randn(64, 256), torch.randn(64, 1)), batch_size=32)
checkpoints = ModelCheckpoint(dirpath=sys.argv[2], monitor="val_loss", save_top_k=3, save_last=True)
trainer = L.Trainer(
    max_epochs=6,
    callbacks=[checkpoints],
    logger=False,
    enable_progress_bar=False,
    enable_model_summary=False,
    accelerator="cpu",
)
trainer.fit(Regressor(), data, data)
print(task.id)
