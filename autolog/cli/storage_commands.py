"""`autolog gc`, `autolog alias` and `autolog materialize`: the command-line side of `docs/storage.md`.

- `gc [--project P] [--task ID] [--keep POLICY] [--dry-run]`: apply retention policies to existing records and
  free unreferenced stored objects; a dry run prints exactly the lines the real run prints.
- `alias MODEL_ID NAME` / `alias --remove NAME --project P` / `alias --list --project P`: user aliases.
- `materialize DEST [--project P] [--task ID]`: copy kept snapshots out of the content-addressed store into
  `DEST/<project>/<task>.<id>/models/<seq>_<name>`, the layout people browse.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any


def metrics_text(model: Any, limit: int = 3) -> str:
    """A model's metrics in a few words for a table ("val_loss=0.312 acc=0.9"); the monitored one first."""
    items = sorted(model.metrics.items(), key=lambda kv: (kv[0] != model.monitor, kv[0]))[:limit]
    return " ".join(f"{k}={v:.4g}" for k, v in items)


def user_aliases(session: Any, models: Sequence[Any]) -> dict[str, list[str]]:
    """Model id -> its user aliases, one query for a whole listing."""
    found: dict[str, list[str]] = {}
    ids = [m.id for m in models]
    for row in session.store.refs_read("aliases_of", ids) if ids else []:
        found.setdefault(row["model_id"], []).append(row["alias"])
    return found


def _session() -> Any:
    from ..run.current import get_session

    return get_session()


def _resolve(table: str, key: str) -> dict[str, Any] | None:
    """A row by exact id or unique id prefix (as `autolog show` takes them)."""
    store = _session().store
    row = store.get(table, key)
    if row is not None or len(key) < 4:
        return row  # type: ignore[no-any-return]
    rows = store.select(table, None, id_prefix=key, limit=2)
    if len(rows) > 1:
        raise SystemExit(f"autolog: id prefix {key!r} matches several {table}; give more characters")
    return rows[0] if rows else None


def cmd_gc(args: argparse.Namespace) -> int:
    from ..pipeline.retention import collect
    from ..store.keep import parse

    override = parse(args.keep, "--keep") if args.keep else None
    session = _session()
    if args.task:
        row = _resolve("tasks", args.task)
        if row is None:
            raise SystemExit(f"autolog: no task with id {args.task!r}")
        args.task = row["id"]
    result = collect(
        session.store, project=args.project, task_id=args.task, override=override, dry_run=args.dry_run, say=print
    )
    verb = "would prune" if args.dry_run else "pruned"
    print(
        f"# {verb} {len(result.prune)} snapshot(s), "
        f"{'would free' if args.dry_run else 'freed'} {len(result.objects) + len(result.copies)} stored object(s) "
        f"({result.bytes_freed} bytes); {result.queries} store queries",
        file=sys.stderr,
    )
    return 0


def cmd_alias(args: argparse.Namespace) -> int:
    from ..run.model import Model

    if args.list:
        if not args.project:
            raise SystemExit("autolog: alias --list needs --project")
        rows = _session().store.select("aliases", {"project": args.project}, order_by=("alias",))
        for row in rows:
            print(f"{row['alias']}\t{row['model_id']}\t{row['set_by'] or ''}\t{row['set_at']:.0f}")
        return 0
    if args.remove:
        if not args.project:
            raise SystemExit("autolog: alias --remove needs --project")
        Model.remove_alias(args.remove, args.project)
        return 0
    if not args.model or not args.name:
        raise SystemExit("autolog: alias needs MODEL_ID NAME (or --remove NAME / --list, with --project)")
    row = _resolve("models", args.model)
    if row is None:
        raise SystemExit(f"autolog: no model with id {args.model!r}")
    try:
        Model.get(row["id"]).set_alias(args.name)
    except ValueError as exc:
        raise SystemExit(f"autolog: {exc}") from None
    print(f"{args.name} -> {row['id']}")
    return 0


def cmd_materialize(args: argparse.Namespace) -> int:
    from ..run.model import Model
    from ..system.paths import file_segment

    session = _session()
    tasks = (
        [session.store.get("tasks", args.task)]
        if args.task
        else session.store.select("tasks", {"project": args.project})
    )
    copied = 0
    for task in [t for t in tasks if t]:
        folder = os.path.join(
            args.dest, file_segment(task["project"]), f"{file_segment(task['name'])}.{task['id']}", "models"
        )
        for row in session.store.select("models", {"task_id": task["id"], "upload_state": "done"}, order_by=("seq",)):
            if not row["uri"]:
                continue
            source = Model.get(row["id"]).get_local_copy()  # hash-checked, through the cache
            target = os.path.join(folder, f"{row['seq']}_{file_segment(row['name'])}")
            _copy(source, target)
            copied += 1
            print(target)
    print(f"# {copied} snapshot(s) materialized under {args.dest}", file=sys.stderr)
    return 0


def _copy(source: str, target: str) -> None:
    import shutil

    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.isdir(source):
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        shutil.copyfile(source, target)


def add_storage_commands(sub: Any, as_json: argparse.ArgumentParser) -> None:
    p = sub.add_parser("gc", help="apply retention policies and free stored bytes nothing needs (--dry-run: only list)")
    p.add_argument("--project")
    p.add_argument("--task", help="task id (or a unique prefix)")
    p.add_argument("--keep", help="a policy for tasks recorded without one, e.g. 'last=3,best=2:val_loss'")
    p.add_argument("--dry-run", action="store_true", help="print what the real run deletes, delete nothing")
    p.set_defaults(run=cmd_gc)

    p = sub.add_parser("alias", help="point a user alias (unique per project) at a model, move or remove it")
    p.add_argument("model", nargs="?", help="model id (or a unique prefix)")
    p.add_argument("name", nargs="?", help="the alias, e.g. production")
    p.add_argument("--remove", metavar="NAME", help="remove this alias (with --project)")
    p.add_argument("--list", action="store_true", help="list the project's aliases (with --project)")
    p.add_argument("--project")
    p.set_defaults(run=cmd_alias)

    p = sub.add_parser("materialize", help="copy kept snapshots to DEST as <project>/<task>.<id>/models/<seq>_<name>")
    p.add_argument("dest")
    p.add_argument("--project")
    p.add_argument("--task", help="task id")
    p.set_defaults(run=cmd_materialize)
