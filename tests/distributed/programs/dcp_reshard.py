"""Load a DCP checkpoint written by N ranks into ONE process (no process group): DCP reshards on load. With a
file name, also convert it to one torch.save file and back to a DCP folder (`format_utils`), and save it again
through an explicit `FileSystemWriter`. argv: checkpoint_folder [torch_save_file]"""

from __future__ import annotations

import sys

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.format_utils import dcp_to_torch_save, torch_save_to_dcp

import autolog

task = autolog.init("dist", "evaluate")
loaded = {"model": {"weight": torch.zeros(64, 16), "bias": torch.zeros(64)}, "step": 0}
dcp.load(loaded, checkpoint_id=sys.argv[1])
torch.manual_seed(loaded["step"])  # the step the checkpoint holds
assert torch.equal(loaded["model"]["weight"], torch.randn(64, 16)), "resharded load returned other values"
if len(sys.argv) > 2:
    dcp_to_torch_save(sys.argv[1], sys.argv[2])
    torch_save_to_dcp(sys.argv[2], "converted")
    dcp.save(loaded, storage_writer=dcp.FileSystemWriter("via-writer"))
print(task.id)
