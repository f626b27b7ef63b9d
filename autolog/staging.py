"""Staging: freeze a snapshot's bytes the moment a save returns, in O(1), so nothing can lose them.

A save registers a snapshot, but its hash and upload run later in the background. Until then the bytes
are kept alive by a hard link in `{home}/staging/{id}/` (costs nothing, survives the user deleting the
file). A later save to the same path would truncate that same inode, so before a captured save we
unlink the user's name for a staged inode (`protect`): the framework then creates a fresh file and the
staged snapshot stays intact. Across file systems, where a hard link is impossible, we copy instead.
A save into an already open file object is copied at once: the user may reopen the path before we
could link it.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from .fingerprint import member_files
from .paths import copy_file


class Staging:
    """Hard-link staging area of one autolog home."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._staged_inodes: dict[tuple[int, int], int] = {}  # (device, inode) -> staged link count
        # Snapshots left staged by a process that died before uploading them (`autolog sync` finishes
        # them): their inodes are unknown to us, so any multiply-linked file is protected while they exist.
        self._orphans_possible = root.is_dir() and any(root.iterdir())

    def stage(self, key: str, source: str, files: tuple[str, ...] | None = None, *, copy: bool = False) -> str:
        """Freeze `source` (file, directory or explicit member files) under staging/`key`; return its path.

        A directory or member list is staged as a directory; a single file keeps its file name.
        """
        folder = self.root / key
        folder.mkdir(parents=True, exist_ok=True)
        if files is not None:
            dest = folder / "content"
            dest.mkdir(exist_ok=True)
            for member in files:
                self._link_or_copy(member, dest / os.path.basename(member), copy)
            return str(dest)
        if os.path.isdir(source):
            dest = folder / "content"
            for rel, full in member_files(source):
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                self._link_or_copy(str(full), dest / rel, copy)
            dest.mkdir(exist_ok=True)
            return str(dest)
        dest = folder / os.path.basename(source)
        self._link_or_copy(source, dest, copy)
        return str(dest)

    def _link_or_copy(self, source: str, dest: Path, copy: bool) -> None:
        if not copy:
            try:
                os.link(source, dest)
                st = os.stat(dest)
                with self._lock:
                    key = (st.st_dev, st.st_ino)
                    self._staged_inodes[key] = self._staged_inodes.get(key, 0) + 1
                return
            except OSError:
                pass  # other file system, or links not allowed: copy
        copy_file(source, dest)  # never more open than the source (paths.copy_file)

    def protect(self, path: str, files: tuple[str, ...] | None = None) -> None:
        """Before a save to `path` (or to its member `files`, or the files under a directory `path`): unlink
        every name whose inode is staged, so the save writes a new file and the staged snapshot stays intact."""
        if not self._staged_inodes and not self._orphans_possible:
            return
        if files is not None:
            names = list(files)
        elif os.path.isdir(path):
            names = [str(full) for _rel, full in member_files(path)]
        else:
            names = [path]
        for name in names:
            self._unlink_if_staged(name)

    def _unlink_if_staged(self, path: str) -> None:
        try:
            st = os.stat(path)
        except OSError:
            return
        with self._lock:
            staged = (st.st_dev, st.st_ino) in self._staged_inodes
        if (staged or (self._orphans_possible and st.st_nlink > 1)) and os.path.isfile(path):
            os.unlink(path)

    def release(self, staged_path: str) -> None:
        """Forget a staged snapshot once it is hashed and uploaded."""
        folder = Path(staged_path)
        while folder.parent != self.root and folder != folder.parent:
            folder = folder.parent
        if folder.parent != self.root:
            return
        for _rel, full in member_files(folder):
            try:
                st = os.stat(full)
            except OSError:
                continue
            with self._lock:
                key = (st.st_dev, st.st_ino)
                if key in self._staged_inodes:
                    self._staged_inodes[key] -= 1
                    if self._staged_inodes[key] <= 0:
                        del self._staged_inodes[key]
        shutil.rmtree(folder, ignore_errors=True)
