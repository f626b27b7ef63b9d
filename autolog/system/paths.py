"""Path safety: the one rule for every name that becomes a file, and private, never-widening file modes.

A name (of a model, artifact, project or task) is free text for display. The file it becomes is a single
safe segment derived from it (`file_segment`), joined under a root autolog owns (the cache, the output
store, the home) and checked after resolution (`contained`): no `..`, no absolute path, no NUL, a bounded
length, and no symlink that leads out of the root. Names read back from a store (possibly shared, possibly
edited by someone else) go through the same rule, so a record can never make autolog write elsewhere.

Display names themselves are checked where the user hands them over (`check_display_name`): a NUL cannot
be stored by PostgreSQL and a name of megabytes helps nobody, so both are a `ValueError` at that call.

Files autolog creates for the user's data are private: folders 0700, files 0600 (the umask may make them
stricter, never looser), and a copy never has a wider mode than its source (`copy_file`, `keep_mode`).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

# A display name may hold any text but NUL, up to this many bytes of UTF-8 (1,024 ASCII characters):
# PostgreSQL indexes (project, task name) together, and a b-tree entry must stay under ~2.7 kB.
MAX_NAME_BYTES = 1024
# The file a name becomes keeps at most this many characters (file systems allow 255 bytes).
MAX_SEGMENT_CHARS = 120

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def check_display_name(label: str, value: object, *, allow_empty: bool = False) -> str:
    """`value` if it is usable as a display name, else ValueError naming `label` and the problem."""
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ValueError(f"{label} must be a non-empty string, got {value!r}"[:300])
    if "\0" in value:
        raise ValueError(f"{label} must not contain a NUL character, got {value[:80]!r}")
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        raise ValueError(
            f"{label} is too long: {size} bytes of UTF-8, the limit is {MAX_NAME_BYTES} (got {value[:40]!r}...)"
        )
    return value


def file_segment(text: str) -> str:
    """A path segment a person can read that cannot climb out of its folder ("../x" -> "x", ".." -> "_").

    Only ASCII letters, digits and `._-+=@ ` survive; every other run becomes `_`. Leading and trailing
    dots and spaces go, so the result is never `.`, `..`, hidden, empty or longer than MAX_SEGMENT_CHARS.
    """
    cleaned = re.sub(r"[^A-Za-z0-9._\-+=@ ]+", "_", str(text)).strip(" .")
    return cleaned[:MAX_SEGMENT_CHARS].rstrip(" .") or "_"


def is_plain_segment(text: str) -> bool:
    """True when `text` is one harmless path segment already (no separator, no `..`, no NUL)."""
    return (
        isinstance(text, str)
        and text not in ("", ".", "..")
        and "/" not in text
        and "\\" not in text
        and "\0" not in text
        and len(text) <= 255
    )


def contained(root: str | os.PathLike[str], *parts: str) -> Path:
    """`root/part/...` when it resolves (symlinks followed) inside `root`, else ValueError."""
    base = os.path.realpath(root)
    target = os.path.realpath(os.path.join(base, *parts))
    if target != base and not target.startswith(base.rstrip(os.sep) + os.sep):
        raise ValueError(f"refusing a path outside {base}: {os.path.join(*parts)!r}")
    return Path(os.path.join(base, *parts))


# -- modes ---------------------------------------------------------------------------------------------------
def current_umask() -> int:
    """The process umask, read without changing it where Linux allows (/proc), else set-and-restore."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create `path` (and missing parents) as 0700 minus the umask; an existing folder is left as it is."""
    path = Path(path)
    if not path.is_dir():
        missing = []
        probe = path
        while not probe.exists() and probe != probe.parent:
            missing.append(probe)
            probe = probe.parent
        for folder in reversed(missing):
            try:
                folder.mkdir(mode=PRIVATE_DIR)
            except FileExistsError:
                pass
    return path


def keep_mode(source: str | os.PathLike[str], copy: str | os.PathLike[str]) -> None:
    """Give `copy` the mode of `source`, narrowed by the umask: a copy is never more open than its source."""
    os.chmod(copy, stat.S_IMODE(os.stat(source).st_mode) & ~current_umask())


def copy_file(source: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    """Copy bytes like `shutil.copyfile`, creating `dest` with no wider mode than `source`."""
    mode = stat.S_IMODE(os.stat(source).st_mode)
    try:
        os.unlink(dest)
    except FileNotFoundError:
        pass
    os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode | stat.S_IWUSR))
    shutil.copyfile(source, dest)
    os.chmod(dest, mode & ~current_umask())
