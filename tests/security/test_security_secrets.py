"""Point 4: credentials never reach the record, the log or the screen; an unreachable store is one clear
error, quickly."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from .conftest import all_files, autolog_cli, free_port


@pytest.mark.s3
def test_credentials_in_output_uri_are_never_stored_or_printed(
    run_py, home: Path, s3_server: dict, s3_uri: str, tmp_path: Path
) -> None:
    key, secret = s3_server["key"], s3_server["secret"]
    if not secret:
        pytest.skip("the S3 server takes no credentials: nothing to leak")
    bucket_and_prefix = s3_uri[len("s3://") :]
    # A signed-URL style token as well: it must not survive either.
    with_creds = f"s3://{key}:{secret}@{bucket_and_prefix}?X-Amz-Signature=SIGNATURE-TOKEN-123"
    proc = run_py(f"""
        import autolog
        task = autolog.init("p", "t", output_uri={with_creds!r})
        open("w.bin", "wb").write(b"weights on s3")
        model = task.register_model("w.bin")
        task.upload_artifact("cfg", {{"lr": 0.1}}, wait=True)
        task.flush()
        # The credentials come from the environment: the copy is fetched back from the bucket.
        assert open(autolog.Model.get(model.id).get_local_copy(), "rb").read() == b"weights on s3"
        print(task.id)
        print(task.output_uri)
    """)
    task_id, shown_uri = proc.stdout.split()[-2:]
    assert shown_uri == s3_uri
    outputs = [proc.stdout, proc.stderr]
    assert "removed the credentials" in proc.stderr
    for args in (["tasks", "--json"], ["show", task_id], ["show", task_id, "--json"], ["models", "--json"], ["sync"]):
        cli = autolog_cli(*args)
        assert cli.returncode == 0, cli.stderr
        outputs += [cli.stdout, cli.stderr]
    assert s3_uri in "".join(outputs)  # the URI is shown, without what it carried
    for text in outputs:
        assert secret not in text and "SIGNATURE-TOKEN-123" not in text, text
    for path in all_files(home):  # the database (and its WAL), staging, cache: no secret anywhere
        data = path.read_bytes()
        assert secret.encode() not in data and b"SIGNATURE-TOKEN-123" not in data, path


def test_store_unreachable_cli_one_line_and_api_error_in_seconds(run_py, tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    url = f"postgresql://alice:hunter2-secret@127.0.0.1:{free_port()}/db"  # nothing listens there
    env = {"AUTOLOG_TRACKING_URI": url}
    started = time.monotonic()
    cli = autolog_cli("tasks", env=env)
    cli_seconds = time.monotonic() - started
    assert cli.returncode != 0
    lines = cli.stderr.strip().splitlines()
    assert len(lines) == 1, cli.stderr
    assert lines[0].startswith("autolog: cannot reach the metadata store at postgresql://alice:***@127.0.0.1")
    assert "hunter2" not in cli.stderr + cli.stdout and "Traceback" not in cli.stderr
    assert cli_seconds < 15, cli_seconds

    proc = run_py(
        """
        import time, autolog
        task = autolog.init("p", "t")
        started = time.monotonic()
        try:
            task.models
        except autolog.StoreUnavailableError as exc:
            print("StoreUnavailableError", round(time.monotonic() - started, 1), exc)
    """,
        env={**env, "AUTOLOG_STRICT": "0"},
        check=False,
    )
    assert "StoreUnavailableError" in proc.stdout, proc.stdout + proc.stderr
    seconds = float(proc.stdout.split()[1])
    assert seconds < 15, seconds
    assert "hunter2" not in proc.stdout + proc.stderr


def test_tracking_password_is_masked_in_every_error(run_py, tmp_path: Path) -> None:
    """Errors that show a tracking URL (bad scheme, missing driver, bad SQLite folder) mask its password."""
    for url in (
        "nosuchdb://bob:pw-secret-1@h/db",
        "mysql+nosuchdriver://bob:pw-secret-1@h/db",
        "mysql://bob:pw-secret-1@h/db",
    ):
        cli = autolog_cli("tasks", env={"AUTOLOG_TRACKING_URI": url})
        assert cli.returncode != 0
        assert len(cli.stderr.strip().splitlines()) == 1, cli.stderr
        assert "AUTOLOG_TRACKING_URI" in cli.stderr and "pw-secret-1" not in cli.stderr, cli.stderr


def test_redaction_rules() -> None:
    from autolog.system.redact import redact, redact_text, strip_credentials

    assert strip_credentials("s3://AKIA:sec@bucket/a?X-Amz-Credential=c&X-Amz-Signature=s&v=1") == "s3://bucket/a?v=1"
    assert redact("postgresql://u:p@ss@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redact("https://TOKEN@github.com/x") == "https://***@github.com/x"
    assert redact("/plain/path") == "/plain/path"
    assert json.dumps(redact_text("at postgresql://u:pw@h/db and s3://k:s@b")) == json.dumps(
        "at postgresql://u:***@h/db and s3://k:***@b"
    )


def test_sqlite_store_that_cannot_be_opened_is_store_unavailable(run_py, tmp_path: Path) -> None:
    folder_as_db = tmp_path / "a-folder.db"
    folder_as_db.mkdir()
    env = {"AUTOLOG_TRACKING_URI": f"sqlite:///{folder_as_db}", "AUTOLOG_STRICT": "0"}
    cli = autolog_cli("tasks", env=env)
    assert cli.returncode == 1 and len(cli.stderr.strip().splitlines()) == 1, cli.stderr
    assert "unable to open database file" in cli.stderr
    proc = run_py(
        """
        import autolog
        task = autolog.init("p", "t")
        try:
            task.models
        except autolog.StoreUnavailableError as exc:
            print("StoreUnavailableError:", exc)
    """,
        env=env,
        check=False,
    )
    assert "StoreUnavailableError:" in proc.stdout, proc.stdout + proc.stderr
