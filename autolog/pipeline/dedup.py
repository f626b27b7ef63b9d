"""Content dedup: placing a snapshot's bytes in its output store once per distinct content.

The uploader's "put bytes" step calls `place` (remote stores) or `place_local` (a local folder, copied and
hashed in one pass) instead of copying to the snapshot's own path. Each file (a file snapshot, or each member
of a folder snapshot) is looked up by its BLAKE3 under the same output_uri root: a stored copy gets one more
reference in the store and nothing moves; otherwise the bytes go to a new content-addressed object
(`autolog.storage.objects`) recorded with one reference. A folder snapshot adds a manifest object naming its
members. The reference is counted before the snapshot is marked durable, so a collector never deletes bytes
that a recorded snapshot needs (`autolog.store.refs` has the protocol). Only model snapshots are deduplicated;
artifacts keep their own paths.
"""

from __future__ import annotations

import os
import uuid

from ..storage.access import Storage
from ..storage.fingerprint import hash_file, member_files, members_digest
from ..storage.objects import is_object_uri, manifest, new_key, object_uri, put_bytes
from ..store.client import Store


def root_of(dest_uri: str) -> str:
    """The output store root of a snapshot's destination `<root>/<project>/<task>.<id>/models/<seq>_<name>`
    (`autolog.run.layout`; each segment is one path segment, so the root is four segments up)."""
    return dest_uri.rsplit("/", 4)[0]


def place(store: Store, storage: Storage, model_id: str, staged: str, dest_uri: str, digest: str | None) -> str:
    """Store a staged snapshot (file or folder) by content under `dest_uri`'s root; the URI its record keeps."""
    root = root_of(dest_uri)
    if not os.path.isdir(staged):
        key = _place_file(store, storage, root, model_id, "", staged, digest or hash_file(staged))
        return object_uri(root, key)
    members = []
    for rel, full in member_files(staged):
        member_digest = hash_file(full)
        key = _place_file(store, storage, root, model_id, rel, str(full), member_digest)
        members.append({"name": rel, "hash": member_digest, "size": os.path.getsize(full), "key": key})
    return _place_manifest(store, storage, root, model_id, members)


def place_local(
    store: Store, storage: Storage, model_id: str, staged: str, dest_uri: str, *, threads: bool = False
) -> tuple[str, str]:
    """`place` for a local output folder: each file is copied (or hard-linked, `Storage.put_hashed`) and hashed
    in one pass into a temporary name, then renamed to its object, or dropped when a stored copy exists.
    Returns (the snapshot's content hash, the URI its record keeps)."""
    root = root_of(dest_uri)
    if not os.path.isdir(staged):
        digest, key = _adopt_local(store, storage, root, model_id, "", staged, threads)
        return digest, object_uri(root, key)
    members, hashes = [], []
    for rel, full in member_files(staged):
        member_digest, key = _adopt_local(store, storage, root, model_id, rel, str(full), threads)
        hashes.append((rel, member_digest))
        members.append({"name": rel, "hash": member_digest, "size": os.path.getsize(full), "key": key})
    return members_digest(hashes), _place_manifest(store, storage, root, model_id, members)


def undo(store: Store, storage: Storage, model_id: str, uri: str) -> None:
    """A placed snapshot turned out not to hold the bytes it was hashed as (`lost`): drop its references (a
    collector frees what nobody else needs); a copy at its own path (dedup off) is removed."""
    if is_object_uri(uri):
        store.refs_write("release", model_id)
    else:
        storage.remove(uri)


def _place_file(store: Store, storage: Storage, root: str, model_id: str, member: str, path: str, digest: str) -> str:
    key: str | None = store.refs_write("ref_stored", root, digest, model_id, member)
    if key is not None:
        return key
    key = new_key(digest)
    storage.put(path, object_uri(root, key))
    store.refs_write("add_stored", root, key, digest, os.path.getsize(path), model_id, member)
    return key


def _adopt_local(
    store: Store, storage: Storage, root: str, model_id: str, member: str, path: str, threads: bool
) -> tuple[str, str]:
    temporary = object_uri(root, f"tmp/{uuid.uuid4().hex}")
    digest = storage.put_hashed(path, temporary, staged=True, threads=threads)
    key: str | None = store.refs_write("ref_stored", root, digest, model_id, member)
    if key is not None:
        storage.remove(temporary)
        return digest, key
    key = new_key(digest)
    final = storage._path(object_uri(root, key))
    os.makedirs(os.path.dirname(final), exist_ok=True)
    os.rename(storage._path(temporary), final)
    store.refs_write("add_stored", root, key, digest, os.path.getsize(final), model_id, member)
    return digest, key


def _place_manifest(store: Store, storage: Storage, root: str, model_id: str, members: list[dict[str, object]]) -> str:
    from blake3 import blake3

    data = manifest(members)
    digest = blake3(data).hexdigest()
    key: str | None = store.refs_write("ref_stored", root, digest, model_id, "")
    if key is None:
        key = new_key(digest)
        put_bytes(storage, data, object_uri(root, key))
        store.refs_write("add_stored", root, key, digest, len(data), model_id, "")
    return object_uri(root, key)
