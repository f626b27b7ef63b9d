"""The "go to" box: whatever a user pastes (a task, model or artifact id, a content hash, a prefix of any of
them, or a model's file name) finds the record.

Every lookup is a range read on an index: the primary keys for ids, `models.hash` and `artifacts.hash`
(schema v3) for hashes, `(name, created)` for model names. One match redirects to its page; several are
listed; none says so and offers the task-name search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from ..store import schema
from ..store.queries import prefix_conditions
from .queries import Queries

HEX = re.compile(r"^[0-9a-f]{4,64}$")
LIMIT = 10  # per kind of match


@dataclass(frozen=True)
class Hit:
    kind: str  # task | model | artifact
    how: str  # "id" or "hash" or "name": what matched
    id: str
    label: str
    detail: str

    @property
    def href(self) -> str:
        return f"/{self.kind}/{self.id}"


def clean(text: str) -> str:
    """Lowercase, trimmed, a `sha256:` label or the quotes a copy may bring dropped."""
    text = text.strip().strip("'\"` ")
    if text.lower().startswith("sha256:"):
        text = text[7:]
    return text


def find(queries: Queries, text: str) -> list[Hit]:
    text = clean(text)[:300]
    if not text:
        return []
    hits: list[Hit] = []
    t, m, a = schema.tasks, schema.models, schema.artifacts
    with queries.engine.connect() as conn:
        key = text.lower()
        if HEX.match(key):
            if len(key) <= 32:
                for row in conn.execute(
                    sa.select(t.c.id, t.c.project, t.c.name, t.c.status)
                    .where(*prefix_conditions(t.c.id, key))
                    .limit(LIMIT)
                ).mappings():
                    hits.append(Hit("task", "id", row["id"], f"{row['project']}/{row['name']}", row["status"]))
                for row in conn.execute(
                    sa.select(m.c.id, m.c.name, m.c.framework, m.c.seq)
                    .where(*prefix_conditions(m.c.id, key))
                    .limit(LIMIT)
                ).mappings():
                    hits.append(Hit("model", "id", row["id"], row["name"], row["framework"] or "model"))
                for row in conn.execute(
                    sa.select(a.c.id, a.c.name, a.c.type).where(*prefix_conditions(a.c.id, key)).limit(LIMIT)
                ).mappings():
                    hits.append(Hit("artifact", "id", row["id"], row["name"], row["type"]))
            if len(key) >= 6:  # a hash prefix shorter than this matches too much to be meant
                for row in conn.execute(
                    sa.select(m.c.id, m.c.name, m.c.hash).where(*prefix_conditions(m.c.hash, key)).limit(LIMIT)
                ).mappings():
                    hits.append(Hit("model", "hash", row["id"], row["name"], f"hash {row['hash'][:16]}"))
                for row in conn.execute(
                    sa.select(a.c.id, a.c.name, a.c.hash)
                    .where(*prefix_conditions(a.c.hash, key), a.c.replaced == sa.false())
                    .limit(LIMIT)
                ).mappings():
                    hits.append(Hit("artifact", "hash", row["id"], row["name"], f"hash {row['hash'][:16]}"))
        for row in conn.execute(
            sa.select(m.c.id, m.c.name, m.c.task_id, m.c.seq, m.c.created)
            .where(m.c.name == text)
            .order_by(m.c.created.desc())
            .limit(LIMIT)
        ).mappings():
            hits.append(
                Hit("model", "name", row["id"], row["name"], f"#{row['seq']} of task {str(row['task_id'])[:8]}")
            )
    seen: set[tuple[str, str]] = set()
    unique = []
    for hit in hits:
        if (hit.kind, hit.id) not in seen:
            seen.add((hit.kind, hit.id))
            unique.append(hit)
    return unique
