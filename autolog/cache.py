"""`Cache`: the local download cache, content-addressed, shared safely by several processes.

An entry lives at `{cache_dir}/{hash[:2]}/{hash}/{name}` (the original file name is kept: Keras reads
the extension). It is downloaded once under a file lock into a temporary folder, checked against the
recorded hash, then renamed into place, so a reader never sees half an entry. Each reuse compares the
entry's stat with the one recorded at download; if it changed, the entry is re-hashed and, when corrupt,
dropped and fetched again. Least recently used entries are evicted past `cache_max_bytes`.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from .errors import IntegrityError
from .fingerprint import hash_path, member_files, size_of
from .log import logger

META = ".autolog-entry.json"


def _stat_list(path: Path) -> list[list[object]]:
    if path.is_dir():
        return [[rel, full.stat().st_size, full.stat().st_mtime_ns] for rel, full in member_files(path)]
    st = path.stat()
    return [["", st.st_size, st.st_mtime_ns]]


class Cache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def entry_dir(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def fetch(self, digest: str, name: str, label: str, fill: Callable[[str], None]) -> str:
        """Return a verified local copy of the content with hash `digest`, filling it once with `fill(path)`.

        `fill` writes the content (file or folder) at the path it is given. `label` names the model or
        artifact in errors.
        """
        from filelock import FileLock

        entry = self.entry_dir(digest)
        content = entry / name
        entry.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(entry) + ".lock"):
            if self._valid(entry, content, digest, label):
                os.utime(entry / META)
                return str(content)
            staging = self.root / "tmp" / uuid.uuid4().hex
            staging.mkdir(parents=True)
            try:
                fill(str(staging / name))
                actual = hash_path(staging / name)
                if actual != digest:
                    raise IntegrityError(f"{label}: the fetched bytes do not match the recorded hash "
                                         f"(expected {digest}, got {actual}); the stored copy is corrupt")
                (staging / META).write_text(json.dumps({"name": name, "stat": _stat_list(staging / name),
                                                        "size": size_of(staging / name)}))
                shutil.rmtree(entry, ignore_errors=True)
                os.rename(staging, entry)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        self.evict(keep=entry)
        return str(content)

    def _valid(self, entry: Path, content: Path, digest: str, label: str) -> bool:
        meta_path = entry / META
        if not content.exists() or not meta_path.exists():
            return False
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("stat") == _stat_list(content):
                return True
            if hash_path(content) == digest:
                meta["stat"] = _stat_list(content)
                meta_path.write_text(json.dumps(meta))
                return True
        except (OSError, ValueError):
            pass
        logger.warning("autolog: cached copy of %s at %s was modified or corrupt; fetching it again", label, content)
        shutil.rmtree(entry, ignore_errors=True)
        return False

    def entries(self) -> list[tuple[Path, int, float]]:
        """(entry folder, bytes, last used) of every complete entry."""
        found = []
        if not self.root.is_dir():
            return found
        for meta_path in self.root.glob(f"??/*/{META}"):
            try:
                meta = json.loads(meta_path.read_text())
                found.append((meta_path.parent, int(meta.get("size", 0)), meta_path.stat().st_mtime))
            except (OSError, ValueError):
                continue
        return found

    def evict(self, keep: Path | None = None) -> int:
        """Remove least recently used entries until the cache fits `max_bytes`; returns entries removed."""
        entries = sorted(self.entries(), key=lambda e: e[2])
        total = sum(size for _p, size, _t in entries)
        removed = 0
        for path, size, _used in entries:
            if total <= self.max_bytes:
                break
            if keep is not None and path == keep:
                continue
            shutil.rmtree(path, ignore_errors=True)
            total -= size
            removed += 1
        return removed

    def clear(self) -> int:
        count = len(self.entries())
        shutil.rmtree(self.root, ignore_errors=True)
        return count
