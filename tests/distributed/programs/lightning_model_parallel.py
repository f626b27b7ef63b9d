"""A user's Lightning job with ModelParallelStrategy (FSDP2 `fully_shard`) on 2 CPU processes: Lightning starts
the second process itself (the script again, with LOCAL_RANK=1). argv: train | resume. Prints rank 0's task id."""

from __future__ import annotations

import sys

import lightning as L
import torch
from lightning.pytorch.strategies import ModelParallelStrategy

import autolog


class Net(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Linear(16, 2))

    def configure_model(self) -> None:
        from torch.distributed.fsdp import fully_shard

        fully_shard(self.net, mesh=self.device_mesh["data_parallel"])

    def training_step(self, batch, batch_idx):
        return self.net(batch).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self):
        return torch.utils.data.DataLoader(torch.randn(16, 8), batch_size=4)


mode = sys.argv[1]
task = autolog.init("lightning-mp", mode)
trainer = L.Trainer(
    accelerator="cpu",
    devices=2,
    strategy=ModelParallelStrategy(data_parallel_size=2, tensor_parallel_size=1),
    max_steps=2 if mode == "train" else 4,
    enable_progress_bar=False,
    enable_model_summary=False,
    logger=False,
    enable_checkpointing=False,
)
trainer.fit(Net(), ckpt_path="ckpt" if mode == "resume" else None)
if mode == "train":
    trainer.save_checkpoint("ckpt")
if trainer.global_rank == 0:
    print("TASK", task.id)
