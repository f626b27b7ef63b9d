"""What a task records about the run itself: host, user, Python, command line, git commit and dirty flag.

Cheap by design: the git commit is read from `.git/HEAD` and the ref files (no subprocess, no repository
scan); the dirty flag comes from `git status` run on the background store thread's schedule, never on the
caller's path.
"""

from __future__ import annotations

import getpass
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from .host import host_name


def find_git_dir(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():  # worktree or submodule: "gitdir: <path>"
            text = candidate.read_text(errors="replace").strip()
            if text.startswith("gitdir:"):
                return (folder / text.split(":", 1)[1].strip()).resolve()
    return None


def git_commit(git_dir: Path) -> str | None:
    """The checked-out commit, from HEAD and loose or packed refs."""
    head = (git_dir / "HEAD").read_text().strip()
    if not head.startswith("ref:"):
        return head or None
    ref = head.split(":", 1)[1].strip()
    common = git_dir
    if (git_dir / "commondir").is_file():
        common = (git_dir / (git_dir / "commondir").read_text().strip()).resolve()
    for base in (git_dir, common):
        if (base / ref).is_file():
            return (base / ref).read_text().strip()
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0]
    return None


def git_dirty(cwd: str) -> bool | None:
    """True when the working tree has changes; None when git is unavailable. Runs a subprocess: call off-path."""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.stdout.strip()) if out.returncode == 0 else None


def run_info() -> dict[str, object]:
    """Fields of the tasks table that describe this process."""
    cwd = os.getcwd()
    commit = None
    try:
        git_dir = find_git_dir(Path(cwd))
        commit = git_commit(git_dir) if git_dir else None
    except OSError:
        pass
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        user = None
    return {
        "host": host_name(),
        "user": user,
        "pid": os.getpid(),
        "python": platform.python_version(),
        "argv": json.dumps(sys.argv),
        "cwd": cwd,
        "git_commit": commit,
    }
