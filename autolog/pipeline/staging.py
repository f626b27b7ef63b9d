"""Staging: freeze a snapshot's bytes the moment a save returns, in O(1), so nothing can lose them.

A save registers a snapshot, but its hash and upload run later in the background. Until then the bytes
are kept alive by a hard link in a staging folder (costs nothing, survives the user deleting the file).
The staging folder lives on the checkpoint's own file system: `{home}/staging/` when the home is there,
else `<mount point>/.autolog-staging/` (or `.autolog-staging/` beside the checkpoint) when writable, so a
home on NFS or tmpfs never turns a save into a copy on the caller's thread; only when none of these can
be written do we copy.

A later save to the same path would truncate that same inode, so before a captured save we unlink the
user's name for a staged inode (`protect`): the framework then creates a fresh file and the staged
snapshot stays intact. An open-file save (`with open(p, "wb") as f: torch.save(obj, f)`) or a raw write
truncates the inode *before* any hook runs, so hard links cannot protect against it. Hence:

- a save into an open file is copied at once, and the path is remembered: later path saves to it are
  copied too ("where autolog cannot prove the bytes are the ones saved, it copies");
- every staged snapshot keeps the stat of its frozen files (size, mtime, inode) taken right after
  staging; `intact()` compares it before and after the background hash/copy, and an open-file save
  that lands on a staged inode marks that snapshot as overwritten. Such a snapshot is flagged `lost`,
  never recorded with another save's hash. (Linux ≥ 6.13 gives a write after our stat a new mtime
  (multigrain timestamps); older kernels may not, for a same-size write in the same timer tick.)
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..storage.fingerprint import member_files
from ..system.bursts import SaveBursts
from ..system.paths import copy_file

STAGING_DIRNAME = ".autolog-staging"
SPARE_FOLDERS = 32  # per staging root: enough for a burst of back-to-back saves
ROOTS_FILE = "staging-roots.txt"  # in the home: staging roots on other file systems, one per line

Inode = tuple[int, int]  # (device, inode)


@dataclass
class _Frozen:
    """What a staged snapshot looked like when it was staged."""

    inodes: tuple[Inode, ...]
    state: tuple[tuple[Any, ...], ...]
    overwritten: str | None = None  # why we know its bytes changed before they were captured


def frozen_state(path: str | os.PathLike[str]) -> tuple[tuple[Any, ...], ...]:
    """(relative name, size, mtime_ns, inode) of a file or of every file under a directory."""
    if os.path.isdir(path):
        return tuple((rel, *_stat_tuple(full)) for rel, full in member_files(path))
    return (("", *_stat_tuple(path)),)


def _stat_tuple(path: str | os.PathLike[str]) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ino


class Staging:
    """The staging areas of one autolog home: `{home}/staging/` plus one per other file system."""

    def __init__(self, root: Path, bursts: SaveBursts | None = None) -> None:
        self.root = root
        self.bursts = bursts or SaveBursts()  # protect() notes when each save starts
        self._lock = threading.Lock()
        self._staged_inodes: dict[Inode, int] = {}  # (device, inode) -> staged link count
        self._frozen: dict[str, _Frozen] = {}  # staged path -> its state at staging time
        self._roots: dict[int, Path | None] = {}  # device -> staging root on that file system (None: none)
        self._spares: dict[Path, list[Path]] = {root: []}  # staging root -> empty folders made ahead
        self._adopted: set[Path] = set()  # roots whose leftover spares were taken over
        self._copy_paths: set[str] = set()  # paths that got an open-file save: path saves there are copied
        # Snapshots left staged by a process that died before uploading them (`autolog sync` finishes
        # them): their inodes are unknown to us, so any multiply-linked file is protected while they exist.
        self._foreign: set[Path] = {p for p in root.iterdir() if p.is_dir()} if root.is_dir() else set()

    # -- staging ---------------------------------------------------------------------------------------
    def stage(self, key: str, source: str, files: tuple[str, ...] | None = None, *, copy: bool = False) -> str:
        """Freeze `source` (file, directory or explicit member files) under a staging folder `key`; return
        the staged path (any staging root: callers keep the full path).

        A directory or member list is staged as a directory; a single file keeps its file name.
        `copy=True` (a save into an open file) copies at once.
        """
        if files is None and not os.path.isdir(source):
            copy = self._note_single_file(source, copy)
        first = files[0] if files else source
        root = self.root if copy else self._root_for(first)
        folder = root / key
        self._make_folder(root, folder)
        if files is not None:
            dest = folder / "content"
            dest.mkdir(exist_ok=True)
            inodes = [self._link_or_copy(member, dest / os.path.basename(member), copy) for member in files]
        elif os.path.isdir(source):
            dest = folder / "content"
            inodes = []
            for rel, full in member_files(source):
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                inodes.append(self._link_or_copy(str(full), dest / rel, copy))
            dest.mkdir(exist_ok=True)
        else:
            dest = folder / os.path.basename(source)
            inodes = [self._link_or_copy(source, dest, copy)]
        staged = str(dest)
        # Taken after linking, so that it describes the staged inode as it is now.
        record = _Frozen(tuple(i for i in inodes if i is not None), frozen_state(staged))
        with self._lock:
            self._frozen[staged] = record
        return staged

    def freeze(self, source: str, files: tuple[str, ...] | None = None) -> str | None:
        """For a load: hard-link what was read (a file, member files, or every file under a folder, links
        followed as a load's hash follows them) into a new staging folder, so the background hash reads
        those bytes even when the user deletes, renames or replaces the file as soon as the load returns.

        O(1) per file on the caller's thread and never a copy: where a link is impossible (another file
        system with no staging root, a read-only folder), None, and the file is hashed where it is."""
        members = [(os.path.basename(f), os.path.realpath(f)) for f in files] if files is not None else None
        if members is None and os.path.isdir(source):
            members = [(rel, str(full)) for rel, full in member_files(source, follow_links_out=True)]
        root = self._root_for(members[0][1] if members else source)
        folder = root / uuid.uuid4().hex
        try:
            self._make_folder(root, folder)
            if members is None:
                dest = folder / os.path.basename(source)
                inodes = [self._link(os.path.realpath(source), dest)]
            else:
                dest = folder / "content"
                inodes = []
                for rel, full in members:
                    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                    inodes.append(self._link(full, dest / rel))
                dest.mkdir(exist_ok=True)
        except OSError:
            self.release(str(folder))
            return None
        staged = str(dest)
        record = _Frozen(tuple(inodes), frozen_state(staged))
        with self._lock:
            self._frozen[staged] = record
        return staged

    def _link(self, source: str, dest: Path) -> Inode:
        os.link(source, dest)
        st = os.stat(dest)
        key = (st.st_dev, st.st_ino)
        with self._lock:
            self._staged_inodes[key] = self._staged_inodes.get(key, 0) + 1
        return key

    # -- folders made ahead of time ------------------------------------------------------------------------
    # A mkdir costs a new inode and block; renaming an empty folder made earlier costs far less (figures:
    # docs/performance.md, "Design measurements"). So each staging root keeps a few spare folders beside
    # it, made off the caller's thread (`refill`), and a save renames one into place.
    @staticmethod
    def _spares_dir(root: Path) -> Path:
        # `{home}/staging-spares` keeps `{home}/staging` to snapshot folders only; on other file systems
        # they stay inside our own folder, `.autolog-staging/.spares`.
        return root / ".spares" if root.name == STAGING_DIRNAME else root.parent / f"{root.name}-spares"

    def _make_folder(self, root: Path, folder: Path) -> None:
        with self._lock:
            spares = self._spares.get(root)
            spare = spares.pop() if spares else None
            self._spares.setdefault(root, [])
        if spare is not None:
            try:
                os.rename(spare, folder)
                return
            except OSError:
                pass  # taken by another process sharing the root, or gone: make one
        folder.mkdir(parents=True, exist_ok=True)

    def refill(self) -> None:
        """Make spare folders for every staging root in use (background thread)."""
        with self._lock:
            wanted = {root: SPARE_FOLDERS - len(spares) for root, spares in self._spares.items()}
        for root, count in wanted.items():
            if count <= 0:
                continue
            made: list[Path] = []
            try:
                spares_dir = self._spares_dir(root)
                spares_dir.mkdir(mode=0o700, exist_ok=True)
                if root not in self._adopted:  # spares an earlier process left: use them, never pile up
                    self._adopted.add(root)
                    made = [p for p in spares_dir.iterdir() if p.is_dir()][:count]
                for _ in range(count - len(made)):
                    spare = spares_dir / uuid.uuid4().hex
                    spare.mkdir(mode=0o700)
                    made.append(spare)
            except OSError:
                pass  # no spares there: saves make their folder themselves
            with self._lock:
                self._spares.setdefault(root, []).extend(made)

    def _note_single_file(self, source: str, copy: bool) -> bool:
        """Decide whether a single-file save must be copied; flag snapshots an open-file save overwrote."""
        if copy:
            try:
                st = os.stat(source)
            except OSError:
                return copy
            key = (st.st_dev, st.st_ino)
            with self._lock:
                self._copy_paths.add(source)
                if key in self._staged_inodes:
                    for record in self._frozen.values():
                        if key in record.inodes and record.overwritten is None:
                            record.overwritten = (
                                f"the file {source} was overwritten in place (opened for "
                                f"writing) before autolog could capture the snapshot's bytes"
                            )
            return True
        with self._lock:
            return source in self._copy_paths

    def _root_for(self, source: str) -> Path:
        """The staging root on `source`'s file system (where a hard link is possible)."""
        try:
            dev = os.stat(source).st_dev
        except OSError:
            return self.root
        with self._lock:
            if dev in self._roots:
                return self._roots[dev] or self.root
        root = self._find_root(source, dev)
        with self._lock:
            self._roots[dev] = root
        return root or self.root

    def _find_root(self, source: str, dev: int) -> Path | None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.stat(self.root).st_dev == dev:
            return self.root
        folder = os.path.dirname(os.path.abspath(source))
        mount = folder
        while True:
            parent = os.path.dirname(mount)
            try:
                if parent == mount or os.stat(parent).st_dev != dev:
                    break
            except OSError:
                break
            mount = parent
        for base in (mount, folder):
            candidate = Path(base) / STAGING_DIRNAME
            try:
                candidate.mkdir(mode=0o700, exist_ok=True)
                if os.stat(candidate).st_dev != dev or not os.access(candidate, os.W_OK | os.X_OK):
                    continue
            except OSError:
                continue
            with self._lock:
                self._foreign.update(
                    p
                    for p in candidate.iterdir()
                    if p.is_dir() and not p.name.startswith(".") and p not in self._frozen_folders()
                )
            self._remember_root(candidate)
            return candidate
        return None

    @property
    def _roots_file(self) -> Path:
        return self.root.parent / ROOTS_FILE

    def _remember_root(self, root: Path) -> None:
        """Note a staging root outside the home, so that `sync` in a later process finds what is left there."""
        try:
            if str(root) in self.all_roots():
                return
            with open(self._roots_file, "a", encoding="utf-8") as fh:
                fh.write(f"{root}\n")
        except OSError:
            pass  # the home is unwritable: staged paths are still recorded on each row

    def all_roots(self) -> list[str]:
        """Every staging root this home has used: `{home}/staging` and the per-file-system ones."""
        roots = [str(self.root)]
        try:
            with open(self._roots_file, encoding="utf-8") as fh:
                roots += [line.strip() for line in fh if line.strip() and line.strip() not in roots]
        except OSError:
            pass
        return roots

    def _frozen_folders(self) -> set[Path]:
        return {self._key_folder(Path(p)) for p in self._frozen}

    def _link_or_copy(self, source: str, dest: Path, copy: bool) -> Inode | None:
        if not copy:
            try:
                return self._link(source, dest)
            except OSError:
                pass  # links not allowed here: copy
        copy_file(source, dest)  # never more open than the source (paths.copy_file)
        return None

    # -- checking ----------------------------------------------------------------------------------------
    def intact(self, staged_path: str) -> str | None:
        """None while the staged bytes are provably the ones saved; else why they are not.

        Size, mtime and inode are compared: ctime is not, since our own links and `protect`'s unlinks
        change it. Unknown staged paths (resumed by `sync` from another process) are taken as they are."""
        with self._lock:
            record = self._frozen.get(staged_path)
        if record is None:
            return None
        if record.overwritten:
            return record.overwritten
        try:
            now = frozen_state(staged_path)
        except OSError:
            return f"the staged bytes at {staged_path} are gone"
        if now != record.state:
            return (
                "the saved file was overwritten in place (an open-file save or a raw write into the same "
                "inode) before autolog could capture the snapshot's bytes"
            )
        return None

    def knows(self, staged_path: str) -> bool:
        """True for a snapshot staged by this process (its state at staging time is known)."""
        with self._lock:
            return staged_path in self._frozen

    # -- protecting --------------------------------------------------------------------------------------
    def protect(self, path: str, files: tuple[str, ...] | None = None) -> None:
        """Before a save to `path` (or to its member `files`, or the files under a directory `path`): unlink
        every name whose inode is staged, so the save writes a new file and the staged snapshot stays intact.

        Called as every captured path save starts, so it also notes the time (`autolog.system.bursts`)."""
        self.bursts.save_started()
        if not self._staged_inodes and not self._foreign:
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
        if (staged or (st.st_nlink > 1 and self._orphans_possible())) and os.path.isfile(path):
            os.unlink(path)

    def _orphans_possible(self) -> bool:
        """Whether staged folders of other processes may still exist; re-checked, so it clears once `sync`
        (in this process or another) has finished them."""
        with self._lock:
            gone = {p for p in self._foreign if not p.exists()}
            self._foreign -= gone
            return bool(self._foreign)

    # -- releasing ---------------------------------------------------------------------------------------
    def _key_folder(self, staged: Path) -> Path:
        folder = staged
        while folder.parent != self.root and folder.parent.name != STAGING_DIRNAME and folder != folder.parent:
            folder = folder.parent
        return folder

    def release(self, staged_path: str) -> None:
        """Forget a staged snapshot once it is hashed and uploaded (any staging root)."""
        folder = self._key_folder(Path(staged_path))
        if folder.parent != self.root and folder.parent.name != STAGING_DIRNAME:
            return
        with self._lock:
            self._frozen.pop(staged_path, None)
            self._foreign.discard(folder)
        for _rel, full in member_files(folder) if folder.is_dir() else [("", folder)]:
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
