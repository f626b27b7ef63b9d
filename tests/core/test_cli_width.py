"""`autolog tasks`, `models` and `show` in an 80-column terminal: no id or URI is folded over several lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import autolog

WIDTH = 80


def cli80(*args: str, cwd: Path) -> str:
    """The command as a user runs it in an 80-column terminal (rich reads COLUMNS when not on a terminal)."""
    env = {**os.environ, "COLUMNS": str(WIDTH), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "autolog", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_listings_and_show_fit_80_columns(tmp_path: Path, plain) -> None:
    save, load = plain
    deep = tmp_path / "remote" / "team-bucket" / ("experiments-" + "x" * 40) / "nightly" / "run-0001"
    with autolog.init("widths", "pretrain-a-long-task-name", output_uri=str(deep), tags=["nightly"]) as producer:
        save(b"weights v1", tmp_path / "epoch_0001_checkpoint.pt")
        producer.upload_artifact("settings", {"lr": 0.1}, wait=True)
    with autolog.init("widths", "finetune", output_uri=str(deep)) as consumer:
        load(tmp_path / "epoch_0001_checkpoint.pt")
    model = producer.models["output"][0]
    assert len(model.uri) > WIDTH  # the case that used to fold

    listings = {args: cli80(*args, cwd=tmp_path) for args in [("tasks",), ("models",), ("show", producer.id)]}
    for args, text in listings.items():
        lines = text.splitlines()
        table_lines = [line for line in lines if not line.startswith("  ")]  # show's fields run on, whole
        assert all(len(line) <= WIDTH for line in table_lines), f"autolog {' '.join(args)}:\n{text}"

    tasks = listings[("tasks",)]
    for task in (producer, consumer):
        assert any(task.id[:12] in line for line in tasks.splitlines()), tasks

    models = listings[("models",)]
    row = next(line for line in models.splitlines() if model.id[:12] in line)
    assert producer.id[:12] in row  # the producing task, on the same line
    assert "…" in row and row.rstrip().endswith(model.uri[-12:])  # shortened in the middle, the object name kept
    # an object name (its full hash) is longer than the room: its end is kept, `show` and --json print it whole

    shown = listings[("show", producer.id)]
    lines = shown.splitlines()
    # The task's own fields whole, each on one line: the full id and the full output URI can be copied.
    assert any(line.split()[-1] == producer.id for line in lines if line.strip().startswith("id "))
    assert any(line.split()[-1] == str(deep) for line in lines if line.strip().startswith("output_uri "))
    # Its models and artifacts: short ids and shortened URIs, each on the row of its own record.
    model_row = next(line for line in lines if line.startswith(model.id[:12]))
    assert model_row.rstrip().endswith(model.uri[-12:]) and "…" in model_row  # the object name (docs/storage.md)
    artifact_row = next(line for line in lines if line.startswith("settings"))
    assert "…" in artifact_row and len(artifact_row) <= WIDTH
