"""Reference counts of stored objects, pruning, and aliases: the store's side of `docs/storage.md`.

Each function takes the engine and runs ONE transaction, so every invariant holds at every commit:

- `objects.refs` equals the number of `model_objects` rows of snapshots that are not pruned and point at it;
- a writer only ever adds a reference to a `stored` row (`UPDATE ... SET refs = refs + 1 WHERE state =
  'stored'`), and a collector only ever takes a row with `refs <= 0` from `stored` to `deleting`. The two
  updates lock the same row, so one of them wins: either the writer holds a reference (and the collector
  skips the row), or the row is `deleting` (and the writer stores its own copy under a new key). Bytes are
  deleted only under a `deleting` row, which nobody can reference again;
- pruning a snapshot (`done` -> `pruned`, `prune_many`) and releasing its references is one transaction: a crash between
  them cannot happen, so a reference is released exactly once.

`SqlStore.refs_read` / `refs_write` dispatch here by name (`READS`, `WRITES`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa

from . import queries, schema

Row = dict[str, Any]
STORED, DELETING = "stored", "deleting"


def ref_stored(engine: sa.Engine, root: str, digest: str, model_id: str, member: str) -> str | None:
    """Point `model_id`'s `member` at a stored copy of `digest` under `root` (refs + 1); its key, or None when
    no stored copy exists (the caller uploads one and calls `add_stored`). Idempotent for a snapshot resumed by
    `autolog sync`: a member already pointing somewhere returns that key without counting it again."""
    o, mo = schema.objects, schema.model_objects
    with engine.begin() as conn:
        had = conn.execute(
            sa.select(mo.c.key).where(mo.c.model_id == model_id, mo.c.member == member, mo.c.root == root)
        ).first()
        if had is not None:
            return str(had[0])
        keys = conn.execute(
            sa.select(o.c.key).where(o.c.root == root, o.c.hash == digest, o.c.state == STORED).order_by(o.c.key)
        ).all()
        for (key,) in keys:
            taken = conn.execute(
                o.update().where(o.c.root == root, o.c.key == key, o.c.state == STORED).values(refs=o.c.refs + 1)
            ).rowcount
            if taken:
                conn.execute(mo.insert().values(model_id=model_id, member=member, root=root, key=key, hash=digest))
                return str(key)
    return None


def add_stored(engine: sa.Engine, root: str, key: str, digest: str, size: int, model_id: str, member: str) -> None:
    """Record a copy just uploaded under `key` with one reference, `model_id`'s `member`."""
    o, mo = schema.objects, schema.model_objects
    with engine.begin() as conn:
        conn.execute(
            o.insert().values(root=root, key=key, hash=digest, size=size, refs=1, state=STORED, created=time.time())
        )
        conn.execute(mo.insert().values(model_id=model_id, member=member, root=root, key=key, hash=digest))


def release(engine: sa.Engine, model_id: str) -> int:
    """Drop a snapshot's references without pruning it (its bytes turned out not to be the ones hashed: `lost`)."""
    with engine.begin() as conn:
        return _release(conn, model_id, delete_links=True)


def _release(conn: sa.Connection, model_id: str, *, delete_links: bool) -> int:
    o, mo = schema.objects, schema.model_objects
    links = conn.execute(sa.select(mo.c.root, mo.c.key).where(mo.c.model_id == model_id)).all()
    for root, key in links:
        conn.execute(o.update().where(o.c.root == root, o.c.key == key).values(refs=o.c.refs - 1))
    if delete_links:
        conn.execute(mo.delete().where(mo.c.model_id == model_id))
    return len(links)


def prune_many(engine: sa.Engine, items: list[tuple[str, str]], when: float) -> list[str]:
    """`prune` for many snapshots ((model id, rule) pairs), one transaction per 500: the ids pruned now."""
    m = schema.models
    pruned: list[str] = []
    for start in range(0, len(items), 500):
        with engine.begin() as conn:
            for model_id, rule in items[start : start + 500]:
                changed = conn.execute(
                    m.update()
                    .where(m.c.id == model_id, m.c.upload_state == "done")
                    .values(upload_state="pruned", pruned_at=when, pruned_rule=rule, staging_path=None)
                ).rowcount
                if changed == 1:
                    _release(conn, model_id, delete_links=False)
                    pruned.append(model_id)
    return pruned


def drop_many(engine: sa.Engine, keys: list[tuple[str, str]]) -> None:
    """`drop` for many (root, key) pairs in one transaction."""
    o = schema.objects
    with engine.begin() as conn:
        for root, key in keys:
            conn.execute(o.delete().where(o.c.root == root, o.c.key == key, o.c.state == DELETING))


def live_models(engine: sa.Engine, task_ids: list[str]) -> list[Row]:
    """The snapshots of these tasks that are not pruned, with the columns retention decides by."""
    m = schema.models
    columns = [m.c[c] for c in ("id", "task_id", "seq", "name", "upload_state", "uri", "dest_uri", "step")]
    columns += [m.c[c] for c in ("metrics", "monitor", "monitor_mode", "size")]
    query = sa.select(*columns).where(m.c.task_id.in_(task_ids), m.c.upload_state != "pruned").order_by(m.c.seq)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def claim_unreferenced(engine: sa.Engine, keys: list[tuple[str, str]] | None) -> list[Row]:
    """Objects nobody references, taken for deletion (`stored` -> `deleting`), plus those a collector left in
    `deleting` (killed mid-way): the rows whose bytes the caller must delete, then `drop`. `keys`: only
    these (root, key) pairs; None: every one in the store."""
    o = schema.objects
    with engine.begin() as conn:
        query = sa.select(o).where(sa.or_(sa.and_(o.c.refs <= 0, o.c.state == STORED), o.c.state == DELETING))
        candidates = [dict(r) for r in conn.execute(_only(query, keys)).mappings()]
        claimed = []
        for row in candidates:
            if row["state"] == STORED:
                taken = conn.execute(
                    o.update()
                    .where(o.c.root == row["root"], o.c.key == row["key"], o.c.refs <= 0, o.c.state == STORED)
                    .values(state=DELETING)
                ).rowcount
                if not taken:
                    continue
            claimed.append({**row, "state": DELETING})
    return claimed


def unreferenced(engine: sa.Engine, keys: list[tuple[str, str]] | None) -> list[Row]:
    """What `claim_unreferenced` would take now, changing nothing (for a dry run)."""
    o = schema.objects
    query = sa.select(o).where(sa.or_(sa.and_(o.c.refs <= 0, o.c.state == STORED), o.c.state == DELETING))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(_only(query, keys)).mappings()]


def _only(query: sa.Select[Any], keys: list[tuple[str, str]] | None) -> sa.Select[Any]:
    o = schema.objects
    if keys is None:
        return query.order_by(o.c.root, o.c.key)
    if not keys:
        return query.where(sa.false())
    return query.where(sa.tuple_(o.c.root, o.c.key).in_([tuple(k) for k in keys])).order_by(o.c.root, o.c.key)


def links(engine: sa.Engine, model_ids: list[str]) -> list[Row]:
    """`model_objects` rows of these snapshots, with each object's current reference count."""
    o, mo = schema.objects, schema.model_objects
    rows: list[Row] = []
    with engine.connect() as conn:
        for chunk in _chunks(model_ids):
            query = (
                sa.select(mo, o.c.refs, o.c.state, o.c.size)
                .select_from(mo.outerjoin(o, sa.and_(o.c.root == mo.c.root, o.c.key == mo.c.key)))
                .where(mo.c.model_id.in_(chunk))
                .order_by(mo.c.model_id, mo.c.member)
            )
            rows.extend(dict(r) for r in conn.execute(query).mappings())
    return rows


def recorded_keys(engine: sa.Engine, root: str) -> list[str]:
    """Every object name recorded under `root` (for finding stored bytes that no row describes)."""
    o = schema.objects
    with engine.connect() as conn:
        return [str(k) for (k,) in conn.execute(sa.select(o.c.key).where(o.c.root == root))]


def pruned_copies(engine: sa.Engine) -> list[Row]:
    """Pruned snapshots whose own pre-dedup copy (`uri` = `dest_uri`) is still recorded: a collector was killed
    between pruning them and deleting it (the `uri` is cleared once the copy is gone)."""
    m = schema.models
    query = sa.select(m.c.id, m.c.uri).where(
        m.c.upload_state == "pruned", m.c.uri.is_not(None), m.c.uri == m.c.dest_uri
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def loaded_by_others(engine: sa.Engine, model_ids: list[str]) -> list[str]:
    """Those of `model_ids` that a task other than their producer loaded (they are in someone's lineage)."""
    m, i = schema.models, schema.model_inputs
    found: set[str] = set()
    with engine.connect() as conn:
        for chunk in _chunks(model_ids):
            query = (
                sa.select(i.c.model_id)
                .join(m, m.c.id == i.c.model_id)
                .where(i.c.model_id.in_(chunk), sa.or_(m.c.task_id.is_(None), i.c.task_id != m.c.task_id))
            )
            found.update(str(r[0]) for r in conn.execute(query))
    return sorted(found)


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- aliases ----------------------------------------------------------------------------------------------
def set_alias(engine: sa.Engine, project: str, alias: str, model_id: str | None, set_by: str, when: float) -> None:
    """Point `alias` of `project` at `model_id` (None: remove it), and log the move."""
    a, log = schema.aliases, schema.alias_log
    with engine.begin() as conn:
        conn.execute(a.delete().where(a.c.project == project, a.c.alias == alias))
        if model_id is not None:
            conn.execute(a.insert().values(project=project, alias=alias, model_id=model_id, set_by=set_by, set_at=when))
        conn.execute(log.insert().values(project=project, alias=alias, model_id=model_id, set_by=set_by, set_at=when))


def aliases_of(engine: sa.Engine, model_ids: list[str]) -> list[Row]:
    """The user aliases pointing at these snapshots."""
    a = schema.aliases
    rows: list[Row] = []
    with engine.connect() as conn:
        for chunk in _chunks(model_ids):
            query = sa.select(a).where(a.c.model_id.in_(chunk)).order_by(a.c.project, a.c.alias)
            rows.extend(dict(r) for r in conn.execute(query).mappings())
    return rows


def alias_target(engine: sa.Engine, project: str, alias: str) -> Row | None:
    a = schema.aliases
    with engine.connect() as conn:
        row = conn.execute(sa.select(a).where(a.c.project == project, a.c.alias == alias)).mappings().first()
    return dict(row) if row else None


def alias_history(engine: sa.Engine, project: str, alias: str) -> list[Row]:
    log = schema.alias_log
    query = sa.select(log).where(log.c.project == project, log.c.alias == alias).order_by(log.c.id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def models_by_metric(
    engine: sa.Engine,
    project: str | None,
    task_id: str | None,
    name: str | None,
    framework: str | None,
    order_by: str,
    limit: int | None,
    offset: int,
) -> list[Row]:
    """`Model.query(order_by="val_loss")`: the filters of `queries.models`, ordered by a recorded metric
    (lowest first; "-name": highest first), snapshots without it last, newest first among equals."""
    m = schema.models
    descending, metric = order_by.startswith("-"), order_by.lstrip("-")
    if not metric:
        raise ValueError("order_by names a metric, e.g. 'val_loss' or '-accuracy'")
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        value: sa.ColumnElement[Any] = sa.cast(sa.cast(m.c.metrics, JSONB).op("->>")(metric), sa.Float)
    else:
        value = sa.func.json_extract(m.c.metrics, '$."' + metric.replace('"', '\\"') + '"')
    query = queries.models(project, task_id, name, framework).order_by(None)
    query = query.order_by(value.is_(None), value.desc() if descending else value, m.c.created.desc())
    if limit:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


READS: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (
        unreferenced,
        links,
        loaded_by_others,
        aliases_of,
        alias_target,
        alias_history,
        models_by_metric,
        pruned_copies,
        live_models,
        recorded_keys,
    )
}
WRITES: dict[str, Callable[..., Any]] = {
    f.__name__: f for f in (ref_stored, add_stored, release, prune_many, claim_unreferenced, drop_many, set_alias)
}
