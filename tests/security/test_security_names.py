"""Point 1: no name writes outside the home, the output store and the cache.

The hostile-name table runs through a subprocess user program for model names (`register_model(name=)`),
artifact names and project/task names; afterwards every file on disk that appeared must lie under the home
(where the cache and the local store live) or the output store, and the names must still read back as
given. Names that cannot be stored (NUL, 10k characters, empty) are a ValueError at the call.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest

from .conftest import all_files

ESCAPE = f"autolog-escape-{uuid.uuid4().hex[:8]}"


def hostile_names(outside: Path) -> dict[str, str]:
    return {
        "dotdot": f"../{ESCAPE}",
        "deep dotdot": "../" * 40 + f"tmp/{ESCAPE}",
        "absolute": str(outside / ESCAPE),
        "nul": "a\0b",
        "10k chars": "x" * 10_000,
        "unicode": "модель-🙂-模型.pt",
        "newline": "line1\nline2",
        "backslash": "..\\..\\" + ESCAPE,
        "dot": ".",
        "dotdot alone": "..",
        "empty": "",
    }


REFUSED = {"nul", "10k chars", "empty"}


def _check_nothing_escaped(home: Path, remote: Path, cwd: Path, outside: Path) -> None:
    assert not outside.exists() or not any(outside.iterdir()), list(outside.iterdir())
    assert not Path("/tmp", ESCAPE).exists()
    assert not Path("/", ESCAPE).exists()
    allowed = (home, remote, cwd / "in")
    strays = [p for p in all_files(home.parent, remote.parent) if not any(p.is_relative_to(a) for a in allowed)]
    assert not strays, strays


PROGRAM = """
    import json, os, sys
    import autolog

    names = json.loads({names!r})
    kind, remote = {kind!r}, {remote!r}
    os.makedirs("in", exist_ok=True)
    results = {{}}
    for label, name in names.items():
        src = os.path.join("in", f"{{abs(hash(label))}}.bin")
        with open(src, "wb") as fh:
            fh.write(label.encode())
        try:
            if kind == "task":
                task = autolog.init(name, name, output_uri=remote)
                model = task.register_model(src)
            else:
                task = autolog.current_task() or autolog.init("p", "t", output_uri=remote if kind == "model" else None)
                if kind == "model":
                    model = task.register_model(src, name=name)
                else:
                    artifact = task.upload_artifact(name, src, wait=True)
        except ValueError as exc:
            results[label] = {{"error": str(exc)}}
            continue
        task.flush()
        if kind == "artifact":
            got = autolog.Task.get_task(task.id).artifacts[name]
            path, shown = got.get_local_copy(), got.name
        else:
            got = autolog.Model.get(model.id)
            path, shown = got.get_local_copy(), (autolog.Task.get_task(task.id).project if kind == "task" else got.name)
        results[label] = {{"path": path, "bytes": open(path, "rb").read().decode(), "name_kept": shown == name}}
    print(json.dumps(results))
"""


@pytest.mark.parametrize("kind", ["model", "artifact", "task"])
def test_hostile_names_stay_inside(kind: str, run_py, home: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    remote = tmp_path / "remote"
    names = hostile_names(outside)
    proc = run_py(PROGRAM.format(names=json.dumps(names), kind=kind, remote=str(remote)))
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    cache = home / "cache"
    for label in names:
        result = results[label]
        if label in REFUSED:
            assert "error" in result, (label, result)
            continue
        assert "error" not in result, (label, result)
        assert result["bytes"] == label, (label, result)
        assert result["name_kept"], label
        assert Path(result["path"]).is_relative_to(cache), (label, result["path"])
    _check_nothing_escaped(home, remote, tmp_path, outside)


def test_refused_names_say_why_at_the_call(run_py) -> None:
    proc = run_py("""
        import autolog
        task = autolog.init("p", "t")
        open("m.bin", "wb").write(b"x")
        for bad in ("a\\0b", "y" * 10_000):
            for call in (lambda: task.register_model("m.bin", name=bad), lambda: task.upload_artifact(bad, {"a": 1}),
                         lambda: autolog.init(bad, "t"), lambda: autolog.init("p", bad)):
                try:
                    call()
                except ValueError as exc:
                    print("ValueError:", str(exc)[:200].replace("\\n", " "))
                else:
                    print("accepted")
    """)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 8 and all(line.startswith("ValueError:") for line in lines), lines
    assert sum("NUL" in line for line in lines) == 4
    assert sum("too long" in line and "1024" in line for line in lines) == 4


def test_names_edited_in_a_shared_store_cannot_escape(run_py, home: Path, tmp_path: Path) -> None:
    """A team member edits the records (file names, model names, member lists) to point outside: the reader
    still writes only into its cache, or refuses with a clear error."""
    remote = tmp_path / "remote"
    outside = tmp_path / "outside"
    proc = run_py(f"""
        import autolog, os
        task = autolog.init("p", "t", output_uri={str(remote)!r})
        os.makedirs("in")
        open("in/w.bin", "wb").write(b"weights")
        model = task.register_model("in/w.bin")
        task.upload_artifact("report", "in/w.bin", wait=True)
        task.close()
        print(task.id, model.id)
    """)
    task_id, model_id = proc.stdout.split()
    db = sqlite3.connect(home / "autolog.db")
    evil_rel = "../" * 12 + f"tmp/{ESCAPE}"
    evil_abs = str(outside / ESCAPE)
    db.execute("UPDATE artifacts SET file_name = ? WHERE task_id = ?", (evil_rel, task_id))
    db.execute("UPDATE models SET name = ? WHERE id = ?", (evil_abs, model_id))
    db.commit()
    db.close()
    proc = run_py(f"""
        import autolog
        art = autolog.Task.get_task({task_id!r}).artifacts["report"]
        print(art.get_local_copy())
        print(autolog.Model.get({model_id!r}).get_local_copy())
    """)
    for line in proc.stdout.strip().splitlines():
        assert Path(line).is_relative_to(home / "cache"), line
        assert Path(line).read_bytes() == b"weights"
    # A recorded hash edited into a path: refused before the cache makes a folder of it.
    db = sqlite3.connect(home / "autolog.db")
    db.execute("UPDATE models SET hash = ? WHERE id = ?", ("../" * 12 + f"tmp/{ESCAPE}", model_id))
    db.commit()
    db.close()
    proc = run_py(f"""
        import autolog
        try:
            autolog.Model.get({model_id!r}).get_local_copy()
        except autolog.IntegrityError as exc:
            print("refused:", exc)
    """)
    assert "refused: not a content hash" in proc.stdout, proc.stdout
    # A multi-file checkpoint's member list edited to climb out: refused, nothing read or written.
    db = sqlite3.connect(home / "autolog.db")
    db.execute("UPDATE models SET uri = NULL, members = ? WHERE id = ?", (json.dumps([f"../{ESCAPE}"]), model_id))
    db.commit()
    db.close()
    proc = run_py(f"""
        import autolog
        try:
            autolog.Model.get({model_id!r}).get_local_copy()
        except autolog.IntegrityError as exc:
            print("refused:", exc)
    """)
    assert "refused:" in proc.stdout and "not a plain file name" in proc.stdout, proc.stdout
    _check_nothing_escaped(home, remote, tmp_path, outside)
