"""Content hashes (BLAKE3) and cheap stat fingerprints.

A model's identity is the BLAKE3 hash of its bytes; a directory or multi-file checkpoint hashes the
sorted list of (relative path, file hash) lines, so the same files give the same hash wherever they lie.
BLAKE3 hashes several GB/s on one core (about four times SHA-256; figures in docs/performance.md),
far above disk speed, so it runs single-threaded while training may run: extra hashing threads would only
take cores from it. When someone waits for the result (`flush`, the exit), nothing else runs and a file
autolog alone can write is hashed mapped, on every core (`threads=True`). Files anyone else can write are
read in 1 MiB blocks rather than mapped (see `hash_file`). A needed copy is the kernel's, then hashed from
the copy itself (`copy_and_hash`).
A `Fingerprint` (size, mtime, inode) answers "is this still the file I hashed?" without reading it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ALGORITHM = "blake3"
# Read/copy block: 1 MiB stays in the CPU cache between the read, the hash and the write (larger blocks
# measured slower: docs/performance.md, "Design measurements").
COPY_CHUNK = 2**20


def _eighth_of_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 8
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        return 2**30


# Copies up to this size are the kernel's, then hashed from the page cache (see `copy_and_hash`): an
# eighth of the memory, so the copy is still cached when it is hashed.
KERNEL_COPY_LIMIT = _eighth_of_memory()


@dataclass(frozen=True)
class Fingerprint:
    """What a stat says about a file: equal fingerprints mean "unchanged" for all practical purposes."""

    size: int
    mtime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> Fingerprint:
        st = os.stat(path)
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


def hash_file(path: str | os.PathLike[str], *, use_mmap: bool = False, threads: bool = False) -> str:
    """Hex BLAKE3 of one file's bytes.

    It reads rather than maps by default: a file someone else truncates meanwhile (a staged snapshot that
    still shares its inode with the user's file, a checkpoint being overwritten after a load) would kill
    a mapping reader with SIGBUS. `use_mmap=True` only for files autolog alone can write; with it,
    `threads=True` hashes on every core (only while nobody trains: someone is waiting for the hash)."""
    from blake3 import blake3

    hasher = blake3(max_threads=blake3.AUTO) if use_mmap and threads else blake3()
    if os.path.getsize(path) == 0:
        return hasher.hexdigest()
    if use_mmap:
        hasher.update_mmap(os.fspath(path))
        return hasher.hexdigest()
    buffer = bytearray(COPY_CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as fin:
        while True:
            n = fin.readinto(buffer)
            if not n:
                break
            hasher.update(view[:n])
    return hasher.hexdigest()


def member_files(root: str | os.PathLike[str], *, follow_links_out: bool = False) -> list[tuple[str, Path]]:
    """(relative posix path, absolute path) of every regular file under a directory, sorted.

    A symbolic link is followed only when its target lies inside `root` (the member's path is then the
    target's): a link to a file or folder outside is skipped with one warning naming it, so uploading a
    folder never uploads `~/.ssh/id_rsa` because a link pointed there. Folder links are walked once each.
    `follow_links_out=True` (hashing what a load read, nothing leaves the machine) follows every link
    that resolves, silently: a Hugging Face cache snapshot is all links into `../../blobs`.
    """
    root = Path(root)
    real_root = os.path.realpath(root)
    found: list[tuple[str, Path]] = []
    walked = {real_root}
    stack = [(os.fspath(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            continue  # unreadable folder: skipped, as os.walk does
        for entry in entries:
            rel = prefix + entry.name
            if not entry.is_symlink():
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, rel + "/"))
                elif entry.is_file(follow_symlinks=False):  # not a fifo or socket: reading those would block
                    found.append((rel, Path(entry.path)))
                continue
            target = os.path.realpath(entry.path)
            if not os.path.exists(target) or not (follow_links_out or _inside(target, real_root)):
                if not follow_links_out:
                    _warn_link(Path(entry.path), target)
            elif os.path.isdir(target):
                if target not in walked and not _inside(real_root, target):
                    walked.add(target)
                    stack.append((target, rel + "/"))
            elif os.path.isfile(target):
                found.append((rel, Path(target)))
    return sorted(found)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


_warned_links: set[str] = set()


def _warn_link(link: Path, target: str) -> None:
    if str(link) in _warned_links:
        return
    _warned_links.add(str(link))
    from ..system.log import logger

    logger.warning(
        "autolog: skipped the symbolic link %s: it points outside the folder (to %s) or nowhere, "
        "and autolog never follows links out of what it uploads",
        link,
        target,
    )


def hash_members(members: Iterable[tuple[str, str | os.PathLike[str]]], *, use_mmap: bool = False) -> str:
    """Hash of a set of named files: BLAKE3 over sorted "name\\0filehash\\n" lines."""
    from blake3 import blake3

    hasher = blake3()
    for name, path in sorted(members, key=lambda m: m[0]):
        hasher.update(f"{name}\0{hash_file(path, use_mmap=use_mmap)}\n".encode())
    return hasher.hexdigest()


def hash_path(path: str | os.PathLike[str], *, follow_links_out: bool = False, use_mmap: bool = False) -> str:
    """Hash of a file, or of a directory's files (see `hash_members`; links as in `member_files`)."""
    if os.path.isdir(path):
        return hash_members(member_files(path, follow_links_out=follow_links_out), use_mmap=use_mmap)
    return hash_file(path, use_mmap=use_mmap)


def copy_and_hash(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, threads: bool = False) -> str:
    """Copy one file and return the BLAKE3 of the copy: exactly the bytes stored, so a copy and its
    recorded hash cannot disagree.

    Up to KERNEL_COPY_LIMIT the kernel copies (`shutil.copyfile`: sendfile, no byte passes through Python)
    and the copy is then hashed from the page cache it was just written to (mapped, on every core, with
    `threads`: the copy is autolog's alone). Right after a burst of saves the kernel's copy keeps its speed,
    where a Python loop that hashes each block between its read and its write has its writes throttled by
    the writeback of the saves before it (docs/performance.md, "Design measurements"). Larger files (that
    the page cache may not hold until the hash) are copied and hashed block by block in one read."""
    if os.path.getsize(src) <= KERNEL_COPY_LIMIT:
        import shutil

        shutil.copyfile(src, dst)
        return hash_file(dst, use_mmap=threads, threads=threads)
    return _copy_and_hash_blocks(src, dst)


def _copy_and_hash_blocks(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> str:
    """One read of the source: each 1 MiB block is hashed between its read and its write."""
    from blake3 import blake3

    hasher = blake3()
    buffer = bytearray(COPY_CHUNK)
    view = memoryview(buffer)
    with open(src, "rb", buffering=0) as fin, open(dst, "wb", buffering=0) as fout:
        while True:
            n = fin.readinto(buffer)
            if not n:
                break
            chunk = view[:n]
            hasher.update(chunk)
            written = 0
            while written < n:
                written += fout.write(chunk[written:])
    return hasher.hexdigest()


def members_digest(file_hashes: Iterable[tuple[str, str]]) -> str:
    """The directory hash (`hash_members`) from (relative name, file hash) pairs already computed."""
    from blake3 import blake3

    hasher = blake3()
    for name, digest in sorted(file_hashes, key=lambda m: m[0]):
        hasher.update(f"{name}\0{digest}\n".encode())
    return hasher.hexdigest()


def size_of(path: str | os.PathLike[str]) -> int:
    """Bytes in a file, or in all files under a directory."""
    if os.path.isdir(path):
        return sum(full.stat().st_size for _rel, full in member_files(path))
    return os.path.getsize(path)
