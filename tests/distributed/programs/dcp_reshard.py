"""Load a DCP checkpoint written by N ranks into ONE process (no process group): DCP reshards on load.
argv: checkpoint_folder [torch_save_file]"""

from __future__ import annotations

import sys

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.format_utils import dcp_to_torch_save

import autolog

task = autolog.init("dist", "evaluate")
loaded = {"model": {"weight": torch.zeros(64, 16), "bias": torch.zeros(64)}, "step": 0}
dcp.load(loaded, checkpoint_id=sys.argv[1])
torch.manual_seed(loaded["step"])  # the step the checkpoint holds
assert torch.equal(loaded["model"]["weight"], torch.randn(64, 16)), "resharded load returned other values"
if len(sys.argv) > 2:
    dcp_to_torch_save(sys.argv[1], sys.argv[2])
print(task.id)
