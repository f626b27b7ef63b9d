"""Workload 7: autolog next to the incumbents, ClearML (offline mode, PyTorch binding on) and MLflow
(`mlflow.log_artifact` after each save, SQLite tracking store), when they are installed.

Their patches cannot be removed within a process, so here every variant runs in its own fresh
interpreter, all with the same Python and torch: `bare`, `autolog`, `clearml`, `mlflow` (one process each,
to fit the time budget: ClearML's flush and exit alone take ~15 s). A process times its tool's import + init,
then 1 warm-up + N rounds of 5 saves of
a 100 MB state dict to a new path per epoch (per-call latency; the loop up to the tool's flush), then
loads of the last checkpoint. Startup is compared separately with minimal scripts that init and exit.

What each tool does with a checkpoint differs, and the table says so: autolog copies it to its
`output_uri` in the background; MLflow's `log_artifact` copies it synchronously; ClearML in offline
mode records the model's local path (no copy: its uploads happen only when the session is imported).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from ..harness import alternate, clock, log, row, settle
from .common import parse, write_rows

TOOLS = ("autolog", "clearml", "mlflow")
MODULE_OF = {"autolog": "autolog", "clearml": "clearml", "mlflow": "mlflow"}
EPOCHS = 5

INIT_CODE = {
    "bare": "pass",
    "autolog": "import autolog; autolog.init('bench', 'incumbents', output_uri={store!r})",
    "clearml": "from clearml import Task; Task.set_offline(True); "
    "Task.init(project_name='bench', task_name='incumbents', output_uri={store!r})",
    "mlflow": "import mlflow; mlflow.set_tracking_uri({sqlite!r}); mlflow.start_run()",
}


def _init(tool: str, work: Path) -> object:
    """Start `tool` the way its users do; return what the loop needs (the task, or a log function)."""
    store = str(work / f"{tool}-store")
    if tool == "autolog":
        import autolog

        return autolog.init("bench", "incumbents", output_uri=store)
    if tool == "clearml":
        from clearml import Task

        Task.set_offline(True)
        return Task.init(project_name="bench", task_name="incumbents", output_uri=store)
    if tool == "mlflow":
        import mlflow

        mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")
        mlflow.start_run()
        return mlflow
    return None


def child(tool: str, work: Path, reps: int) -> dict:
    """One fresh process: init, checkpoint rounds, loads. Prints its measurements as JSON."""
    import shutil

    import torch

    from .save import MB, state_dict

    t = clock()
    handle = _init(tool, work)
    init_s = clock() - t
    sd = state_dict(100 * MB)
    folder = work / f"ckpt-{tool}-{os.getpid()}"
    folder.mkdir()
    copies = folder / "copies"
    out: dict = {"init": init_s, "latency": [], "total": [], "copy_total": [], "load": []}

    def flush() -> None:
        if tool == "autolog":
            handle.flush()
        elif tool == "clearml":
            handle.flush(wait_for_uploads=True)

    for r in range(1 + reps):
        for copy in (False, True) if tool == "bare" else (False,):
            copies.mkdir(exist_ok=True)
            latencies = []
            start = clock()
            for e in range(EPOCHS):
                path = folder / f"epoch_{r}_{e}.pt"
                t = clock()
                torch.save(sd, path)
                if tool == "mlflow":
                    handle.log_artifact(str(path), "checkpoints")
                latencies.append(clock() - t)
                if copy:
                    shutil.copyfile(path, copies / path.name)
            flush()
            total = clock() - start
            if r:
                (out["copy_total"] if copy else out["total"]).append(total)
                if not copy:
                    out["latency"] += latencies
            shutil.rmtree(copies, ignore_errors=True)
            if r < reps:
                for e in range(EPOCHS):
                    (folder / f"epoch_{r}_{e}.pt").unlink()
            settle()
    last = folder / f"epoch_{reps}_{EPOCHS - 1}.pt"
    for r in range(1 + 2 * reps):
        t = clock()
        torch.load(last)
        if r:
            out["load"].append(clock() - t)
    flush()
    for used in (folder, work / "mlruns", work / f"{tool}-store"):
        shutil.rmtree(used, ignore_errors=True)
    return out


def installed(python: str, module: str) -> bool:
    if python == sys.executable:
        return importlib.util.find_spec(module) is not None
    return (
        subprocess.run(
            [python, "-c", f"import importlib.util as u, sys; sys.exit(u.find_spec({module!r}) is None)"],
            capture_output=True,
        ).returncode
        == 0
    )


def main(argv: list[str]) -> None:
    if argv and argv[0] == "child":
        tool, work, reps = argv[1], Path(argv[2]), int(argv[3])
        result = child(tool, work, reps)
        print("BENCH " + json.dumps(result), flush=True)
        return
    ctx, out = parse(argv)
    python = os.environ.get("BENCH_INCUMBENTS_PYTHON") or sys.executable
    tools = [t for t in TOOLS if installed(python, MODULE_OF[t])]
    skipped = [f"incumbent {t}: skipped (not installed for {python})" for t in TOOLS[1:] if t not in tools]
    if "autolog" not in tools or len(tools) < 2:
        write_rows(out, [], skipped or ["incumbents: skipped"])
        return
    work = ctx.fresh("incumbents")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOLOG_", "PYTHONPATH", "MLFLOW_", "CLEARML_"))}
    env.update(HOME=str(work / "home"), AUTOLOG_HOME=str(work / "autolog-home"), PYTHONWARNINGS="ignore")
    root = Path(__file__).resolve().parents[2]

    def run_child(tool: str, reps: int) -> dict:
        proc = subprocess.run(
            [python, "-m", "bench.workloads", "incumbents", "child", tool, str(work), str(reps)],
            cwd=work,
            env={**env, "PYTHONPATH": str(root)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        found = re.search(r"^BENCH (.*)$", proc.stdout, re.M)
        if proc.returncode != 0 or not found:
            raise RuntimeError(f"{tool} child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        return json.loads(found.group(1))

    def run_init(tool: str) -> dict:
        code = INIT_CODE[tool].format(store=str(work / f"{tool}-store"), sqlite=f"sqlite:///{work / 'mlflow.db'}")
        t = clock()
        proc = subprocess.run([python, "-c", code], cwd=work, env=env, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"{tool} init failed:\n{proc.stderr[-2000:]}")
        return {"wall": clock() - t}

    modes = ["bare", *tools]
    log(f"incumbents ({python}): {', '.join(tools)}: startup")
    (work / "home").mkdir(parents=True)
    if "mlflow" in tools:
        run_init("mlflow")  # creates its SQLite database once (a second run, like the other tools)
    started = alternate([(m, lambda m=m: run_init(m)) for m in modes], reps=2, warmup=0)
    log("incumbents: checkpoint loops, one process per variant")
    merged: dict[str, dict[str, list[float]]] = {m: {} for m in modes}
    for tool in modes:
        result = run_child(tool, reps=2)
        for key, value in result.items():
            merged[tool].setdefault(key, []).extend(value if isinstance(value, list) else [value])
    names = {"autolog": "autolog", "clearml": "ClearML offline", "mlflow": "MLflow log_artifact"}
    bare = merged["bare"]
    rows = []
    for tool in tools:
        rows.append(
            row(
                "incumbents",
                f"import + init + exit: {names[tool]}",
                "process wall time",
                "s",
                ("python -c pass", started["bare"]["wall"]),
                (names[tool], started[tool]["wall"]),
            )
        )
    for tool in tools:
        rows.append(
            row(
                "incumbents",
                f"100 MB × {EPOCHS}, new path: {names[tool]}",
                "per-call latency",
                "s",
                ("bare torch.save", bare["latency"]),
                (names[tool], merged[tool]["latency"]),
                note="MLflow: torch.save + log_artifact",
            )
        )
    for tool in tools:
        rows.append(
            row(
                "incumbents",
                f"100 MB × {EPOCHS}, new path: {names[tool]}",
                "loop until flushed",
                "s",
                ("bare + copyfile", bare["copy_total"]),
                (names[tool], merged[tool]["total"]),
                note="ClearML offline copies nothing" if tool == "clearml" else "",
            )
        )
    for tool in tools:
        rows.append(
            row(
                "incumbents",
                f"torch.load 100 MB, known file: {names[tool]}",
                "per-call latency",
                "s",
                ("bare torch.load", bare["load"]),
                (names[tool], merged[tool]["load"]),
                note="MLflow records no loads" if tool == "mlflow" else "",
            )
        )
    write_rows(out, rows, skipped)
