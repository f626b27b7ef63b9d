"""This process's global rank in a distributed job: only rank 0 records (SPEC, "Framework hooks").

The launcher's `RANK` variable (torchrun, accelerate, Lightning, SLURM wrappers set it) answers before
`torch.distributed` is initialised; after that, `torch.distributed.get_rank()` (a job started with
`torch.multiprocessing.spawn` sets no variable). torch is never imported here: only read if the user did.
"""

from __future__ import annotations

import os
import sys


def global_rank() -> int:
    """0 outside a distributed job, and on its first process."""
    rank = os.environ.get("RANK")
    if rank not in (None, ""):
        try:
            return int(rank)
        except ValueError:
            return 0
    dist = sys.modules.get("torch.distributed")
    if dist is not None:
        try:
            if dist.is_available() and dist.is_initialized():
                return int(dist.get_rank())
        except Exception:  # noqa: BLE001 - a broken torch.distributed must not break a save
            return 0
    return 0
