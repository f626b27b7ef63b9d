"""Point 7 (and the password half of point 4) on a real PostgreSQL server: long names are TEXT, no row is
dropped, an old store is migrated, and the "newer schema" error masks the password."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.postgres


def test_long_project_task_and_framework_names_keep_every_row(run_py, pg_database: str) -> None:
    project, name, framework = "p" * 300, "t" * 300, "f" * 100
    proc = run_py(
        f"""
        import json, autolog
        task = autolog.init({project!r}, {name!r}, tags=["x" * 300])
        for i in range(3):
            open(f"m{{i}}.bin", "wb").write(b"m%d" % i)
            task.register_model(f"m{{i}}.bin", name="n" * 300 + str(i), framework={framework!r})
        task.close()
        found = autolog.Task.get_task(project={project!r}, task={name!r})
        print(json.dumps({{"id": task.id, "found": found.id, "tags": list(found.tags),
                          "models": [m.name[-1] for m in found.models["output"]],
                          "framework": found.models["output"][0].framework,
                          "by_project": len(autolog.Model.query(project={project!r}))}}))
    """,
        env={"AUTOLOG_TRACKING_URI": pg_database},
    )
    assert "internal error" not in proc.stderr, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["found"] == out["id"] and out["tags"] == ["x" * 300]
    assert out["models"] == ["0", "1", "2"] and out["by_project"] == 3 and out["framework"] == framework


def test_a_version_1_store_is_migrated_to_text(run_py, pg_database: str) -> None:
    import psycopg

    run_py("import autolog; autolog.init('p', 't').close()", env={"AUTOLOG_TRACKING_URI": pg_database})
    with psycopg.connect(pg_database, autocommit=True) as conn:  # put it back as schema 1 had it
        conn.execute("ALTER TABLE tasks ALTER COLUMN project TYPE VARCHAR(255), ALTER COLUMN name TYPE VARCHAR(255)")
        conn.execute("ALTER TABLE models ALTER COLUMN framework TYPE VARCHAR(64)")
        conn.execute("UPDATE autolog_meta SET value = '1' WHERE key = 'schema_version'")
    proc = run_py(
        f"""
        import autolog
        autolog.init({"q" * 300!r}, "t").close()
        print(autolog.Task.get_task(project={"q" * 300!r}).name)
    """,
        env={"AUTOLOG_TRACKING_URI": pg_database},
    )
    assert proc.stdout.strip() == "t"
    with psycopg.connect(pg_database) as conn:
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE "
                "table_name = 'tasks' AND column_name IN ('project', 'name')"
            ).fetchall()
        )
        version = conn.execute("SELECT value FROM autolog_meta WHERE key = 'schema_version'").fetchone()[0]
    assert types == {"project": "text", "name": "text"} and int(version) >= 2


def test_newer_schema_error_masks_the_password(run_py, pg_database: str) -> None:
    import psycopg

    from .conftest import autolog_cli

    with_password = pg_database.replace("postgresql://postgres@", "postgresql://postgres:hunter2-pg-secret@")
    run_py("import autolog; autolog.init('p', 't').close()", env={"AUTOLOG_TRACKING_URI": with_password})
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("UPDATE autolog_meta SET value = '999' WHERE key = 'schema_version'")
    cli = autolog_cli("tasks", env={"AUTOLOG_TRACKING_URI": with_password})
    assert cli.returncode != 0
    assert "schema version 999" in cli.stderr and "postgres:***@" in cli.stderr, cli.stderr
    assert "hunter2" not in cli.stderr + cli.stdout
    proc = run_py(
        """
        import autolog
        task = autolog.init("p", "t")
        try:
            task.models
        except autolog.AutologError as exc:
            print("error:", exc)
    """,
        env={"AUTOLOG_TRACKING_URI": with_password, "AUTOLOG_STRICT": "0"},
        check=False,
    )
    assert "error:" in proc.stdout and "schema version 999" in proc.stdout, proc.stdout + proc.stderr
    assert "hunter2" not in proc.stdout + proc.stderr


class _Proxy:
    """A TCP forwarder to the server that can be cut: the store becomes unreachable in the middle of a run."""

    def __init__(self, target_port: int) -> None:
        import socket
        import threading

        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list = []
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while self.open:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        import socket

        self.open = False
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept(); close() alone would not
        except OSError:
            pass
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


def test_store_lost_mid_run_fails_reads_in_seconds_even_behind_queued_writes(pg_database: str, tmp_path) -> None:
    import os
    import subprocess
    import sys
    import textwrap
    from urllib.parse import urlsplit

    parts = urlsplit(pg_database)
    proxy = _Proxy(parts.port)
    url = pg_database.replace(f":{parts.port}/", f":{proxy.port}/")
    code = textwrap.dedent("""
        import sys, time, autolog
        task = autolog.init("p", "t")
        task.models
        print("ready", flush=True)
        sys.stdin.readline()
        for i in range(5):
            open(f"m{i}.bin", "wb").write(b"%d" % i)
            task.register_model(f"m{i}.bin")
        started = time.monotonic()
        try:
            task.models
        except autolog.StoreUnavailableError as exc:
            print("StoreUnavailableError", round(time.monotonic() - started, 1), exc, flush=True)
        else:
            print("returned", round(time.monotonic() - started, 1), flush=True)
    """)
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "AUTOLOG_TRACKING_URI": url, "AUTOLOG_STRICT": "0"},
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        proxy.cut()
        child.stdin.write("go\n")
        child.stdin.flush()
        out, err = child.communicate(timeout=120)
    finally:
        child.kill()
    assert "StoreUnavailableError" in out, out + err
    seconds = float(out.split()[1])
    assert seconds < 15, (seconds, out)


def test_a_store_the_server_refuses_is_one_clear_line(postgres_url: str) -> None:
    from .conftest import autolog_cli

    url = postgres_url.rsplit("/", 1)[0] + "/no_such_database"
    cli = autolog_cli("tasks", env={"AUTOLOG_TRACKING_URI": url})
    assert cli.returncode == 1
    lines = cli.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the metadata store" in lines[0] and "no_such_database" in lines[0], (
        cli.stderr
    )
