"""Jinja filters and the template environment of the page: times, durations, sizes, short ids."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from typing import Any

import jinja2
from starlette.templating import Jinja2Templates

from . import catalog, snapshots
from .queries import PAGE_SIZE, SORTS, STATUSES


def when(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def duration(row: dict[str, Any]) -> str:
    end = row.get("ended") or (time.time() if row.get("status") == "running" else None)
    if end is None or row.get("started") is None:
        return ""
    total = max(0, int(end - row["started"]))
    hours, rest = divmod(total, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def size(value: int | None) -> str:
    if value is None:
        return ""
    amount = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if amount < 1024 or unit == "TB":
            return f"{int(amount)} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return str(value)


def tags(text: str | None) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that orders the numbers inside names by value: project-2 before project-10."""
    parts = re.split(r"(\d+)", text.casefold())
    return tuple((0, int(p), p) if p.isdigit() else (1, 0, p) for p in parts)


def templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.PackageLoader("autolog.ui", "templates"), autoescape=True)
    env.filters.update(
        when=when,
        duration=duration,
        size=size,
        tags=tags,
        argv=lambda text: " ".join(json.loads(text)) if text else "",
        download_name=snapshots.download_name,
    )
    env.globals.update(
        PAGE_SIZE=PAGE_SIZE,
        SORTS=SORTS,
        STATUSES=STATUSES,
        MODEL_STATES=catalog.STATES,
        model_sorts=catalog.sorts,
    )
    return Jinja2Templates(env=env)
