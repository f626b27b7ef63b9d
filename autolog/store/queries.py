"""The store's read queries that must stay fast at millions of rows, as SQLAlchemy Core statements.

Everything a listing needs (filters, order, page) is expressed in SQL over indexed columns (schema v2), so
the database returns one page and Python never walks the whole table. `SqlStore` runs these statements.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from . import schema

Row = dict[str, Any]


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def prefix_conditions(column: sa.ColumnElement[Any], prefix: str) -> tuple[sa.ColumnElement[bool], ...]:
    """`column` starts with `prefix`, as a range the primary-key index serves (a LIKE would scan on
    PostgreSQL with a non-C collation), plus the exact LIKE on the few rows in range."""
    conditions: tuple[sa.ColumnElement[bool], ...] = (column.like(like_escape(prefix) + "%", escape="\\"),)
    if prefix and ord(prefix[-1]) < 0x7F and prefix.isascii() and prefix.isalnum():
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        conditions = (column >= prefix, column < upper, *conditions)
    return conditions


def tasks(project: str | None, name: str | None, status: str | None, tags: Iterable[str]) -> sa.Select[Any]:
    """Tasks newest first (indexes on `started`, `(project, name, started)`, `(status, started)`).

    Tags live in a JSON list: each wanted tag narrows the rows with a LIKE on its JSON form; the caller
    checks membership exactly on the candidates (`has_tags`), since a quote inside another tag can fake a match."""
    t = schema.tasks
    query = sa.select(t)
    for column, value in (("project", project), ("name", name), ("status", status)):
        if value is not None:
            query = query.where(t.c[column] == value)
    for tag in tags:
        query = query.where(t.c.tags.like("%" + like_escape(json.dumps(tag)) + "%", escape="\\"))
    return query.order_by(t.c.started.desc())


def has_tags(row: Row, wanted: Iterable[str]) -> bool:
    return set(wanted) <= set(json.loads(row["tags"] or "[]"))


def models(project: str | None, task_id: str | None, name: str | None, framework: str | None) -> sa.Select[Any]:
    """Models newest first (indexes on `created`, `(task_id, created)`, `(name, created)`)."""
    m, t = schema.models, schema.tasks
    query = sa.select(m)
    if project is not None:
        query = query.join(t, t.c.id == m.c.task_id).where(t.c.project == project)
    for column, value in (("task_id", task_id), ("name", name), ("framework", framework)):
        if value is not None:
            query = query.where(m.c[column] == value)
    return query.order_by(m.c.created.desc(), m.c.seq.desc())


def lineage(conn: sa.Connection, task_id: str, max_tasks: int) -> dict[str, Any]:
    """A task and every task upstream of it: {"tasks": {id: row}, "inputs": {task id: [model rows, load
    order]}, "artifacts": {task id: [artifact rows, fetch order]}}. A recursive query walks the model input
    links in the database (UNION stops at cycles), and no producer's output list is read. Artifact inputs are
    rarer: the producers of the artifacts the found tasks fetched seed another walk, so a store without them
    costs one query more, whatever the depth (one recursive step over a union of both link tables would make
    SQLite materialize every link at each step)."""
    t, m, i = schema.tasks, schema.models, schema.model_inputs
    a, ai = schema.artifacts, schema.artifact_inputs
    found: dict[str, Row] = {}
    inputs: dict[str, list[Row]] = {}
    artifacts: dict[str, list[Row]] = {}
    seeds = [task_id]
    while seeds and len(found) < max_tasks:
        seed = sa.select(t.c.id).where(t.c.id.in_(seeds)).cte("ancestors", recursive=True)
        upstream = (
            sa.select(m.c.task_id)
            .select_from(i.join(m, m.c.id == i.c.model_id))
            .join(seed, i.c.task_id == seed.c.id)
            .where(m.c.task_id.is_not(None))
        )
        ancestors = seed.union(upstream)
        ids = sa.select(ancestors.c.id).limit(max_tasks).scalar_subquery()
        new = {
            row["id"]: dict(row)
            for row in conn.execute(sa.select(t).where(t.c.id.in_(ids))).mappings()
            if row["id"] not in found
        }
        new = dict(list(new.items())[: max_tasks - len(found)])
        found.update(new)
        if not new:
            break
        query = (
            sa.select(m, i.c.task_id.label("_consumer"))
            .join(i, i.c.model_id == m.c.id)
            .where(i.c.task_id.in_(list(new)))
            .order_by(i.c.task_id, i.c.seq)
        )
        for row in conn.execute(query).mappings():
            model = dict(row)
            inputs.setdefault(model.pop("_consumer"), []).append(model)
        query = (
            sa.select(a, ai.c.task_id.label("_consumer"))
            .join(ai, ai.c.artifact_id == a.c.id)
            .where(ai.c.task_id.in_(list(new)))
            .order_by(ai.c.task_id, ai.c.seq)
        )
        fetched = [dict(row) for row in conn.execute(query).mappings()]
        for artifact in fetched:
            artifacts.setdefault(artifact.pop("_consumer"), []).append(artifact)
        seeds = sorted({row["task_id"] for row in fetched} - set(found))
    return {"tasks": found, "inputs": inputs, "artifacts": artifacts}
