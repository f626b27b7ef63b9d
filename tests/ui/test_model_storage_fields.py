"""The model page shows the step, epoch, metrics and the pruning of a snapshot (a minimal addition for issue #19:
the page itself is being reworked); downloading a pruned snapshot says which rule freed its bytes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import Server, get, require

pytest.importorskip("starlette")


def test_model_page_shows_step_metrics_and_pruned_rule(tmp_path: Path) -> None:
    require()
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "AUTOLOG_HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    env.pop("AUTOLOG_TRACKING_URI", None)
    program = textwrap.dedent(f"""
        import json, autolog
        task = autolog.init("ui-storage", "train", output_uri={str(tmp_path / "out")!r}, keep="last=1")
        for i in range(2):
            autolog.log_metrics(step=100 * (i + 1), epoch=i, val_loss=0.5 / (i + 1))
            open(f"m{{i}}.bin", "wb").write(bytes([i]) * 64)
            task.register_model(f"m{{i}}.bin")
            task.flush()
        print(json.dumps([m.id for m in task.models["output"]]))
    """)
    proc = subprocess.run([sys.executable, "-c", program], cwd=work, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    pruned, kept = json.loads(proc.stdout.splitlines()[-1])
    server = Server(env, work)
    try:
        status, _headers, body = get(f"{server.url}/model/{kept}")
        page = body.decode()
        assert status == 200 and 'id="model-step">200 / 1.0<' in page and "val_loss" in page
        status, _headers, body = get(f"{server.url}/model/{pruned}")
        assert status == 200 and "retention policy &#39;last=1&#39;" in body.decode()
        status, _headers, body = get(f"{server.url}/download/model/{pruned}")
        assert status == 409 and "pruned" in body.decode()
    finally:
        server.stop()
