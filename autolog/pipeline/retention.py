"""Applying retention policies: pruning records and freeing their bytes, while a run goes and in `autolog gc`.

`collect` is the one procedure both use. For each task with a policy (`autolog.store.keep`) it picks the
`done` snapshots that no rule keeps and nothing protects, then:
1. prunes each one (`done` -> `pruned`, when, by which rule) and releases its object references, in one
   transaction (`autolog.store.refs.prune_many`): a second collector finds it pruned and skips it;
2. takes every object left with no reference (`stored` -> `deleting`, atomically against writers adding a
   reference) and deletes its bytes, then its row. A collector killed anywhere leaves rows that the next one
   finishes: unpruned snapshots, `stored` rows at zero references, `deleting` rows.
A snapshot stored before dedup (its own copy at its own path) has that copy deleted after it is pruned, and
its `uri` cleared once the copy is gone.

`Plan` is computed first and printed the same way by a dry run and by the real run, so `--dry-run` lists
exactly what the real run then deletes (if nothing else writes in between).

`Retention` runs `collect` for one task on its own thread after each of that task's snapshots becomes durable:
never on the training thread, and an older snapshot's bytes go only once a newer one is durable.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..storage.access import storage_for
from ..storage.objects import PREFIX, delete_many, is_object_uri, listing, object_uri
from ..store import keep
from ..store.client import Store
from ..system.log import logger
from ..system.worker import Worker

Row = dict[str, Any]
TASK_CHUNK = 500
# Bytes under `.autolog/objects/` that no row describes (a writer killed between its upload and its row, a
# temporary copy) are deleted by `autolog gc` once this old: an upload in progress is never that old.
ORPHAN_AGE_S = 3600.0


@dataclass
class Plan:
    """What a collection prunes and deletes; `lines()` is what `autolog gc` prints (dry run or not)."""

    prune: list[tuple[Row, str]] = field(default_factory=list)  # (model row, rule)
    objects: list[Row] = field(default_factory=list)  # object rows whose bytes go
    copies: list[tuple[str, str]] = field(default_factory=list)  # (model id, uri) of pre-dedup copies that go
    orphans: list[str] = field(default_factory=list)  # object URIs no row describes, older than ORPHAN_AGE_S
    queries: int = 0

    def lines(self) -> list[str]:
        out = [f"prune  {row['id']}  task {row['task_id']}  {row['name']}  ({rule})" for row, rule in self.prune]
        out += [f"delete {object_uri(o['root'], o['key'])}  ({o.get('size') or 0} bytes)" for o in self.objects]
        out += [f"delete {uri}  (copy of pruned {model_id})" for model_id, uri in self.copies]
        out += [f"delete {uri}  (stored without a record)" for uri in self.orphans]
        return out

    @property
    def bytes_freed(self) -> int:
        return sum(int(o.get("size") or 0) for o in self.objects)


def plan(store: Store, tasks: list[Row], override: keep.Policy | None = None, *, everything: bool = True) -> Plan:
    """What `collect` would do now for `tasks` (`everything`: also objects and copies that earlier runs left)."""
    found = Plan()
    pruned_ids: list[str] = []
    for start in range(0, len(tasks), TASK_CHUNK):
        chunk = [t for t in tasks[start : start + TASK_CHUNK] if override or t.get("keep")]
        if not chunk:
            continue
        rows = store.refs_read("live_models", [t["id"] for t in chunk])  # pruned ones never count again
        found.queries += 1
        by_task: dict[str, list[Row]] = {}
        for row in rows:
            by_task.setdefault(row["task_id"], []).append(row)
        ids = [r["id"] for r in rows if r["upload_state"] == "done"]
        aliased = {a["model_id"] for a in store.refs_read("aliases_of", ids)} if ids else set()
        loaded = set(store.refs_read("loaded_by_others", ids)) if ids else set()
        found.queries += 2 if ids else 0
        for task in chunk:
            policy = override or keep.parse(task.get("keep"), f"task {task['id']} keep")
            mine = by_task.get(task["id"], [])
            if policy is None or not mine:
                continue
            mine_ids = {r["id"] for r in mine}
            protections = keep.protected(mine, task, policy, aliased & mine_ids, loaded & mine_ids)
            decided = keep.to_prune(mine, policy, protections)
            for row in mine:
                if row["id"] in decided:
                    found.prune.append((row, decided[row["id"]]))
                    pruned_ids.append(row["id"])
    links = store.refs_read("links", pruned_ids) if pruned_ids else []
    found.queries += 1 if pruned_ids else 0
    released = Counter((link["root"], link["key"]) for link in links)
    going = {
        (link["root"], link["key"]): {"root": link["root"], "key": link["key"], "size": link["size"]}
        for link in links
        if link["state"] == "stored" and (link["refs"] or 0) - released[(link["root"], link["key"])] <= 0
    }
    left = store.refs_read("unreferenced", None if everything else sorted(going))
    found.queries += 1
    for row in left:
        going[(row["root"], row["key"])] = row
    found.objects = [going[k] for k in sorted(going)]
    found.copies = [(row["id"], row["uri"]) for row, _rule in found.prune if _own_copy(row)]
    if everything:  # pre-dedup copies of snapshots a killed run pruned before deleting them
        found.copies += [(r["id"], r["uri"]) for r in store.refs_read("pruned_copies")]
        found.queries += 1
    return found


def orphans(store: Store, roots: list[str], now: float | None = None) -> list[str]:
    """Objects stored under these roots that no row describes, older than ORPHAN_AGE_S (one listing per root)."""
    now = time.time() if now is None else now
    found = []
    for root in sorted(set(roots)):
        recorded = set(store.refs_read("recorded_keys", root))
        for key, when in sorted(listing(storage_for(root), root).items()):
            if key not in recorded and when and now - when > ORPHAN_AGE_S:
                found.append(object_uri(root, key))
    return found


def _own_copy(row: Row) -> bool:
    """A snapshot's own copy that autolog made before dedup (at its `dest_uri`), freed with it. A file a framework
    wrote to object storage itself (Lightning to `s3://...`: no `dest_uri`) is the user's: only its record is
    pruned, its bytes are left to the framework that manages them."""
    uri = row.get("uri")
    return bool(uri) and not is_object_uri(uri) and uri == row.get("dest_uri")


def apply(store: Store, found: Plan) -> Plan:
    """Carry out a plan; returns what this run actually did (another collector may have done some of it)."""
    done = Plan(queries=found.queries)
    rules = {row["id"]: (row, rule) for row, rule in found.prune}
    if rules:
        pruned = store.refs_write("prune_many", [(key, rule) for key, (_row, rule) in rules.items()], time.time())
        done.prune = [rules[key] for key in pruned]
        done.queries += 1
    keys = sorted({(o["root"], o["key"]) for o in found.objects})
    claimed = store.refs_write("claim_unreferenced", [list(k) for k in keys] if keys else [])
    done.queries += 1
    by_root: dict[str, list[Row]] = {}
    for obj in claimed:
        by_root.setdefault(obj["root"], []).append(obj)
    for root, objs in by_root.items():
        delete_many(storage_for(root), [object_uri(root, o["key"]) for o in objs])
        store.refs_write("drop_many", [(root, o["key"]) for o in objs])
        done.objects += objs
        done.queries += 1
    recorded: dict[str, set[str]] = {}
    for uri in found.orphans:
        root, key = uri.split(f"/{PREFIX}/", 1)
        if root not in recorded:  # read again now: a row written since the plan keeps its bytes
            recorded[root] = set(store.refs_read("recorded_keys", root))
        if key not in recorded[root]:
            delete_many(storage_for(root), [uri])
            done.orphans.append(uri)
    for model_id, uri in found.copies:
        storage_for(uri).remove(uri)
        store.update("models", model_id, {"uri": None})
        done.copies.append((model_id, uri))
        done.queries += 1
    return done


def select_tasks(store: Store, project: str | None, task_id: str | None) -> list[Row]:
    if task_id is not None:
        row = store.get("tasks", task_id)
        return [row] if row else []
    return store.select("tasks", {"project": project}, order_by=("started",))


def collect(
    store: Store,
    *,
    project: str | None = None,
    task_id: str | None = None,
    override: keep.Policy | None = None,
    dry_run: bool = False,
    say: Callable[[str], Any] | None = None,
) -> Plan:
    """Apply the policies of the matching tasks (`autolog gc`): the plan, printed line by line through `say`;
    carried out unless `dry_run`."""
    tasks = select_tasks(store, project, task_id)
    found = plan(store, tasks, override)
    roots = sorted({str(t["output_uri"]).rstrip("/") for t in tasks if t.get("output_uri")})
    found.orphans = orphans(store, roots)
    found.queries += 1 + len(roots)
    result = found if dry_run else apply(store, found)
    for line in (found if dry_run else result).lines():
        if say is not None:
            say(line)
    return result


class Retention:
    """Applies live tasks' policies in the background, after each of their snapshots becomes durable."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.policies: dict[str, keep.Policy] = {}  # task id -> policy, for tasks of this process
        self._worker: Worker | None = None

    def register(self, task_id: str, policy: keep.Policy | None) -> None:
        if policy is not None:
            self.policies[task_id] = policy

    def durable(self, table: str, row_id: str) -> None:
        """Called by the uploader (any thread); queues the work and returns at once."""
        if table != "models" or not self.policies:
            return
        if self._worker is None:
            self._worker = Worker("retention")
        self._worker.submit(self._after_durable, row_id)

    def _after_durable(self, row_id: str) -> None:
        row = self.store.get("models", row_id)
        task_id = row.get("task_id") if row else None
        if task_id not in self.policies:
            return
        self.run_for(task_id)

    def run_for(self, task_id: str) -> Plan:
        task = self.store.get("tasks", task_id)
        if task is None:
            return Plan()
        found = plan(self.store, [task], self.policies.get(task_id), everything=False)
        done = apply(self.store, found)
        if done.prune:
            logger.debug("autolog: retention pruned %d snapshot(s) of task %s", len(done.prune), task_id)
        return done

    def wait(self, timeout: float | None = None) -> bool:
        return self._worker.wait(timeout) if self._worker is not None else True

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()
