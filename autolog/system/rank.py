"""This process's global rank in a distributed job: only rank 0 records (SPEC, "Framework hooks").

The launcher's `RANK` variable (torchrun, accelerate) answers before `torch.distributed` is initialised; after
that, `torch.distributed.get_rank()` (a job started with `torch.multiprocessing.spawn` sets no variable).
Lightning starts its other processes with only `LOCAL_RANK` and `NODE_RANK` set, before any process group
exists: global rank 0 is local rank 0 on node 0, so any other value there means a rank other than 0.
torch is never imported here: only read if the user did.
"""

from __future__ import annotations

import os
import sys


def global_rank() -> int:
    """0 outside a distributed job and on its first process; on any other process a number that is not 0 (its
    global rank where known, else its local or node rank)."""
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
    for variable in ("LOCAL_RANK", "NODE_RANK", "GROUP_RANK"):
        value = os.environ.get(variable, "")
        if value.isdigit() and int(value) != 0:
            return int(value)
    return 0
