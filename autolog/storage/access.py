"""`Storage`: copies to and from an `output_uri`, through fsspec.

Any protocol fsspec knows works (`/abs/dir`, `file://`, `memory://`, `s3://`, `gs://`, `az://`, ...).
`check_uri` validates a URI at `init()` without importing the backend (s3fs alone takes ~0.5 s to
import): an unknown scheme is a `ValueError` naming it, a known one whose package is missing an
`ImportError` naming the package. On file systems a write is atomic: we write to a temporary name and
rename, so a reader never sees half a file or folder. On object stores a file is one PUT, atomic for that
object; a folder is one PUT per file, so a reader may see some of its files before the last one lands (the
record points at it only once all are stored). A write that fails removes what it wrote (no `.part-*` file
is left on a full disk, no half-written folder's objects).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from . import transfer
from .fingerprint import copy_and_hash, hash_file, member_files, members_digest, size_of

PROGRESS_THRESHOLD = 64 * 2**20

_OBJECT_STORES = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "memory", "oss", "r2"}


def protocol_of(uri: str) -> str:
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*)://", uri)
    return match.group(1).lower() if match else "file"


def check_uri(uri: str) -> None:
    """Raise ValueError for an unknown scheme and ImportError when its fsspec backend is not installed."""
    from fsspec.registry import known_implementations, registry

    protocol = protocol_of(uri)
    if protocol in registry:
        return
    spec = known_implementations.get(protocol)
    if spec is None:
        raise ValueError(
            f"output_uri {uri!r}: unknown storage scheme {protocol!r} (fsspec knows no implementation for it)"
        )
    top_module = spec["class"].split(".", 1)[0]
    if importlib.util.find_spec(top_module) is None:
        hint = spec.get("err") or f"install the {top_module} package"
        raise ImportError(f"output_uri {uri!r} needs the package {top_module!r}: {hint}")


def safe_segment(text: str) -> str:
    """A path segment a person can read that cannot climb out of its folder ("../x" -> "x"): `paths.file_segment`."""
    from ..system.paths import file_segment

    return file_segment(text)


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


class Storage:
    """One output_uri: put files/folders there (atomically on file systems, one PUT per file on object
    stores), get them back."""

    def __init__(self, uri: str, storage_options: dict[str, Any] | None = None) -> None:
        from fsspec.core import url_to_fs

        self.uri = uri.rstrip("/") if protocol_of(uri) != "file" else os.path.abspath(_strip_file(uri))
        self.protocol = protocol_of(uri)
        self.fs, self.root = url_to_fs(self.uri, **(storage_options or {}))

    def _path(self, uri: str) -> str:
        from fsspec.core import url_to_fs

        return url_to_fs(uri)[1] if "://" in uri else uri

    def put(self, local_path: str, dest_uri: str) -> None:
        """Copy a local file or directory to `dest_uri` (a full URI under this storage): atomically on a file
        system; on an object store a file is one atomic PUT and a directory one PUT per file."""
        with transfer_progress(f"upload {os.path.basename(local_path)}", lambda: size_of(local_path)):
            self._put(local_path, dest_uri)

    def _put(self, local_path: str, dest_uri: str) -> None:
        dest = self._path(dest_uri)
        atomic_by_nature = self.protocol in _OBJECT_STORES
        target = dest if atomic_by_nature else f"{dest}.part-{uuid.uuid4().hex[:8]}"
        parent = target.rsplit("/", 1)[0]
        is_dir = os.path.isdir(local_path)
        if self.protocol == "file":
            _remove_stale_parts(dest)
        try:
            if not atomic_by_nature:
                self.fs.makedirs(parent, exist_ok=True)
            if is_dir:
                for rel, full in member_files(local_path):
                    member = f"{target}/{rel}"
                    if not atomic_by_nature:
                        self.fs.makedirs(member.rsplit("/", 1)[0], exist_ok=True)
                    self.fs.put_file(str(full), member)
                    self._keep_mode(str(full), member)
            else:
                self.fs.put_file(local_path, target)
                self._keep_mode(local_path, target)
            if not atomic_by_nature:
                self.fs.mv(target, dest, recursive=is_dir)
        except BaseException:
            if not atomic_by_nature or is_dir:
                self._discard(target)
            raise

    def remove(self, uri: str) -> None:
        """Remove what was put at `uri` under this storage, best effort (an upload whose bytes changed)."""
        self._discard(self._path(uri))

    def _discard(self, target: str) -> None:
        """Remove what a failed upload left (a `.part-*` file or folder, members of a folder object)."""
        try:
            if self.protocol == "file":
                if os.path.isdir(target):
                    shutil.rmtree(target, ignore_errors=True)
                elif os.path.lexists(target):
                    os.unlink(target)
            elif self.fs.exists(target):
                self.fs.rm(target, recursive=True)
        except Exception:  # noqa: BLE001 - best effort: the original error is the one that matters
            pass

    @property
    def local(self) -> bool:
        """True for a local file system output: copies there can be hashed in the same pass, or linked."""
        return self.protocol == "file"

    def put_hashed(self, local_path: str, dest_uri: str, *, staged: bool, threads: bool = False) -> str:
        """Copy `local_path` (file or folder) to a local `dest_uri` atomically and return its content hash.

        The hash is of what lies at the destination (`copy_and_hash`; `threads`: someone waits, hash on every
        core). A reflink (FICLONE: btrfs, XFS) is tried before a copy. With `staged` (`local_path` lies in a
        staging folder), a staged file that is the only name of its inode becomes a hard link on a same-file-
        system destination: no bytes move. That is safe because nobody but staging can reach such an inode, so
        nobody can write into it again, and staging drops its name once the copy is recorded. A staged file
        still shared with the user's path is never linked: a later in-place write there (an open-file save, a
        raw write) would change the remote copy.
        """
        dest = self._path(dest_uri)
        target = f"{dest}.part-{uuid.uuid4().hex[:8]}"
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        _remove_stale_parts(dest)
        try:
            if os.path.isdir(local_path):
                hashes = []
                for rel, full in member_files(local_path):
                    member = os.path.join(target, *rel.split("/"))
                    os.makedirs(os.path.dirname(member), exist_ok=True)
                    hashes.append((rel, _place_file(str(full), member, staged, threads)))
                os.makedirs(target, exist_ok=True)
                digest = members_digest(hashes)
            else:
                digest = _place_file(local_path, target, staged, threads)
            os.rename(target, dest)
        except BaseException:
            self._discard(target)
            raise
        return digest

    def _keep_mode(self, source: str, copy: str) -> None:
        """A local copy is never more open than its source (a 0600 file stays 0600): `paths.keep_mode`."""
        if self.protocol == "file":
            from ..system.paths import keep_mode

            keep_mode(source, copy)

    def get(self, src_uri: str, local_path: str, is_dir: bool) -> None:
        """Download a file or a directory tree to `local_path` (large objects in parallel ranges: `transfer`)."""
        src = self._path(src_uri)
        with transfer_progress(f"download {os.path.basename(local_path)}", lambda: self.fs.du(src)):
            self._get(src, local_path, is_dir)

    def _get(self, src: str, local_path: str, is_dir: bool) -> None:
        if is_dir:
            os.makedirs(local_path, exist_ok=True)
            for remote in self.fs.find(src):
                rel = remote[len(src.rstrip("/")) + 1 :]
                dest = os.path.join(local_path, *rel.split("/"))
                if not os.path.realpath(dest).startswith(os.path.realpath(local_path) + os.sep):
                    raise ValueError(f"refusing to write {rel!r} outside {local_path}")
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                transfer.get_file(self.fs, remote, dest)
        else:
            transfer.get_file(self.fs, src, local_path)

    def exists(self, uri: str) -> bool:
        return bool(self.fs.exists(self._path(uri)))


@contextlib.contextmanager
def transfer_progress(label: str, size: Callable[[], int]) -> Iterator[None]:
    """A progress line (rich) for transfers over PROGRESS_THRESHOLD, only when stderr is a terminal.

    `size` is called only then, so scripts and CI pay nothing, not even a remote size query."""
    bar = None
    try:
        if sys.stderr.isatty() and size() >= PROGRESS_THRESHOLD:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            bar = Progress(
                SpinnerColumn(),
                TextColumn(f"autolog: {label}"),
                TimeElapsedColumn(),
                transient=True,
                console=Console(stderr=True),
            )
            bar.start()
            bar.add_task(label, total=None)
    except Exception:  # noqa: BLE001 - a progress line is never worth an error
        bar = None
    try:
        yield
    finally:
        if bar is not None:
            bar.stop()


def _remove_stale_parts(dest: str) -> None:
    """Remove `.part-*` files an earlier attempt at this same destination left when its process was killed
    mid-copy (each snapshot has its own destination, and `sync` claims a row before retrying it)."""
    import glob

    for stale in glob.glob(glob.escape(dest) + ".part-*"):
        with contextlib.suppress(OSError):
            shutil.rmtree(stale) if os.path.isdir(stale) else os.unlink(stale)


FICLONE = 0x40049409  # linux/fs.h: share the source's blocks, copy-on-write
_no_reflink: set[int] = set()  # devices where FICLONE failed once


def _place_file(src: str, dst: str, staged: bool, threads: bool = False) -> str:
    """Put `src` at `dst` by the cheapest safe means and return the hash of the bytes placed.

    Each way leaves at `dst` an inode only autolog can write. While training may run it is hashed by reads,
    as any file; with `threads` (someone waits) mapped, on every core. Mapping while a save runs in the
    same process doubled the save's time in `bench --only save` (the mapping's page faults and unmapping
    contend with the saving thread for the process's memory map)."""
    if staged and os.stat(src).st_nlink == 1:  # only staging's name: nobody else can ever write it
        try:
            os.link(src, dst)
        except OSError:
            pass  # another file system: a reflink or a copy
        else:
            return hash_file(dst, use_mmap=threads, threads=threads)
    from ..system.paths import keep_mode

    if _reflink(src, dst):
        keep_mode(src, dst)  # a copy is never more open than its source
        return hash_file(dst, use_mmap=threads, threads=threads)
    digest = copy_and_hash(src, dst, threads=threads)
    keep_mode(src, dst)
    return digest


def _reflink(src: str, dst: str) -> bool:
    """A copy-on-write clone where the file system has them; False (and nothing left) where not."""
    try:
        dev = os.stat(src).st_dev
    except OSError:
        return False
    if dev in _no_reflink or not sys.platform.startswith("linux"):
        return False
    import fcntl

    try:
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            fcntl.ioctl(fout.fileno(), FICLONE, fin.fileno())
        return True
    except OSError:
        _no_reflink.add(dev)
        with contextlib.suppress(OSError):
            os.unlink(dst)
        return False


def _strip_file(uri: str) -> str:
    return uri[len("file://") :] if uri.startswith("file://") else uri


def storage_for(uri: str) -> Storage:
    """A Storage for the root that `uri` lives under (protocol and bucket/host)."""
    return Storage(uri)
