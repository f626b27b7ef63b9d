"""The `autolog` command line, run as a user runs it: a separate process on the same home."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import autolog


def cli(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "autolog", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"autolog {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def lineage(tmp_path: Path, plain):
    save, load = plain
    with autolog.init("cli", "train", output_uri=str(tmp_path / "out"), tags=["nightly"]) as producer:
        save(b"weights v1", tmp_path / "w.bin")
        producer.upload_artifact("settings", {"lr": 0.1}, wait=True)
    with autolog.init("cli", "finetune", output_uri=str(tmp_path / "out")) as consumer:
        load(tmp_path / "w.bin")
        save(b"weights v2", tmp_path / "w2.bin")
    return producer, consumer


@pytest.mark.parametrize("command", ["tasks", "models", "show", "lineage", "get", "sync", "cache", "ui"])
def test_every_command_has_help(command: str, tmp_path: Path) -> None:
    assert "usage: autolog" in cli(command, "--help", cwd=tmp_path).stdout


def test_tasks_and_models_listings_as_json(lineage, tmp_path: Path) -> None:
    producer, consumer = lineage
    tasks = json.loads(cli("tasks", "--json", cwd=tmp_path).stdout)
    assert [t["id"] for t in tasks] == [consumer.id, producer.id]
    assert tasks[1]["tags"] == ["nightly"] and tasks[1]["status"] == "completed"
    tagged = json.loads(cli("tasks", "--json", "--tag", "nightly", cwd=tmp_path).stdout)
    assert [t["id"] for t in tagged] == [producer.id]
    models = json.loads(cli("models", "--json", "--project", "cli", cwd=tmp_path).stdout)
    assert [m["name"] for m in models] == ["w2.bin", "w.bin"]
    table = cli("tasks", cwd=tmp_path).stdout
    assert producer.id[:12] in table and "finetune" in table


def test_show_task_lists_models_and_artifacts(lineage, tmp_path: Path) -> None:
    producer, consumer = lineage
    shown = json.loads(cli("show", consumer.id[:8], "--json", cwd=tmp_path).stdout)
    assert shown["id"] == consumer.id
    assert [m["task_id"] for m in shown["models"]["input"]] == [producer.id]
    producer_shown = json.loads(cli("show", producer.id, "--json", cwd=tmp_path).stdout)
    assert [a["name"] for a in producer_shown["artifacts"]] == ["settings"]
    text = cli("show", producer.id, cwd=tmp_path).stdout
    assert "settings" in text and "json" in text


def test_lineage_walks_back_to_the_producer(lineage, tmp_path: Path) -> None:
    producer, consumer = lineage
    tree = json.loads(cli("lineage", consumer.id, "--json", cwd=tmp_path).stdout)
    [edge] = tree["inputs"]
    assert edge["model"]["name"] == "w.bin" and edge["producer"]["task"]["id"] == producer.id
    text = cli("lineage", consumer.id, cwd=tmp_path).stdout
    assert "w.bin" in text and "cli/train" in text


def test_get_prints_local_copies(lineage, tmp_path: Path) -> None:
    producer, _consumer = lineage
    model_path = cli("get", producer.models["output"][0].id, cwd=tmp_path).stdout.strip()
    assert Path(model_path).read_bytes() == b"weights v1"
    artifact_path = cli("get", producer.id, "settings", cwd=tmp_path).stdout.strip()
    assert json.loads(Path(artifact_path).read_text()) == {"lr": 0.1}
    missing = cli("get", producer.id, "nope", cwd=tmp_path, check=False)
    assert missing.returncode != 0 and "no artifact 'nope'" in missing.stderr


def test_unknown_id_is_a_clear_error(tmp_path: Path) -> None:
    proc = cli("show", "0123456789abcdef", cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "no task or model with id" in proc.stderr


def test_cache_info_and_clear(lineage, tmp_path: Path) -> None:
    producer, _consumer = lineage
    cli("get", producer.models["output"][0].id, cwd=tmp_path)
    info = json.loads(cli("cache", "info", "--json", cwd=tmp_path).stdout)
    assert info["entries"] >= 1 and info["bytes"] >= len(b"weights v1")
    assert "removed" in cli("cache", "clear", cwd=tmp_path).stdout
    assert json.loads(cli("cache", "--json", cwd=tmp_path).stdout)["entries"] == 0
