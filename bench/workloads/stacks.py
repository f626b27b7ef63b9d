"""Workload `stacks`: real training stacks (torch, transformers, TensorFlow, Lightning) with autolog.

1. Start-up with the frameworks already imported (fresh interpreters, ABBA): `import autolog; init()` then
   patches every framework at once, including the alias pass over `sys.modules` that rebinds early
   `from x import f` names. Measured inside the child, after the framework imports (what `import autolog`
   + `init` add to the user's script), and the alias pass alone (one walk of every module's globals).
2. Per-save overhead of a 100 MB Lightning checkpoint: `Trainer.save_checkpoint` with autolog off
   (`uninstrument()`, the original functions) and on, same process, alternating rounds: back to back (the
   previous snapshot's background hash and copy compete with the next save for 2 cores and the disk), and
   with the previous snapshot done before the next save (as with training steps in between). The target is
   the ratio of the save call's median latency: ≤ 1.05×.
A framework that is not installed is skipped (and said so). Run with `tox -e bench-stacks`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

from ..harness import alternate, clock, log, row, settle, single
from .common import InlineTimer, Switch, parse, write_rows

MB = 1_000_000
TIMED = "{imports}\nimport time; _t = time.perf_counter()\n{body}\nprint('BENCH', time.perf_counter() - _t)"
INIT = "import autolog; autolog.init('bench', 'stacks')"
ALIAS_PASS = """
import autolog
from autolog.capture import aliases
from autolog.capture.instrumentation import _registry
hook = _registry.hook("torch")
fresh = [(p.owner, p.original, p.wrapper) for p in hook._patches if callable(p.original)]
"""


def _installed(*names: str) -> bool:
    return all(importlib.util.find_spec(n) is not None for n in names)


def startup_rows(ctx, work, skipped: list[str]) -> list[dict]:
    frameworks = [m for m in ("torch", "transformers", "tensorflow") if _installed(m)]
    skipped += [f"stacks: {m} is not installed" for m in ("torch", "transformers", "tensorflow") if m not in frameworks]
    if not frameworks:
        return []
    imports = "\n".join(f"import {m}" for m in frameworks)
    if "transformers" in frameworks:  # what a Trainer script imports: the patched submodules load here
        imports += "\nfrom transformers import Trainer, PreTrainedModel, PreTrainedTokenizerBase"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOLOG_", "PYTHONPATH"))}
    env.update(AUTOLOG_HOME=str(work / "home"), TF_CPP_MIN_LOG_LEVEL="2")

    def child(body: str) -> dict:
        proc = subprocess.run(
            [sys.executable, "-c", TIMED.format(imports=imports, body=body)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0 or "BENCH" not in proc.stdout:
            raise RuntimeError(f"child failed ({proc.returncode}): {body}\n{proc.stderr[-2000:]}")
        return {"inside": float(re.search(r"BENCH (\S+)", proc.stdout).group(1))}

    child(INIT)  # creates the home once
    reps = 2 if ctx.quick else 4
    log(f"stacks: start-up with {', '.join(frameworks)} imported, {reps} fresh interpreters each")
    res = alternate(
        [
            ("init", lambda: child(INIT)),
            ("alias", lambda: child(ALIAS_PASS.strip() + "\n_t = time.perf_counter()\naliases.rebind(fresh)")),
        ],
        reps=reps,
        warmup=0,
    )
    label = " + ".join(frameworks)
    return [
        single(
            "stacks",
            f"{label} imported, then `import autolog; autolog.init()`",
            "time of those two lines (every framework patched, one alias pass)",
            "s",
            "import autolog + init",
            res["init"]["inside"],
        ),
        single(
            "stacks",
            f"alias pass over sys.modules ({label} imported)",
            "one walk (once per init; after a later framework import, only the modules it imported)",
            "s",
            "aliases.rebind",
            res["alias"]["inside"],
        ),
    ]


def lightning_rows(ctx, work, skipped: list[str]) -> list[dict]:
    if not _installed("lightning", "torch"):
        skipped.append("stacks: lightning is not installed: no Lightning checkpoint case")
        return []
    import lightning as L
    import torch

    class Big(L.LightningModule):
        """~100 MB of float32 parameters (25M), nothing else."""

        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList(torch.nn.Linear(2500, 2000, bias=False) for _ in range(5))

        def training_step(self, batch, batch_idx):
            return None

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    switch = Switch(ctx, "stacks", str(work / "remote"))
    timer = InlineTimer()  # autolog's own work on the caller's thread (resolve, protect, stage, queue)
    trainer = L.Trainer(
        max_epochs=0,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        accelerator="cpu",
        devices=1,
    )
    trainer.fit(Big(), torch.utils.data.DataLoader([torch.zeros(1)]))
    folder = work / "ckpts"
    folder.mkdir()
    counter = iter(range(10**6))
    sizes: list[int] = []
    saves = 3 if ctx.quick else 5

    def cloud_io_save():
        import lightning.fabric.utilities.cloud_io as cloud_io

        return cloud_io.__dict__["_atomic_save"]

    def round_(on: bool, settled: bool = False):
        def run() -> dict:
            switch.on() if on else switch.off(cloud_io_save)
            latencies, inline = [], []
            for _ in range(saves):
                path = folder / f"epoch={next(counter)}.ckpt"
                timer.take()
                t = clock()
                trainer.save_checkpoint(path)
                latencies.append(clock() - t)
                inline.append(timer.take())
                sizes.append(os.path.getsize(path))
                if settled:
                    switch.task.flush()  # untimed: the previous snapshot's hash and copy are done
            if on:
                switch.task.flush()
                switch.clear_uploads()
            for f in folder.iterdir():
                f.unlink()
            settle()
            return {"save": latencies, "inline": inline}

        return run

    log(f"stacks: Lightning 100 MB checkpoint, {saves} saves per round")
    res = alternate(
        [("off", round_(False)), ("on", round_(True)), ("settled", round_(True, settled=True))],
        reps=3 if ctx.quick else 6,
        warmup=1,
    )
    size = max(sizes) / MB
    case = f"Lightning Trainer.save_checkpoint, {size:.0f} MB"
    return [
        row(
            "stacks",
            case,
            "per-save latency, back to back (target ≤ 1.05×)",
            "s",
            ("Lightning alone", res["off"]["save"]),
            ("Lightning + autolog", res["on"]["save"]),
            target=1.05,
            note="the previous snapshot's hashing and 100 MB copy compete with the next save",
        ),
        row(
            "stacks",
            case,
            "per-save latency, previous snapshot done (target ≤ 1.05×)",
            "s",
            ("Lightning alone", res["off"]["save"]),
            ("Lightning + autolog", res["settled"]["save"]),
            target=1.05,
        ),
        single(
            "stacks",
            case,
            "autolog code on the caller's thread, per save",
            "s",
            "autolog",
            res["on"]["inline"] + res["settled"]["inline"],
        ),
    ]


def main(argv: list[str]) -> None:
    ctx, out = parse(argv)
    work = ctx.fresh("stacks")
    skipped: list[str] = []
    rows = startup_rows(ctx, work, skipped) + lightning_rows(ctx, work, skipped)
    write_rows(out, rows, skipped)
