"""Retention policies: which of a task's snapshots keep their bytes. Pure rules over rows, no I/O.

Syntax (`init(keep=...)`, the `keep` config key, `AUTOLOG_KEEP`), rules separated by commas or spaces:

    last=3                  the 3 newest snapshots
    best=2:val_loss         the 2 with the lowest val_loss (`:max` for the highest: best=2:accuracy:max)
    every=1000              each snapshot saved at a step that is a multiple of 1000
    all                     keep everything (the default when no policy is given)

A mapping works too: `{"last": 3, "best": 2, "metric": "val_loss", "mode": "min", "every": 1000}`. A snapshot
is kept when ANY rule keeps it, and always when it is protected: a user alias points at it, another task
loaded it, it is its task's newest (`latest`) or its best by the monitored metric (`best`), or it is the final
snapshot of a completed task. Only `done` snapshots (bytes durable) are ever pruned.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]
_RULE = re.compile(r"^(last|best|every)=(\d+)(?::([^:\s,]+))?(?::(min|max))?$")


@dataclass(frozen=True)
class Policy:
    last: int | None = None
    best: int | None = None
    metric: str | None = None
    mode: str = "min"
    every: int | None = None

    @property
    def text(self) -> str:
        """The canonical policy string (stored on the task, named by each pruned snapshot's rule)."""
        parts = []
        if self.last is not None:
            parts.append(f"last={self.last}")
        if self.best is not None:
            parts.append(f"best={self.best}:{self.metric}:{self.mode}")
        if self.every is not None:
            parts.append(f"every={self.every}")
        return ",".join(parts) or "all"

    @property
    def keeps_all(self) -> bool:
        return self.last is None and self.best is None and self.every is None


def parse(value: Any, source: str = "keep") -> Policy | None:
    """A Policy from a string or mapping; None for "keep everything". Bad input: ValueError naming the problem."""
    if value is None or value == "" or value == "all":
        return None
    if isinstance(value, Policy):
        return None if value.keeps_all else value
    if isinstance(value, Mapping):
        return _from_mapping(value, source)
    if not isinstance(value, str):
        raise ValueError(
            f"{source}: a retention policy is a string such as 'last=3,best=2:val_loss' or a mapping, "
            f"got {type(value).__name__}"
        )
    fields: dict[str, Any] = {}
    for token in [t for t in re.split(r"[,\s]+", value.strip()) if t]:
        match = _RULE.match(token)
        if token == "all":
            continue
        if match is None:
            raise ValueError(
                f"{source}: cannot read the retention rule {token!r} in {value!r}; rules are last=N, "
                "best=K:METRIC[:min|max], every=N (separated by commas)"
            )
        kind, number, metric, mode = match.groups()
        if kind in fields:
            raise ValueError(f"{source}: the rule {kind!r} is given twice in {value!r}")
        if kind == "best":
            if not metric:
                raise ValueError(f"{source}: best={number} needs a metric: best={number}:val_loss[:min|max]")
            fields.update(metric=metric, mode=mode or "min")
        elif metric or mode:
            raise ValueError(f"{source}: {kind}= takes a number only, got {token!r}")
        fields[kind] = _count(kind, number, source)
    policy = Policy(**fields)
    return None if policy.keeps_all else policy


def _from_mapping(value: Mapping[str, Any], source: str) -> Policy | None:
    unknown = sorted(set(value) - {"last", "best", "metric", "mode", "every"})
    if unknown:
        raise ValueError(f"{source}: unknown retention key {unknown[0]!r} (known: last, best, metric, mode, every)")
    fields: dict[str, Any] = {}
    for kind in ("last", "best", "every"):
        if value.get(kind) is not None:
            fields[kind] = _count(kind, value[kind], source)
    if "best" in fields:
        metric, mode = value.get("metric"), value.get("mode", "min")
        if not isinstance(metric, str) or not metric:
            raise ValueError(f"{source}: best={fields['best']} needs metric='...' (the metric to rank by)")
        if mode not in ("min", "max"):
            raise ValueError(f"{source}: mode must be 'min' or 'max', got {mode!r}")
        fields.update(metric=metric, mode=mode)
    policy = Policy(**fields)
    return None if policy.keeps_all else policy


def _count(kind: str, number: Any, source: str) -> int:
    try:
        count = int(number)
        if isinstance(number, bool) or count != float(number):
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"{source}: {kind} must be a whole number, got {number!r}") from None
    if count < 1:
        raise ValueError(f"{source}: {kind} must be at least 1, got {count}")
    return count


# -- selection ---------------------------------------------------------------------------------------------
def metric_of(row: Row, metric: str) -> float | None:
    """The value of `metric` recorded with a snapshot, or None."""
    try:
        value = json.loads(row["metrics"]).get(metric) if row.get("metrics") else None
        return float(value) if value is not None and math.isfinite(float(value)) else None
    except (TypeError, ValueError, AttributeError):
        return None


def best_of(rows: Iterable[Row], metric: str, mode: str, count: int = 1) -> list[Row]:
    """The `count` best rows by `metric` (`mode` min or max); rows without it never rank; ties: the newer first."""
    scored = [(value, row) for row in rows if (value := metric_of(row, metric)) is not None]
    scored.sort(key=lambda pair: ((pair[0] if mode == "min" else -pair[0]), -int(pair[1].get("seq") or 0)))
    return [row for _value, row in scored[:count]]


def monitor_of(rows: list[Row], policy: Policy | None) -> tuple[str, str] | None:
    """What `best` ranks by for a task: the newest monitor a framework (or `log_metrics`) recorded, else the
    policy's best= metric."""
    for row in sorted(rows, key=lambda r: -int(r.get("seq") or 0)):
        if row.get("monitor"):
            return str(row["monitor"]), str(row.get("monitor_mode") or "min")
    if policy is not None and policy.metric:
        return policy.metric, policy.mode
    return None


def protected(
    rows: list[Row], task: Row | None, policy: Policy | None, aliased: set[str], loaded: set[str]
) -> dict[str, str]:
    """Snapshot id -> why it may never be pruned (alias, lineage, latest, best, final of a completed task)."""
    why: dict[str, str] = {}
    for model_id in aliased:
        why[model_id] = "it has an alias"
    for model_id in loaded:
        why.setdefault(model_id, "another task loaded it")
    live = [r for r in rows if r["upload_state"] not in ("lost", "pruned")]
    if live:
        newest = max(live, key=lambda r: int(r.get("seq") or 0))
        why.setdefault(newest["id"], "it is the task's latest")
        if task is not None and task.get("status") == "completed":
            why[newest["id"]] = "it is the final snapshot of a completed task"
    monitor = monitor_of(rows, policy)
    if monitor is not None:
        for row in best_of(live, *monitor):
            why.setdefault(row["id"], f"it is the task's best by {monitor[0]}")
    return why


def to_prune(rows: list[Row], policy: Policy, protections: Mapping[str, str]) -> dict[str, str]:
    """Snapshot id -> the rule that prunes it: `done` snapshots no rule keeps and nothing protects."""
    ordered = sorted((r for r in rows if r["upload_state"] not in ("lost",)), key=lambda r: int(r.get("seq") or 0))
    kept: set[str] = set()
    # Counted among durable snapshots only: an older one's bytes go once a newer one is durable, not before.
    durable = [r for r in ordered if r["upload_state"] in ("done", "pruned")]
    if policy.last is not None:
        kept.update(r["id"] for r in durable[-policy.last :])
    if policy.best is not None and policy.metric:
        done = [r for r in durable if r["upload_state"] == "done"]
        kept.update(r["id"] for r in best_of(done, policy.metric, policy.mode, policy.best))
    if policy.every is not None:
        kept.update(r["id"] for r in ordered if r.get("step") is not None and int(r["step"]) % policy.every == 0)
    rule = f"retention policy {policy.text!r}"
    return {
        r["id"]: rule
        for r in ordered
        if r["upload_state"] == "done" and r["id"] not in kept and r["id"] not in protections
    }
