"""The models view: every model in the store, filtered by project, framework, upload state and user alias,
sorted by time, size, step or epoch, 100 to a page with keyset paging.

`OPTIONAL_SORTS` are offered where the schema has their column (step and epoch since schema v4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..store import schema
from ..store.states import UploadState
from .queries import Queries, Row

MODELS_PAGE = 100
STATES = tuple(str(s) for s in UploadState)
m, t = schema.models, schema.tasks
# sort key -> column; the optional ones appear when the schema has them
OPTIONAL_SORTS = ("step", "epoch")


def sorts() -> tuple[str, ...]:
    return ("created", "size", *(name for name in OPTIONAL_SORTS if name in m.c))


def alias_clause(alias: str) -> sa.ColumnElement[bool]:
    """Models carrying this user alias (`production`, `candidate`: the `aliases` table, one model per alias and
    project). `latest` and `best` are computed per task, not stored, so they are not filters here."""
    a = schema.aliases
    return sa.exists().where(a.c.model_id == m.c.id, a.c.alias == alias)


@dataclass
class ModelFilter:
    project: str = ""
    framework: str = ""
    state: str = ""
    alias: str = ""
    sort: str = "created"
    desc: bool = True
    after: str = ""  # keyset cursor: "<sort value>~<id>" of the last row of the previous page
    before: str = ""
    last: bool = False

    @classmethod
    def from_params(cls, params: Any) -> ModelFilter:
        sort = params.get("sort", "created")
        state = params.get("state", "")
        return cls(
            project=params.get("project", "")[:255],
            framework=params.get("framework", "")[:255],
            state=state if state in STATES else "",
            alias=params.get("alias", "")[:255],
            sort=sort if sort in sorts() else "created",
            desc=params.get("dir", "desc") != "asc",
            after=params.get("after", "")[:200],
            before=params.get("before", "")[:200],
            last=params.get("last") == "1",
        )

    def params(self, **changes: Any) -> dict[str, Any]:
        values = {
            "project": self.project,
            "framework": self.framework,
            "state": self.state,
            "alias": self.alias,
            "sort": self.sort,
            "dir": "desc" if self.desc else "asc",
        }
        values.update(changes)
        return {
            k: v
            for k, v in values.items()
            if v not in ("", None, False) and not (k == "sort" and v == "created") and not (k == "dir" and v == "desc")
        }


@dataclass
class ModelPage:
    rows: list[Row]
    filter: ModelFilter
    producers: dict[str, Row]
    has_before: bool
    has_after: bool

    def cursor(self, row: Row) -> str:
        value = row[self.filter.sort]
        return f"{'' if value is None else value!r}~{row['id']}"


def _parse_cursor(text: str) -> tuple[float | None, str] | None:
    value, sep, key = text.rpartition("~")
    if not sep or not key.isalnum() or len(key) > 32:
        return None
    if value in ("", "None"):
        return None, key
    try:
        return float(value), key
    except ValueError:
        return None


def model_page(queries: Queries, f: ModelFilter) -> ModelPage:
    """One page of models for this filter, newest (or largest) first by default. Sorted by a column other than
    the time, rows without a value (a size not known yet) are left out: keyset paging needs a value to compare."""
    column: Any = m.c[f.sort]
    where: list[Any] = [] if f.sort == "created" else [column.is_not(None)]
    if f.project:
        where.append(m.c.task_id.in_(sa.select(t.c.id).where(t.c.project == f.project)))
    if f.framework:
        where.append(m.c.framework == f.framework)
    if f.state:
        where.append(m.c.upload_state == f.state)
    if f.alias:
        where.append(alias_clause(f.alias))
    going_back = f.last or bool(f.before)
    cursor = _parse_cursor(f.before or f.after) if (f.before or f.after) else None
    base = list(where)
    if cursor is not None and cursor[0] is not None:
        value = cursor[0]
        key, mark = sa.tuple_(column, m.c.id), sa.tuple_(sa.literal(value), sa.literal(cursor[1]))
        # the rows after the cursor in display order are the smaller ones when descending; "before" flips it
        base.append(key < mark if f.desc != bool(f.before) else key > mark)
    descending = f.desc != going_back
    order = (column.desc(), m.c.id.desc()) if descending else (column.asc(), m.c.id.asc())
    with queries.engine.connect() as conn:
        rows = [
            dict(r) for r in conn.execute(sa.select(m).where(*base).order_by(*order).limit(MODELS_PAGE + 1)).mappings()
        ]
    more = len(rows) > MODELS_PAGE
    rows = rows[:MODELS_PAGE]
    if going_back:
        rows.reverse()
        has_before, has_after = more, not f.last
    else:
        has_before, has_after = bool(f.after), more
    producers = queries.tasks_by_id({r["task_id"] for r in rows if r["task_id"]})
    return ModelPage(rows=rows, filter=f, producers=producers, has_before=has_before, has_after=has_after)
