"""A file saved and then renamed or atomically replaced into place right after the save is recorded under its
final name (`autolog.storage.moves`), whatever the order in which the background recorder sees it; a file
saved over and over at one path, or deleted after the save, keeps its name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")


PROJECT = "torch-rename"  # the project of the `task` fixture (tests/hooks/conftest.py)


def test_a_rename_right_after_the_save_names_the_snapshot_and_its_destination(task, tmp_path: Path):
    tmp, final = tmp_path / "tmp.pth.tar", tmp_path / "checkpoint-3.pth.tar"
    torch.save({"epoch": 3}, tmp)
    os.rename(tmp, final)
    (model,) = task.models["output"]
    assert (model.name, model.local_path) == ("checkpoint-3.pth.tar", str(final))
    # stored by content (dedup), the record's own destination, where a copy by name goes (dedup off, and
    # `autolog materialize`), is named after the final path too
    row = task._session.store.get("models", model.id)
    assert model.uri is not None and row["dest_uri"].endswith("_checkpoint-3.pth.tar")
    assert torch.load(model.get_local_copy())["epoch"] == 3


def test_an_atomic_replace_over_an_older_file_is_named_after_the_target(task, tmp_path: Path):
    target = tmp_path / "model.pt"
    target.write_bytes(b"an older file")
    torch.save({"v": 1}, tmp_path / "model.pt.tmp")
    os.replace(tmp_path / "model.pt.tmp", target)
    assert [m.name for m in task.models["output"]] == ["model.pt"]


def test_saves_that_stay_or_are_deleted_keep_their_names(task, tmp_path: Path):
    for step in range(3):
        torch.save({"step": step}, tmp_path / "last.pt")
    torch.save({"step": 9}, tmp_path / "scratch.pt")
    os.remove(tmp_path / "scratch.pt")
    outputs = task.models["output"]
    assert [m.name for m in outputs] == ["last.pt", "last.pt", "last.pt", "scratch.pt"]
    assert [torch.load(m.get_local_copy())["step"] for m in outputs] == [0, 1, 2, 9]
