"""Is the process that owns a task (or a journal entry) still running?

A pid alone lies: pids are reused. On Linux the start time of a process (field 22 of `/proc/<pid>/stat`,
clock ticks since boot) tells a reused pid apart, so every task records it next to its pid at `init`.
A task of another host cannot be checked this way; its heartbeat (refreshed by the store thread) is used
instead (see `autolog.pipeline.sync.abort_dead_tasks`).
"""

from __future__ import annotations

import os

from .host import host_name


def process_start(pid: int) -> int | None:
    """The start time of `pid` in clock ticks since boot, or None (no such process, or not Linux)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    # comm (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = data[data.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])  # field 22 overall; fields[0] is field 3
    except (IndexError, ValueError):
        return None


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True


def owner_alive(host: str | None, pid: int | None, start: int | None) -> bool | None:
    """True/False for an owner on this host; None when it runs elsewhere (ask its heartbeat)."""
    if host != host_name():
        return None
    if not pid_alive(pid):
        return False
    if start is None:
        return True  # recorded before start times were: trust the pid
    now = process_start(int(pid))  # type: ignore[arg-type]
    return now is None or now == int(start)
