"""`autolog` command line: list tasks and models, show one, trace lineage, fetch copies, finish uploads.

Every listing takes `--json` for scripts; otherwise a rich table for people. Ids may be abbreviated to
any unique prefix, as with git.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..store.states import TaskStatus
from ..version import __version__
from .format import print_fields, short_id

if TYPE_CHECKING:
    from ..pipeline.session import Session
    from ..store.rows import TableName


def _session() -> Session:
    from ..run.current import get_session

    return get_session()


def _resolve(table: TableName, key: str) -> dict[str, Any] | None:
    """A row by exact id or unique id prefix; SystemExit naming the problem when ambiguous."""
    store = _session().store
    row = store.get(table, key)
    if row is not None:
        return row
    if len(key) < 4:
        return None
    rows = store.select(table, None, id_prefix=key, limit=2)
    if len(rows) > 1:
        raise SystemExit(f"autolog: id prefix {key!r} matches several {table}; give more characters")
    return rows[0] if rows else None


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _minute(value: Any) -> str:
    """A listing's timestamp, to the minute (the seconds stay in `show` and `--json`)."""
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _size(value: int | None) -> str:
    if value is None:
        return ""
    amount = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return str(amount)


def task_dict(task: Any) -> dict[str, Any]:
    from ..system.redact import redact  # records written before credentials were stripped still print masked

    return {
        "id": task.id,
        "project": task.project,
        "name": task.name,
        "status": task.status,
        "output_uri": redact(task.output_uri),
        "tags": list(task.tags),
        "started": _when(task.started),
        "ended": _when(task.ended),
        **({"failure": task.failure} if task.failure else {}),  # why it failed: exception type and message
        **task.run_info,
    }


def model_dict(model: Any) -> dict[str, Any]:
    from ..system.redact import redact

    return {
        "id": model.id,
        "name": model.name,
        "framework": model.framework,
        "task_id": model.task_id,
        "uri": redact(model.uri),
        "local_path": model.local_path,
        "size": model.size,
        "hash": model.hash,
        "created": _when(model.created),
        "upload_state": model.upload_state,
        "step": model.step,
        "epoch": model.epoch,
        "metrics": model.metrics,
        "monitor": model.monitor,
        "pruned_at": _when(model.pruned_at) if model.pruned_at else None,
        "pruned_rule": model.pruned_rule,
    }


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], **layout: Sequence[str]) -> None:
    from .format import print_table

    print_table(title, columns, rows, **layout)


# -- commands -------------------------------------------------------------------------------------------
def cmd_tasks(args: argparse.Namespace) -> int:
    from ..run.task import Task

    tasks = Task.query(
        project=args.project, task=args.task, status=args.status, tags=args.tag or None, limit=args.limit or None
    )
    if args.json:
        _print_json([task_dict(t) for t in tasks])
    else:
        _table(
            "tasks",
            ["id", "project", "task", "status", "started", "tags"],
            [(short_id(t.id), t.project, t.name, t.status, _minute(t.started), ",".join(t.tags)) for t in tasks],
            free=("project", "task", "tags"),
        )
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from ..run.model import Model
    from ..system.redact import redact

    models = Model.query(
        project=args.project, task_id=args.task_id, name=args.name, framework=args.framework, limit=args.limit or None
    )
    from .storage_commands import metrics_text, user_aliases

    if args.json:
        _print_json([model_dict(m) for m in models])
    else:
        named = user_aliases(_session(), models)
        _table(
            "models",
            ["id", "name", "framework", "task", "step", "metrics", "kept", "size", "created", "stored at"],
            [
                (
                    short_id(m.id),
                    m.name,
                    m.framework,
                    short_id(m.task_id or "imported"),
                    "" if m.step is None else m.step,
                    metrics_text(m),
                    ",".join(named.get(m.id, [])) or ("" if m.upload_state == "done" else m.upload_state),
                    _size(m.size),
                    _minute(m.created),
                    redact(m.uri) or m.local_path,
                )
                for m in models
            ],
            shorten=("stored at",),
            free=("name", "framework"),
            optional=("size", "framework", "created", "metrics", "kept", "step"),
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from ..run.model import model_from_row
    from ..run.task import Task
    from .storage_commands import metrics_text

    row = _resolve("tasks", args.id)
    if row is None:
        model_row = _resolve("models", args.id)
        if model_row is None:
            raise SystemExit(f"autolog: no task or model with id {args.id!r}")
        model = model_from_row(model_row)
        data = {**model_dict(model), "aliases": model.aliases, "consumers": [t.id for t in model.consumers]}
        if args.json:
            _print_json(data)
        else:
            print_fields(f"model {model.id}", list(data.items()))
        return 0
    task = Task(_session(), row)
    models = task.models
    artifacts = list(task.artifacts.values())
    if args.json:
        _print_json(
            {
                **task_dict(task),
                "models": {k: [model_dict(m) for m in v] for k, v in models.items()},
                "artifacts": [artifact_dict(a) for a in artifacts],
            }
        )
        return 0
    print_fields(f"task {task.id}", list(task_dict(task).items()))
    for kind in ("input", "output"):
        _table(
            f"{kind} models",
            ["id", "name", "framework", "producer", "step", "metrics", "state", "size", "stored at"],
            [
                (
                    short_id(m.id),
                    m.name,
                    m.framework,
                    short_id(m.task_id or "imported"),
                    "" if m.step is None else m.step,
                    metrics_text(m),
                    m.upload_state,
                    _size(m.size),
                    model_dict(m)["uri"] or m.local_path,
                )
                for m in models[kind]
            ],
            shorten=("stored at",),
            free=("name", "framework"),
            optional=("size", "framework", "metrics", "state", "step"),
        )
    _table(
        "artifacts",
        ["name", "type", "size", "preview", "stored at"],
        [(a.name, a.type, _size(a.size), a.preview(), artifact_dict(a)["uri"]) for a in artifacts],
        shorten=("stored at",),
        free=("name", "preview"),
        optional=("size", "type"),
    )
    return 0


def artifact_dict(artifact: Any) -> dict[str, Any]:
    from ..system.redact import redact

    return {
        "id": artifact.id,  # what `autolog ui`'s go-to box and /artifact/<id> take
        "name": artifact.name,
        "type": artifact.type,
        "uri": redact(artifact.uri),
        "size": artifact.size,
        "hash": artifact.hash,
        "metadata": artifact.metadata,
        "created": _when(artifact.created),
    }


def lineage_tree(task_id: str, seen: set[str] | None = None) -> dict[str, Any]:
    """{"task": ..., "inputs": [{"model": ..., "producer": <tree or None>}], "artifacts": [{<artifact>, "producer":
    <tree or None>}]} (artifacts the task fetched from other tasks), cycles cut.

    The whole ancestry comes from the store in one call (`SqlStore.lineage`)."""
    from ..errors import NotFoundError
    from ..run.artifact import artifact_from_row
    from ..run.model import model_from_row
    from ..run.task import Task

    session = _session()
    found = session.store.lineage(task_id)
    if task_id not in found["tasks"]:
        raise NotFoundError(f"no task with id {task_id!r}")
    seen = set() if seen is None else seen

    def build(tid: str) -> dict[str, Any]:
        seen.add(tid)
        inputs = []
        for row in found["inputs"].get(tid, []):
            model = model_from_row(row)
            producer = None
            if model.task_id and model.task_id not in seen and model.task_id in found["tasks"]:
                producer = build(model.task_id)
            inputs.append({"model": model_dict(model), "producer": producer})
        artifacts = []
        for row in found.get("artifacts", {}).get(tid, []):  # artifacts it fetched from other tasks
            producer = None
            if row["task_id"] not in seen and row["task_id"] in found["tasks"]:
                producer = build(row["task_id"])
            artifacts.append(
                {
                    "id": row["id"],
                    "task_id": row["task_id"],
                    **artifact_dict(artifact_from_row(row)),
                    "producer": producer,
                }
            )
        return {"task": task_dict(Task(session, found["tasks"][tid])), "inputs": inputs, "artifacts": artifacts}

    return build(task_id)


def cmd_lineage(args: argparse.Namespace) -> int:
    from ..run.model import model_from_row

    row = _resolve("tasks", args.id)
    root_model = None
    if row is None:
        model_row = _resolve("models", args.id)
        if model_row is None:
            raise SystemExit(f"autolog: no task or model with id {args.id!r}")
        root_model = model_from_row(model_row)
        tree: dict[str, Any] = {
            "model": model_dict(root_model),
            "producer": lineage_tree(root_model.task_id) if root_model.task_id else None,
        }
    else:
        tree = lineage_tree(row["id"])
    if args.json:
        _print_json(tree)
        return 0
    from rich.console import Console
    from rich.tree import Tree

    def add_task(node: Tree, sub: dict[str, Any]) -> None:
        for item in sub["inputs"]:
            m = item["model"]
            child = node.add(f"[cyan]model[/] {m['id'][:12]} {m['name']} ({m['framework']})")
            if item["producer"]:
                p = item["producer"]["task"]
                add_task(
                    child.add(f"[green]task[/] {p['id'][:12]} {p['project']}/{p['name']} {p['status']}"),
                    item["producer"],
                )
            elif not m["task_id"]:
                child.add("[dim]imported (no producing task)[/]")
        for a in sub.get("artifacts", []):
            child = node.add(f"[yellow]artifact[/] {a['id'][:12]} {a['name']} ({a['type']})")
            if a["producer"]:
                p = a["producer"]["task"]
                add_task(
                    child.add(f"[green]task[/] {p['id'][:12]} {p['project']}/{p['name']} {p['status']}"), a["producer"]
                )

    if root_model is not None:
        root = Tree(f"[cyan]model[/] {root_model.id[:12]} {root_model.name} ({root_model.framework})")
        if tree["producer"]:
            p = tree["producer"]["task"]
            add_task(
                root.add(f"[green]task[/] {p['id'][:12]} {p['project']}/{p['name']} {p['status']}"), tree["producer"]
            )
    else:
        t = tree["task"]
        root = Tree(f"[green]task[/] {t['id'][:12]} {t['project']}/{t['name']} {t['status']}")
        add_task(root, tree)
    Console().print(root)
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    from ..run.model import model_from_row
    from ..run.task import Task

    if args.artifact is None:
        model_row = _resolve("models", args.id)
        if model_row is not None:
            print(model_from_row(model_row).get_local_copy())
            return 0
    row = _resolve("tasks", args.id)
    if row is None:
        raise SystemExit(f"autolog: no task or model with id {args.id!r}")
    task = Task(_session(), row)
    if args.artifact is not None:
        from ..run.task import find_artifact

        print(find_artifact(task.id, args.artifact).get_local_copy())
        return 0
    outputs = task.models["output"]
    if not outputs:
        raise SystemExit(f"autolog: task {task.id} saved no model; name an artifact to fetch")
    print(outputs[-1].get_local_copy())
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from ..pipeline.sync import recover, unsettled_by_host
    from ..store.states import UploadState

    session = _session()
    queued = recover(session, include_live=args.include_live)
    timeout = session.settings.upload_timeout if args.timeout is None else args.timeout
    if not session.flush(timeout):
        print(
            f"autolog: uploads still running after {timeout:g} s (upload_timeout); run `autolog sync` again",
            file=sys.stderr,
        )
    here, elsewhere = unsettled_by_host(session)
    line = f"{queued} upload(s) resumed; {here[UploadState.PENDING]} still pending, {here[UploadState.FAILED]} failed"
    if elsewhere:
        hosts = ", ".join(f"{host}: {n}" for host, n in sorted(elsewhere.items()))
        line += (
            f"; on other hosts, {sum(elsewhere.values())} not finished ({hosts}): `autolog sync` there finishes them"
        )
    print(line)
    return 1 if here[UploadState.FAILED] else 0  # another host's rows are not this sync's to finish


def cmd_cache(args: argparse.Namespace) -> int:
    cache = _session().cache
    if args.action == "clear":
        print(f"removed {cache.clear()} cached entr(ies) from {cache.root}")
        return 0
    entries = cache.entries()
    info: dict[str, Any] = {
        "path": str(cache.root),
        "entries": len(entries),
        "bytes": sum(s for _p, s, _t in entries),
        "max_bytes": cache.max_bytes,
    }
    if args.json:
        _print_json(info)
    else:
        print_fields("cache", [(k, _size(v) if "bytes" in k else v) for k, v in info.items()])
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from ..ui import serve  # Starlette and uvicorn load only here (the `ui` extra)

    serve(args.host, args.port, args.open)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autolog", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"autolog {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    # Options several commands share, declared once (argparse "parent" parsers).
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="machine-readable output")
    listing = argparse.ArgumentParser(add_help=False, parents=[as_json])
    listing.add_argument("--limit", type=int, default=50, help="at most this many, newest first (0: all; default 50)")
    by_id = argparse.ArgumentParser(add_help=False, parents=[as_json])
    by_id.add_argument("id", help="task or model id (or a unique prefix)")

    p = sub.add_parser("tasks", help="list tasks, newest first", parents=[listing])
    p.add_argument("--project")
    p.add_argument("--task", help="task name")
    p.add_argument("--status", choices=[str(s) for s in TaskStatus if s is not TaskStatus.CLOSING])
    p.add_argument("--tag", action="append", help="only tasks with this tag (repeatable)")
    p.set_defaults(run=cmd_tasks)

    p = sub.add_parser("models", help="list model snapshots, newest first", parents=[listing])
    p.add_argument("--project")
    p.add_argument("--task-id")
    p.add_argument("--name", help="file name, e.g. ckpt.pt")
    p.add_argument("--framework")
    p.set_defaults(run=cmd_models)

    p = sub.add_parser("show", help="one task (its run info, models and artifacts) or one model", parents=[by_id])
    p.set_defaults(run=cmd_show)

    p = sub.add_parser("lineage", help="which models and tasks a task or model came from", parents=[by_id])
    p.set_defaults(run=cmd_lineage)

    p = sub.add_parser("get", help="print the local path of a model copy, or of a task's artifact")
    p.add_argument("id", help="model id, or task id (then its artifact, or its latest model)")
    p.add_argument("artifact", nargs="?", help="artifact name of the task")
    p.set_defaults(run=cmd_get)

    p = sub.add_parser("sync", help="finish uploads left pending by processes that ended or crashed")
    p.add_argument("--include-live", action="store_true", help="also take over uploads of running processes")
    p.add_argument("--timeout", type=float, help="seconds to wait for the uploads (default: upload_timeout)")
    p.set_defaults(run=cmd_sync)

    p = sub.add_parser("cache", help="inspect or clear the local download cache", parents=[as_json])
    p.add_argument("action", choices=["info", "clear"], nargs="?", default="info")
    p.set_defaults(run=cmd_cache)

    from .storage_commands import add_storage_commands

    add_storage_commands(sub, as_json)

    p = sub.add_parser(
        "ui",
        help="serve a read-only web page over the records (needs the `ui` extra)",
        description="Serve a read-only web page over the records of the configured store: tasks, models, "
        "lineage graphs, artifact previews and downloads (needs the `ui` extra: pip install 'autolog[ui]'). "
        "On 127.0.0.1 (the default) there is no login; on any other address every request needs a token: "
        "the ui_token setting (AUTOLOG_UI_TOKEN), or a random one printed at start. See docs/ui.md.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port to listen on (default: %(default)s)")
    p.add_argument("--open", action="store_true", help="open the page in a browser")
    p.set_defaults(run=cmd_ui)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ..errors import AutologError

    try:
        status: int = args.run(args)
        return status
    except AutologError as exc:
        print(f"autolog: {_one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:
        if not type(exc).__module__.startswith(("sqlalchemy", "psycopg", "sqlite3")):
            raise
        # A database error that escaped the store's own mapping: one line, URL masked, never a traceback.
        print(f"autolog: the metadata store failed: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    from ..system.redact import redact_text

    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return redact_text(lines[0] if lines else type(exc).__name__)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
