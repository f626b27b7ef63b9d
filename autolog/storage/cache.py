"""`Cache`: the local download cache, content-addressed, shared safely by several processes.

An entry is a folder per content hash, `{cache_dir}/{hash[:2]}/{hash}/`, holding the content under each
name it was fetched as (`best.pt`, `last.pt`: hard links of the same bytes; the name is kept because Keras
reads the extension). Names come from records, which may be shared or edited, so each is reduced to one
safe segment (`paths.file_segment`) and checked to resolve inside the cache. An entry is downloaded once
under a file lock into a temporary folder, checked against the recorded hash, made read-only, then renamed
into place, so a reader never sees half an entry.

Reuse trusts a copy only while its full fingerprint (size, mtime, inode, ctime of every file) is the one
recorded when autolog last verified it; any change (a file edited in place with its size and mtime put
back, two entries swapped, a file inside a folder changed) means a re-hash, and a copy that no longer
matches is fetched again. A path handed out stays valid until the user deletes it or LRU eviction
(past `cache_max_bytes`) removes its entry; fetching the same bytes under another name never removes it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import IntegrityError
from ..system.log import logger
from ..system.paths import contained, file_segment, private_dir
from .fingerprint import hash_path, member_files, size_of

META = ".autolog-entry.json"


def _stat_list(path: Path) -> list[list[object]]:
    """The fingerprint of a copy: (member, size, mtime, inode, ctime) of each file."""
    files = member_files(path) if path.is_dir() else [("", path)]
    found = []
    for rel, full in files:
        st = os.stat(full)
        found.append([rel, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns])
    return found


def _make_read_only(path: Path) -> None:
    """Files of an entry lose their write bits (and any group/other bits: the cache is private)."""
    files = [full for _rel, full in member_files(path)] if path.is_dir() else [path]
    for full in files:
        os.chmod(full, stat.S_IMODE(os.stat(full).st_mode) & 0o500 | stat.S_IRUSR)


def _link_tree(source: Path, dest: Path) -> None:
    """`dest` as hard links of `source` (a file or a folder), copies where links are impossible."""
    if not source.is_dir():
        try:
            os.link(source, dest)
        except OSError:
            shutil.copy2(source, dest)
        return
    dest.mkdir(mode=0o700)
    for rel, full in member_files(source):
        target = dest / rel
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _link_tree(full, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


class Cache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(os.path.realpath(root))
        self.max_bytes = max_bytes

    def entry_dir(self, digest: str) -> Path:
        if not all(c in "0123456789abcdef" for c in digest) or len(digest) < 8:
            raise IntegrityError(f"not a content hash: {digest[:80]!r}")
        return self.root / digest[:2] / digest

    def fetch(self, digest: str, name: str, label: str, fill: Callable[[str], None]) -> str:
        """Return a verified local copy of the content with hash `digest`, filling it once with `fill(path)`.

        `fill` writes the content (file or folder) at the path it is given. `name` is the file name the
        copy gets (made a safe segment); `label` names the model or artifact in errors.
        """
        from filelock import FileLock

        name = file_segment(name)
        self.entry_dir(digest)  # checks that the digest is one
        private_dir(contained(self.root, digest[:2]))
        entry = contained(self.root, digest[:2], digest)
        content = contained(self.root, digest[:2], digest, name)  # symlinks resolved: never outside the cache
        with FileLock(str(entry) + ".lock"):
            meta = self._read_meta(entry)
            if meta is not None and self._reuse(entry, meta, name, digest, label):
                return str(content)
            staging = contained(self.root, "tmp", uuid.uuid4().hex)
            private_dir(staging)
            try:
                fill(str(staging / name))
                actual = hash_path(staging / name)
                if actual != digest:
                    raise IntegrityError(
                        f"{label}: the fetched bytes do not match the recorded hash "
                        f"(expected {digest}, got {actual}); the stored copy is corrupt"
                    )
                _make_read_only(staging / name)
                if meta is not None and entry.is_dir():
                    _remove(content)
                    os.rename(staging / name, content)  # other names of these bytes stay where they are
                    meta["names"][name] = _stat_list(content)
                    self._write_meta(entry, meta)
                else:
                    shutil.rmtree(entry, ignore_errors=True)
                    self._write_meta(
                        staging, {"names": {name: _stat_list(staging / name)}, "size": size_of(staging / name)}
                    )
                    os.rename(staging, entry)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        self.evict(keep=entry)
        return str(content)

    # -- entries --------------------------------------------------------------------------------------------
    @staticmethod
    def _read_meta(entry: Path) -> dict[str, Any] | None:
        try:
            meta = json.loads((entry / META).read_text())
        except (OSError, ValueError):
            return None
        if isinstance(meta, dict) and "names" not in meta and isinstance(meta.get("name"), str):
            # An entry of the first layout (one name, size and mtime only): re-verified by hash on first use.
            meta = {"names": {meta["name"]: None}, "size": meta.get("size", 0)}
        if not isinstance(meta, dict) or not isinstance(meta.get("names"), dict):
            return None
        return meta

    @staticmethod
    def _write_meta(entry: Path, meta: dict[str, Any]) -> None:
        temporary = entry / f"{META}.{uuid.uuid4().hex[:8]}"
        temporary.write_text(json.dumps(meta))
        os.replace(temporary, entry / META)

    def _trusted(self, entry: Path, meta: dict[str, Any], name: str, digest: str, label: str) -> bool:
        """True when the copy under `name` still holds the bytes; a copy that does not is removed."""
        copy = entry / name
        try:
            if copy.exists() and meta["names"].get(name) == _stat_list(copy):
                return True
            if copy.exists() and hash_path(copy) == digest:
                _make_read_only(copy)
                meta["names"][name] = _stat_list(copy)
                return True
        except OSError:
            pass
        logger.warning("autolog: cached copy of %s at %s was modified or corrupt; fetching it again", label, copy)
        _remove(copy)
        meta["names"].pop(name, None)
        return False

    def _reuse(self, entry: Path, meta: dict[str, Any], name: str, digest: str, label: str) -> bool:
        """Serve `name` from the entry: its own verified copy, else a link to another verified name."""
        names = meta["names"]
        if name in names and self._trusted(entry, meta, name, digest, label):
            self._write_meta(entry, meta)  # also marks the entry as recently used (LRU)
            return True
        for other in [n for n in names if n != name]:
            if self._trusted(entry, meta, other, digest, label):
                _remove(entry / name)
                _link_tree(entry / other, entry / name)
                # A new hard link changes every linked file's ctime: record all names afresh.
                for known in [*names, name]:
                    names[known] = _stat_list(entry / known)
                self._write_meta(entry, meta)
                return True
        self._write_meta(entry, meta)
        return False

    def entries(self) -> list[tuple[Path, int, float]]:
        """(entry folder, bytes, last used) of every complete entry."""
        found: list[tuple[Path, int, float]] = []
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
