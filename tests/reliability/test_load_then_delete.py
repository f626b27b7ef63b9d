"""A load is linked even when its file is gone, renamed or rewritten as soon as the load returns: what was
read is hard-linked into staging before the wrapper returns (O(1)), and hashed from there later.

The loaded files are copies of known snapshots (new inodes, no fingerprint on record), so the link needs their
bytes: before, the background hash found the file gone ("internal error in recorder: FileNotFoundError").
The machine is kept busy by CPU burners, so the background hash runs well after the load returned.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import fresh_session

pytest.importorskip("torch")

TRIALS = 20

USER = """
    import json, os, shutil, torch, autolog
    producer = autolog.init("loads", "train")
    for i in range({n}):
        torch.save({{"w": torch.randn(64, 64), "i": i}}, f"ckpt_{{i}}.pt")
    producer.close()
    saved = [m.id for m in producer.models["output"]]
    task = autolog.init("loads", "evaluate")
    for i in range({n}):
        path = f"copy_{{i}}.pt"
        shutil.copyfile(f"ckpt_{{i}}.pt", path)  # the same bytes in a new inode: only a hash can link it
        state = torch.load(path)
        assert state["i"] == i
        if i % 3 == 0:
            os.remove(path)
        elif i % 3 == 1:
            os.rename(path, path + ".old")
            os.remove(path + ".old")
        else:
            torch.save({{"w": torch.zeros(2)}}, path)  # the next step overwrites the file it loaded
    task.close()
    print(json.dumps({{"saved": saved, "task": task.id}}), flush=True)
"""


def test_torch_load_then_delete_rename_or_overwrite_links_every_time(child, tmp_path: Path) -> None:
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        proc = child(USER.format(n=TRIALS))
        out, err = proc.communicate(timeout=300)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert proc.returncode == 0, err
    assert "FileNotFoundError" not in err and "internal error" not in err, err
    info = json.loads(out)
    import autolog

    fresh_session()
    inputs = autolog.Task.get_task(info["task"]).models["input"]
    assert [m.id for m in inputs] == info["saved"]  # 20 of 20 linked, each to the snapshot it was a copy of
    staging = Path(autolog.lifecycle.get_session().settings.staging_dir)
    assert not [p for p in staging.iterdir() if p.is_dir()]  # every frozen load released once linked
