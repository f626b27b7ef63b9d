"""Read-only queries the web page needs beyond `SqlStore`'s own: a filtered, sorted, paginated task table,
project counts, per-task counts, and the neighbours of a lineage node.

Every query is a SELECT on the store's engine, shaped so that the first page of the task table and a task
page stay index lookups on a store of 100,000 tasks and a million models (see `bench/ui_speed.py` and the
indexes added in `autolog.store.schema`, schema version 2). Nothing here writes.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..store import schema
from ..store.sql import SqlStore
from ..store.states import TaskStatus

Row = dict[str, Any]
PAGE_SIZE = 50
STATUSES = tuple(str(s) for s in TaskStatus if s is not TaskStatus.CLOSING)  # the filters the page offers
SORTS = ("started", "name", "project", "status", "duration")
ID_RE = re.compile(r"^[0-9a-f]{4,32}$")

t, m, i, a = schema.tasks, schema.models, schema.model_inputs, schema.artifacts
ai = schema.artifact_inputs


def valid_id(text: str) -> bool:
    """Ids are lowercase hex (uuid4().hex); a URL may give any unique prefix of 4 characters or more."""
    return bool(ID_RE.match(text))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class TaskFilter:
    """What the task table shows: every field is optional and comes from the query string."""

    q: str = ""
    project: str = ""
    status: str = ""
    tag: str = ""
    sort: str = "started"
    desc: bool = True
    page: int = 1

    @classmethod
    def from_params(cls, params: Any) -> TaskFilter:
        sort = params.get("sort", "started")
        try:
            page = max(1, min(int(params.get("page", "1")), 10**6))
        except ValueError:
            page = 1
        status = params.get("status", "")
        return cls(
            q=params.get("q", "").strip()[:200],
            project=params.get("project", "")[:255],
            status=status if status in STATUSES else "",
            tag=params.get("tag", "")[:255],
            sort=sort if sort in SORTS else "started",
            desc=params.get("dir", "desc") != "asc",
            page=page,
        )

    def params(self, **changes: Any) -> dict[str, Any]:
        """Query-string values of this filter with some changed (for links), empty ones left out."""
        values = {
            "q": self.q,
            "project": self.project,
            "status": self.status,
            "tag": self.tag,
            "sort": self.sort,
            "dir": "desc" if self.desc else "asc",
            "page": self.page,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None) and not (k == "page" and v == 1)}


@dataclass
class TaskPage:
    rows: list[Row]
    total: int
    filter: TaskFilter
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


class Queries:
    """The UI's reads over one store."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.engine = store.engine
        self._projects: tuple[tuple[Any, ...], list[tuple[str, int]]] | None = None

    def _all(self, query: Any) -> list[Row]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # -- ids -----------------------------------------------------------------------------------------
    def resolve(self, table: str, key: str) -> Row | None:
        """The row with this id, or the only one whose id starts with this prefix; None otherwise."""
        if not valid_id(key):
            return None
        row = self.store.get(table, key)
        if row is not None or len(key) == 32:
            return row
        rows = self.store.select(table, None, id_prefix=key, limit=2)
        return rows[0] if len(rows) == 1 else None

    # -- task table ------------------------------------------------------------------------------------
    def projects(self) -> list[tuple[str, int]]:
        """(project, task count), by name. Counting groups every task (slow at 100,000 tasks), so the answer
        is kept until the number of tasks or the latest start changes: tasks are only ever added."""
        with self.engine.connect() as conn:
            key = tuple(conn.execute(sa.select(sa.func.count(), sa.func.max(t.c.started)).select_from(t)).one())
            if self._projects is not None and self._projects[0] == key:
                return self._projects[1]
            query = sa.select(t.c.project, sa.func.count()).group_by(t.c.project).order_by(t.c.project)
            found = [(p, n) for p, n in conn.execute(query)]
        self._projects = (key, found)
        return found

    def _where(self, f: TaskFilter) -> list[Any]:
        clauses: list[Any] = []
        if f.project:
            clauses.append(t.c.project == f.project)
        if f.status:
            clauses.append(t.c.status == f.status)
        if f.tag:
            clauses.append(t.c.tags.like("%" + _like_escape(json.dumps(f.tag)) + "%", escape="\\"))
        if f.q:
            name: sa.ColumnElement[bool] = t.c.name.ilike("%" + _like_escape(f.q) + "%", escape="\\")
            if re.fullmatch(r"[0-9a-fA-F]+", f.q):
                name = sa.or_(name, t.c.id.like(_like_escape(f.q.lower()) + "%", escape="\\"))
            clauses.append(name)
        return clauses

    def task_page(self, f: TaskFilter) -> TaskPage:
        """One page of the table. A page in the second half is read from the other end (the order reversed,
        a small offset, the rows turned back), so the last page costs what the first does."""
        where = self._where(f)
        if f.sort == "duration":
            order: Any = sa.func.coalesce(t.c.ended, time.time()) - t.c.started
        else:
            order = t.c[f.sort]
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(t).where(*where)).scalar_one()
            offset = (f.page - 1) * PAGE_SIZE
            backwards = offset > total // 2
            if backwards:
                end = min(total, offset + PAGE_SIZE)  # rows [offset, end) counted from the other end
                limit, offset = max(0, end - offset), max(0, total - end)
            else:
                limit = PAGE_SIZE
            desc = f.desc != backwards
            query = (
                sa.select(t)
                .where(*where)
                .order_by(order.desc() if desc else order.asc(), t.c.id.desc() if desc else t.c.id.asc())
                .limit(limit)
                .offset(offset)
            )
            rows = [dict(r) for r in conn.execute(query).mappings()] if limit else []
        if backwards:
            rows.reverse()
        return TaskPage(rows=rows, total=total, filter=f, counts=self.counts([r["id"] for r in rows]))

    def counts(self, task_ids: list[str]) -> dict[str, dict[str, int]]:
        """task id -> {"inputs", "outputs", "artifacts"} for the tasks on one page (grouped index scans). Inputs
        count both the models a task loaded and the artifacts it fetched from other tasks."""
        found = {tid: {"inputs": 0, "outputs": 0, "artifacts": 0} for tid in task_ids}
        if not task_ids:
            return found
        queries = {
            "outputs": sa.select(m.c.task_id, sa.func.count()).where(m.c.task_id.in_(task_ids)).group_by(m.c.task_id),
            "inputs": sa.select(i.c.task_id, sa.func.count()).where(i.c.task_id.in_(task_ids)).group_by(i.c.task_id),
            "input_artifacts": sa.select(ai.c.task_id, sa.func.count())
            .where(ai.c.task_id.in_(task_ids))
            .group_by(ai.c.task_id),
            "artifacts": sa.select(a.c.task_id, sa.func.count())
            .where(a.c.task_id.in_(task_ids), a.c.replaced == sa.false())
            .group_by(a.c.task_id),
        }
        with self.engine.connect() as conn:
            for key, query in queries.items():
                for task_id, n in conn.execute(query):
                    found[task_id]["inputs" if key == "input_artifacts" else key] += n
        return found

    def statuses(self, task_ids: list[str]) -> dict[str, Row]:
        """id -> status/ended of these tasks (what the live table polls)."""
        if not task_ids:
            return {}
        rows = self._all(sa.select(t.c.id, t.c.status, t.c.ended).where(t.c.id.in_(task_ids)))
        return {r["id"]: r for r in rows}

    # -- one task -----------------------------------------------------------------------------------------
    def inputs(self, task_id: str) -> list[Row]:
        return self.store.task_inputs(task_id)

    def artifacts(self, task_id: str) -> list[Row]:
        """Current artifacts in upload order (a re-upload under the same name replaces the older one)."""
        return self._all(sa.select(a).where(a.c.task_id == task_id, a.c.replaced == sa.false()).order_by(a.c.seq))

    def tasks_by_id(self, ids: set[str]) -> dict[str, Row]:
        ids = {x for x in ids if x}
        if not ids:
            return {}
        return {r["id"]: r for r in self._all(sa.select(t).where(t.c.id.in_(sorted(ids))))}

    def consumers(self, model_id: str, limit: int | None = None, offset: int = 0) -> list[Row]:
        query = (
            sa.select(t)
            .join(i, i.c.task_id == t.c.id)
            .where(i.c.model_id == model_id)
            .order_by(i.c.created, i.c.task_id)
            .offset(offset)
        )
        return self._all(query.limit(limit) if limit else query)

    def count_consumers(self, model_id: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(i).where(i.c.model_id == model_id)).scalar_one()

    def count_inputs(self, task_id: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(i).where(i.c.task_id == task_id)).scalar_one()

    def inputs_limited(self, task_id: str, limit: int) -> list[Row]:
        return self._all(
            sa.select(m).join(i, i.c.model_id == m.c.id).where(i.c.task_id == task_id).order_by(i.c.seq).limit(limit)
        )

    def latest_outputs(self, task_id: str, limit: int) -> tuple[list[Row], int]:
        """The task's last `limit` snapshots (call order) and how many it has, for the lineage graph."""
        rows = self._all(
            sa.select(m).where(m.c.task_id == task_id).order_by(m.c.seq.desc(), m.c.created.desc()).limit(limit)
        )
        total = len(rows)
        if total == limit:
            with self.engine.connect() as conn:
                total = conn.execute(
                    sa.select(sa.func.count()).select_from(m).where(m.c.task_id == task_id)
                ).scalar_one()
        return rows[::-1], total

    # -- artifact inputs (data lineage) -------------------------------------------------------------------
    def input_artifacts(self, task_id: str, limit: int | None = None) -> list[Row]:
        """Artifacts of other tasks this task fetched, in fetch order."""
        query = sa.select(a).join(ai, ai.c.artifact_id == a.c.id).where(ai.c.task_id == task_id).order_by(ai.c.seq)
        return self._all(query.limit(limit) if limit else query)

    def count_input_artifacts(self, task_id: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(ai).where(ai.c.task_id == task_id)).scalar_one()

    def artifact_consumers(self, artifact_id: str, limit: int | None = None, offset: int = 0) -> list[Row]:
        query = (
            sa.select(t)
            .join(ai, ai.c.task_id == t.c.id)
            .where(ai.c.artifact_id == artifact_id)
            .order_by(ai.c.created, ai.c.task_id)
            .offset(offset)
        )
        return self._all(query.limit(limit) if limit else query)

    def count_artifact_consumers(self, artifact_id: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).select_from(ai).where(ai.c.artifact_id == artifact_id)
            ).scalar_one()

    def used_artifacts(self, task_id: str, limit: int) -> tuple[list[Row], int]:
        """The task's artifacts that some other task fetched (upload order, first `limit`), and how many."""
        used = sa.exists().where(ai.c.artifact_id == a.c.id)
        rows = self._all(sa.select(a).where(a.c.task_id == task_id, used).order_by(a.c.seq).limit(limit))
        total = len(rows)
        if total == limit:
            with self.engine.connect() as conn:
                total = conn.execute(
                    sa.select(sa.func.count()).select_from(a).where(a.c.task_id == task_id, used)
                ).scalar_one()
        return rows, total
