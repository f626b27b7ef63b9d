"""A failed task records why: the exception's type and message (never its traceback or locals), shown by
`Task.failure`, `autolog show` and `autolog ui`; a completed task records nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import autolog


def show(task_id: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autolog", "show", task_id, *extra],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=True,
    )


def test_an_uncaught_exception_is_recorded_as_type_and_message(run_py, tmp_path: Path) -> None:
    proc = run_py(
        """
        import autolog
        task = autolog.init("fail", "run")
        print(task.id, flush=True)
        secret_in_a_local = "hunter2-do-not-record"
        class DivergedError(Exception):
            pass
        raise DivergedError("loss is nan at step 41")
        """,
        check=False,
    )
    assert proc.returncode == 1
    task = autolog.Task.get_task(proc.stdout.split()[0])
    assert task.status == "failed"
    assert task.failure == "DivergedError: loss is nan at step 41"
    data = json.loads(show(task.id, tmp_path, "--json").stdout)
    assert data["failure"] == "DivergedError: loss is nan at step 41"
    text = show(task.id, tmp_path).stdout
    assert "failure" in text and "loss is nan at step 41" in text
    assert "hunter2" not in text and "Traceback" not in text


def test_keyboard_interrupt_and_library_exceptions_name_their_type(run_py) -> None:
    proc = run_py(
        """
        import json, autolog
        task = autolog.init("fail", "interrupted")
        print(task.id, flush=True)
        json.loads("{not json")
        """,
        check=False,
    )
    task = autolog.Task.get_task(proc.stdout.split()[0])
    assert task.failure is not None and task.failure.startswith("json.decoder.JSONDecodeError: Expecting")
    proc = run_py(
        """
        import autolog
        task = autolog.init("fail", "ctrl-c")
        print(task.id, flush=True)
        raise KeyboardInterrupt
        """,
        check=False,
    )
    assert autolog.Task.get_task(proc.stdout.split()[0]).failure == "KeyboardInterrupt"


def test_context_manager_records_the_reason_and_a_success_records_none() -> None:
    with pytest.raises(ValueError):
        with autolog.init("fail", "ctx") as bad:
            raise ValueError("x" * 5000)
    stored = autolog.Task.get_task(bad.id)
    assert stored.status == "failed" and stored.failure is not None
    assert stored.failure.startswith("ValueError: xxx") and len(stored.failure) <= 2000  # bounded
    with autolog.init("fail", "ok") as ok:
        pass
    assert autolog.Task.get_task(ok.id).failure is None


def test_credentials_in_the_message_are_masked(run_py) -> None:
    proc = run_py(
        """
        import autolog
        task = autolog.init("fail", "creds")
        print(task.id, flush=True)
        raise ConnectionError("cannot reach postgresql://bob:s3cret@db:5432/x")
        """,
        check=False,
    )
    failure = autolog.Task.get_task(proc.stdout.split()[0]).failure
    assert failure is not None and failure.startswith("ConnectionError: cannot reach") and "s3cret" not in failure
