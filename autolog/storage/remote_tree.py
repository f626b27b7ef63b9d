"""The content hash of a folder a framework wrote to object storage itself (DCP's fsspec writer to `s3://...`).

Each rank wrote its own shard there, so no one process ever held all the bytes in memory: the folder is read
back once, member by member, to compute the same hash `hash_path` gives the folder once downloaded (BLAKE3 over
sorted "relative name\\0file hash" lines). A later `get_local_copy()` of the snapshot then checks the download
against it like any other folder. Reading back is the price of not copying the bytes a second time.
"""

from __future__ import annotations

from .access import storage_for
from .fingerprint import COPY_CHUNK, members_digest


def hash_remote_tree(uri: str) -> tuple[str, int, tuple[str, ...]]:
    """(hash, total size, member names) of every object under the folder `uri`, read once."""
    from blake3 import blake3

    storage = storage_for(uri)
    root = storage._path(uri).rstrip("/")
    hashes: list[tuple[str, str]] = []
    total = 0
    for remote in sorted(storage.fs.find(root)):
        rel = remote[len(root) + 1 :]
        hasher = blake3()
        with storage.fs.open(remote, "rb") as f:
            while chunk := f.read(COPY_CHUNK * 8):
                hasher.update(chunk)
                total += len(chunk)
        hashes.append((rel, hasher.hexdigest()))
    return members_digest(hashes), total, tuple(rel for rel, _ in hashes)
