from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import autolog


def test_init_returns_running_current_task(tmp_path: Path) -> None:
    task = autolog.init("proj", "train", output_uri=str(tmp_path / "out"), tags=["a", "b"])
    assert autolog.current_task() is task
    assert (task.project, task.name, task.status, task.tags) == ("proj", "train", "running", ("a", "b"))
    assert task.output_uri == str(tmp_path / "out")
    assert len(task.id) == 32 and task.started is not None and task.ended is None
    fetched = autolog.Task.get_task(task.id)
    assert fetched.id == task.id


def test_second_init_completes_the_first() -> None:
    first = autolog.init("proj", "one")
    second = autolog.init("proj", "two")
    assert autolog.current_task() is second
    stored = autolog.Task.get_task(first.id)
    assert stored.status == "completed" and stored.ended is not None


def test_context_manager_completed_and_failed() -> None:
    with autolog.init("proj", "ok") as ok:
        pass
    assert autolog.Task.get_task(ok.id).status == "completed"
    assert autolog.current_task() is None
    with pytest.raises(RuntimeError, match="boom"):
        with autolog.init("proj", "bad") as bad:
            raise RuntimeError("boom")
    assert autolog.Task.get_task(bad.id).status == "failed"


@pytest.mark.parametrize(
    "body, status, code",
    [
        ("pass", "completed", 0),
        ("raise RuntimeError('boom')", "failed", 1),
        ("raise KeyboardInterrupt", "failed", None),
    ],
)
def test_status_at_interpreter_exit(run_py, body: str, status: str, code: int | None) -> None:
    proc = run_py(
        f"""
        import autolog
        task = autolog.init("exit", "run")
        print(task.id)
        {body}
    """,
        check=False,
    )
    if code is not None:
        assert proc.returncode == code, proc.stderr
    task = autolog.Task.get_task(proc.stdout.split()[0])
    assert task.status == status and task.ended is not None


def test_child_process_of_a_task_does_not_close_it(run_py) -> None:
    proc = run_py("""
        import multiprocessing as mp, autolog
        def child():
            assert autolog.current_task() is None
        task = autolog.init("fork", "parent")
        p = mp.get_context("fork").Process(target=child); p.start(); p.join()
        assert p.exitcode == 0
        print(task.id, autolog.Task.get_task(task.id).status)
    """)
    task_id, status_during = proc.stdout.split()
    assert status_during == "running"
    assert autolog.Task.get_task(task_id).status == "completed"


def test_failure_inside_a_child_interpreter_is_recorded(run_py) -> None:
    proc = run_py("""
        import subprocess, sys
        code = "import autolog; t = autolog.init('child', 'crash'); print(t.id); 1/0"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        print(out.stdout.strip())
    """)
    assert autolog.Task.get_task(proc.stdout.split()[0]).status == "failed"


def test_run_info_includes_git_commit_and_dirty_flag(run_py, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / "train.py").write_text("print(1)\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=repo, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    (repo / "train.py").write_text("print(2)\n")
    proc = subprocess.run(
        [sys.executable, "-c", "import autolog; t = autolog.init('p', 't'); t.close(); print(t.id)"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    info = autolog.Task.get_task(proc.stdout.strip()).run_info
    assert info["git_commit"] == commit and info["git_dirty"] is True
    assert info["python"] == ".".join(map(str, sys.version_info[:3]))
    assert info["host"] and info["argv"] == ["-c"]


@pytest.mark.parametrize("project, task", [("", "t"), ("p", "   "), (None, "t"), ("p", 3)])
def test_bad_names_are_rejected(project, task) -> None:
    with pytest.raises(ValueError, match="must be a non-empty string"):
        autolog.init(project, task)
    assert autolog.current_task() is None


def test_unknown_framework_hook_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown framework hook 'pytorch'"):
        autolog.init("p", "t", frameworks={"pytorch": False})
    with pytest.raises(TypeError, match="frameworks must be"):
        autolog.init("p", "t", frameworks="torch")
    assert autolog.current_task() is None and autolog.Task.query(project="p") == []


def test_get_task_by_project_and_name_and_query() -> None:
    with autolog.init("q", "train", tags=["x"]) as older:
        pass
    with autolog.init("q", "train", tags=["x", "y"]) as newer:
        pass
    with autolog.init("q", "eval"):
        pass
    assert autolog.Task.get_task(project="q", task="train").id == newer.id
    assert [t.id for t in autolog.Task.query(project="q", task="train")] == [newer.id, older.id]
    assert [t.id for t in autolog.Task.query(project="q", tags=["y"])] == [newer.id]
    assert len(autolog.Task.query(project="q", status="completed")) == 3


def test_unknown_task_is_not_found() -> None:
    with pytest.raises(autolog.NotFoundError):
        autolog.Task.get_task("0" * 32)
    with pytest.raises(LookupError):
        autolog.Task.get_task(project="nope", task="nope")


def test_import_is_light_and_init_does_not_load_heavy_modules_on_the_callers_path(run_py) -> None:
    proc = run_py("""
        import sys, json
        import autolog
        light = [m for m in ("numpy", "pandas", "torch", "tensorflow", "sqlalchemy", "fsspec", "wrapt")
                 if m in sys.modules]
        autolog.init("p", "t")
        print(json.dumps(light))
    """)
    assert json.loads(proc.stdout) == []


def test_a_fetched_task_is_a_snapshot_until_refreshed() -> None:
    live = autolog.init("p", "t")
    fetched = autolog.Task.get_task(project="p", task="t")
    assert fetched is not live and fetched.status == "running"
    live.close()
    assert fetched.status == "running" and fetched.refresh().status == "completed"


def test_a_rank_other_than_0_gets_an_unstored_task_that_records_nothing(home, tmp_path, monkeypatch) -> None:
    """`init` on rank 1 of a job returns a task that is never stored; `register_model` there records nothing."""
    import autolog
    from autolog.lifecycle import get_session

    monkeypatch.setenv("RANK", "1")
    follower = autolog.init("job", "train")
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"rank 1's file")
    assert follower.register_model(weights) is None
    follower.close()
    monkeypatch.setenv("RANK", "0")
    store = get_session().store
    assert store.get("tasks", follower.id) is None
    assert store.select("models", {"task_id": follower.id}) == []
