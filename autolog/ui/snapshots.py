"""A task's snapshots, 100 to a page, with keyset paging: the page after (or before) a given order number is
one range read on the `(task_id, seq)` index, so the last page of a task with 10,000 snapshots costs what the
first does (an OFFSET would read every row before it).

Each row also carries what a user needs to tell three `checkpoint.pt` saves of the same second apart: its
order number (`seq`, from 1 in call order), the step/epoch where the store records one (columns that may not
exist yet: looked up by name), the tasks that loaded it ("used by"), and the file name a download gets
(`download_name`: `checkpoint.3.pt`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..store import schema
from .queries import Queries, Row

SNAPSHOT_PAGE = 100
USED_BY_SHOWN = 5  # per snapshot; the model page lists them all
# optional columns some stores have (another part of autolog records them); shown when present
STEP_COLUMNS = ("step", "epoch")

m, i, t = schema.models, schema.model_inputs, schema.tasks


def download_name(row: Row) -> str:
    """The file name a download gets: a task's snapshot `<name>.<n><ext>` (`checkpoint.3.pt`), so three
    downloads of the same checkpoint name do not overwrite each other; an imported model keeps its name."""
    base = os.path.basename(str(row["name"]).rstrip("/")) or "model"
    if not row.get("task_id") or not row.get("seq"):
        return base
    stem, ext = os.path.splitext(base)
    return f"{stem}.{row['seq']}{ext}"


def step_columns() -> list[str]:
    """The step/epoch columns this schema has (none until the store records them)."""
    return [name for name in STEP_COLUMNS if name in m.c]


@dataclass
class SnapshotPage:
    rows: list[Row]
    total: int
    first_seq: int | None = None  # the task's first and last order numbers: is there a page before/after?
    last_seq: int | None = None
    used_by: dict[str, list[Row]] = field(default_factory=dict)
    used_count: dict[str, int] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)

    @property
    def has_before(self) -> bool:
        return bool(self.rows) and self.first_seq is not None and self.rows[0]["seq"] > self.first_seq

    @property
    def has_after(self) -> bool:
        return bool(self.rows) and self.last_seq is not None and self.rows[-1]["seq"] < self.last_seq


def page(
    queries: Queries,
    task_id: str,
    *,
    after: int | None = None,
    before: int | None = None,
    last: bool = False,
    limit: int = SNAPSHOT_PAGE,
) -> SnapshotPage:
    """One page of the task's snapshots in call order: the first, the one after order number `after`, the one
    before `before`, or the last. Rows of equal `seq` (not expected) keep a stable order by id."""
    query = sa.select(m).where(m.c.task_id == task_id)
    descending = last or before is not None
    if after is not None:
        query = query.where(m.c.seq > after)
    if before is not None:
        query = query.where(m.c.seq < before)
    order = (m.c.seq.desc(), m.c.id.desc()) if descending else (m.c.seq.asc(), m.c.id.asc())
    with queries.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query.order_by(*order).limit(limit)).mappings()] if limit else []
        bounds = conn.execute(
            sa.select(sa.func.count(), sa.func.min(m.c.seq), sa.func.max(m.c.seq)).where(m.c.task_id == task_id)
        ).one()
    if descending:
        rows.reverse()
    result = SnapshotPage(rows=rows, total=bounds[0], first_seq=bounds[1], last_seq=bounds[2], steps=step_columns())
    result.used_by, result.used_count = used_by([r["id"] for r in rows], queries)
    return result


def used_by(model_ids: list[str], queries: Queries) -> tuple[dict[str, list[Row]], dict[str, int]]:
    """model id -> the first `USED_BY_SHOWN` tasks that loaded it (load order), and -> how many did."""
    if not model_ids:
        return {}, {}
    with queries.engine.connect() as conn:
        counts: dict[str, int] = {
            model_id: int(n)
            for model_id, n in conn.execute(
                sa.select(i.c.model_id, sa.func.count()).where(i.c.model_id.in_(model_ids)).group_by(i.c.model_id)
            )
        }
        found: dict[str, list[Row]] = {}
        used = [mid for mid in model_ids if counts.get(mid)]
        if used:
            # every consumer of these models, capped per model in Python: a page has at most 100 models and a
            # popular one is capped by the window below, not by reading its thousands of consumers
            ranked = (
                sa.select(
                    i.c.model_id,
                    i.c.task_id,
                    sa.func.row_number().over(partition_by=i.c.model_id, order_by=i.c.created).label("n"),
                )
                .where(i.c.model_id.in_(used))
                .subquery()
            )
            query = (
                sa.select(ranked.c.model_id, t.c.id, t.c.project, t.c.name, t.c.status)
                .join(t, t.c.id == ranked.c.task_id)
                .where(ranked.c.n <= USED_BY_SHOWN)
                .order_by(ranked.c.model_id, ranked.c.n)
            )
            for row in conn.execute(query).mappings():
                found.setdefault(row["model_id"], []).append(dict(row))
    return found, counts
