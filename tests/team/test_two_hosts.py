"""Two machines, one record: two homes with their own host name (`AUTOLOG_HOST`), staging and cache, one
PostgreSQL tracking URI and one S3 bucket (SeaweedFS). Each "host" is a separate user process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.s3]


@pytest.fixture
def hosts(tmp_path: Path, pg_tracking_uri: str, monkeypatch: pytest.MonkeyPatch):
    """run(host, code, check=True) runs user code as host "a" or "b"; returns CompletedProcess."""
    monkeypatch.setenv("AUTOLOG_TRACKING_URI", pg_tracking_uri)
    homes = {}
    for name in ("a", "b"):
        root = tmp_path / f"machine-{name}"
        (root / "work").mkdir(parents=True)
        homes[name] = {
            "AUTOLOG_HOME": str(root / "home"),
            "AUTOLOG_CACHE_DIR": str(root / "cache"),
            "AUTOLOG_HOST": f"host-{name}",
            "AUTOLOG_TRACKING_URI": pg_tracking_uri,
        }

    def run(host: str, code: str | list[str], *, check: bool = True, wait: bool = True):
        env = {**os.environ, **homes[host]}
        argv = code if isinstance(code, list) else [sys.executable, "-c", textwrap.dedent(code)]
        cwd = Path(homes[host]["AUTOLOG_HOME"]).parent / "work"
        if not wait:
            return subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
        if check and proc.returncode != 0:
            raise AssertionError(f"host {host} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    run.homes = homes
    return run


def test_b_fine_tunes_what_a_trained_and_a_sees_b_as_its_consumer(hosts, s3_uri: str) -> None:
    pytest.importorskip("torch")
    trained = hosts(
        "a",
        f"""
        import torch, autolog
        with autolog.init("team", "train", output_uri={s3_uri!r}) as task:
            torch.manual_seed(0)
            net = torch.nn.Linear(4, 2)
            torch.save(net.state_dict(), "model.pt")
        print(task.id)
    """,
    ).stdout.split()[-1]

    tuned = hosts(
        "b",
        f"""
        import os, torch, autolog
        task = autolog.init("team", "finetune", output_uri={s3_uri!r})
        source = autolog.Model.query(project="team", task_id={trained!r})[0]
        path = source.get_local_copy()
        assert path.startswith(os.environ["AUTOLOG_CACHE_DIR"]), path
        net = torch.nn.Linear(4, 2)
        net.load_state_dict(torch.load(path))
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        loss = net(torch.ones(8, 4)).pow(2).mean()
        loss.backward()
        opt.step()
        torch.save(net.state_dict(), "tuned.pt")
        task.close()
        assert [m.id for m in task.models["input"]] == [source.id]
        print(task.id, task.models["output"][0].id)
    """,
    ).stdout.split()
    tuned_task, tuned_model = tuned[-2], tuned[-1]

    # host A's command line sees B's task as the consumer of its model, and B's model's lineage reaches A
    listed = json.loads(hosts("a", [sys.executable, "-m", "autolog", "models", "--project", "team", "--json"]).stdout)
    source_id = next(m["id"] for m in listed if m["task_id"] == trained)
    shown = json.loads(hosts("a", [sys.executable, "-m", "autolog", "show", source_id, "--json"]).stdout)
    assert shown["consumers"] == [tuned_task]
    lineage = json.loads(hosts("a", [sys.executable, "-m", "autolog", "lineage", tuned_model, "--json"]).stdout)
    producer = lineage["producer"]
    assert producer["task"]["id"] == tuned_task and producer["task"]["host"] == "host-b"
    upstream = producer["inputs"][0]["producer"]["task"]
    assert upstream["id"] == trained and upstream["host"] == "host-a"


def test_sync_on_one_host_never_touches_the_other_hosts_staged_rows(hosts, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the output folder should be: uploads fail")
    hosts(
        "a",
        f"""
        import autolog
        task = autolog.init("team", "offline", output_uri={str(blocked / "models")!r})
        open("weights.bin", "wb").write(b"w" * 1000)
        task.register_model("weights.bin")
    """,
    )  # exits with its upload failed: the row stays, owned by host-a, bytes staged in A's home
    before = _rows(hosts, "a")
    assert [(r["upload_state"], r["owner_host"]) for r in before] == [("failed", "host-a")]

    proc = hosts("b", [sys.executable, "-m", "autolog", "sync"], check=False)
    assert "0 upload(s) resumed" in proc.stdout and "Traceback" not in proc.stderr, proc.stderr
    assert _rows(hosts, "b") == before  # untouched: not claimed, not marked gone, not retried

    blocked.unlink()
    hosts("a", [sys.executable, "-m", "autolog", "sync"])
    (row,) = _rows(hosts, "a")
    assert row["upload_state"] == "done" and row["uri"].startswith(str(blocked))


def _rows(hosts, host: str) -> list[dict]:
    out = hosts(
        host,
        """
        import json, autolog
        from autolog.lifecycle import get_session
        rows = [get_session().store.get("models", m.id) for m in autolog.Model.query(project="team")]
        print(json.dumps(rows, default=str))
    """,
    ).stdout.splitlines()[-1]
    return [
        {k: r[k] for k in ("id", "upload_state", "owner_host", "owner_pid", "error", "uri", "staging_path")}
        for r in json.loads(out)
    ]


WRITER = textwrap.dedent("""
    import sys, autolog
    with autolog.init("crowd", f"w{sys.argv[1]}") as task:
        for i in range(3):
            name = f"{sys.argv[1]}-{i}.bin"
            open(name, "wb").write(name.encode() * 100)
            task.register_model(name)
""")


def test_sixteen_processes_on_two_hosts_saving_at_once_lose_no_row(hosts) -> None:
    procs = [hosts("ab"[n % 2], [sys.executable, "-c", WRITER, str(n)], wait=False) for n in range(16)]
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    out = hosts(
        "a",
        """
        import json, autolog
        tasks = autolog.Task.query(project="crowd")
        models = autolog.Model.query(project="crowd")
        print(json.dumps({"tasks": sorted((t.name, t.status, t.run_info["host"]) for t in tasks),
                          "models": sorted((m.name, m.upload_state, bool(m.hash)) for m in models)}))
    """,
    ).stdout.splitlines()[-1]
    found = json.loads(out)
    assert found["tasks"] == sorted([f"w{n}", "completed", f"host-{'ab'[n % 2]}"] for n in range(16))
    assert found["models"] == sorted([f"{n}-{i}.bin", "done", True] for n in range(16) for i in range(3))
