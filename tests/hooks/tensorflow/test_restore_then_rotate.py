"""A restore links the checkpoint it read even though `CheckpointManager(max_to_keep=2)` deletes that very
checkpoint two saves later (#18): the files a load read are hard-linked as it returns and hashed from there.
Two CPU burners keep the machine busy, so the background hash runs after the deletion more often than not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")

import autolog  # noqa: E402

TRIALS = 3


def test_restore_then_two_saves_delete_the_restored_checkpoint(tmp_path: Path) -> None:
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        for trial in range(TRIALS):
            folder = str(tmp_path / f"run{trial}")
            with autolog.init("tf-rotate", "train") as producer:
                ckpt = tf.train.Checkpoint(v=tf.Variable([float(trial)]))
                manager = tf.train.CheckpointManager(ckpt, folder, max_to_keep=2)
                for step in range(5):
                    ckpt.v.assign([float(trial * 10 + step)])
                    manager.save()
            restored_prefix = manager.latest_checkpoint
            with autolog.init("tf-rotate", "resume") as resumed:
                ckpt = tf.train.Checkpoint(v=tf.Variable([0.0]))
                manager = tf.train.CheckpointManager(ckpt, folder, max_to_keep=2)
                ckpt.restore(manager.latest_checkpoint)
                manager.save()
                manager.save()  # max_to_keep=2: the restored checkpoint is deleted here
            assert not tf.io.gfile.glob(restored_prefix + ".*")
            (snapshot,) = [m for m in producer.models["output"] if m.name == os.path.basename(restored_prefix)]
            assert [m.id for m in resumed.models["input"]] == [snapshot.id], f"trial {trial}"
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
