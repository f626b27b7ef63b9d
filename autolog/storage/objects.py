"""Content-addressed objects below an output store's root: where deduplicated snapshot bytes live.

`<root>/.autolog/objects/<hash[:2]>/<hash>.<tag>`: one object per stored copy of some content (BLAKE3 `hash`;
`tag` tells apart the rare second copy two writers uploaded at the same moment). A file snapshot is one object;
a folder snapshot is one object per file plus a manifest object (JSON: each member's name, hash, size and
object key) that its record's `uri` points at. Which snapshots reference which object is counted in the store
(`autolog.store.refs`); this module only names, writes, reads and deletes bytes. `autolog materialize` lays
kept snapshots out again as `<project>/<task>.<id>/models/<seq>_<name>` for people (`docs/storage.md`).
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

from .access import Storage, join

PREFIX = ".autolog/objects"
MANIFEST_KIND = "autolog-folder-snapshot"


def new_key(digest: str) -> str:
    """A fresh object name for a copy of `digest` (under its two-character fan-out folder)."""
    return f"{digest[:2]}/{digest}.{uuid.uuid4().hex[:8]}"


def object_uri(root: str, key: str) -> str:
    return join(root, PREFIX, key)


def is_object_uri(uri: str | None) -> bool:
    return bool(uri) and f"/{PREFIX}/" in str(uri)


def manifest(members: list[dict[str, Any]]) -> bytes:
    """The bytes of a folder snapshot's manifest: members sorted by name, each {name, hash, size, key}."""
    ordered = sorted(members, key=lambda m: m["name"])
    return json.dumps({"kind": MANIFEST_KIND, "members": ordered}, sort_keys=True).encode()


def read_manifest(storage: Storage, uri: str) -> list[dict[str, Any]]:
    with storage.fs.open(storage._path(uri), "rb") as f:
        data = json.loads(f.read())
    if not isinstance(data, dict) or data.get("kind") != MANIFEST_KIND:
        raise ValueError(f"{uri} is not an autolog folder manifest")
    members: list[dict[str, Any]] = data["members"]
    return members


def fetch(storage: Storage, root: str, uri: str, dest: str, is_dir: bool) -> None:
    """Download an object (a file snapshot) or a manifest's members (a folder snapshot) to `dest`.

    The caller checks the result against the recorded hash (`Cache.fetch`), as for any download."""
    from ..system.paths import file_segment, is_plain_segment

    if not is_dir:
        storage.get(uri, dest, False)
        return
    os.makedirs(dest, exist_ok=True)
    real = os.path.realpath(dest)
    for member in read_manifest(storage, uri):
        # a member keeps its own name (`.metadata` of a DCP checkpoint is hidden, and must stay so); only a
        # segment that is not one harmless name (`..`, a NUL) is made safe; the folder check below holds anyway
        parts = [p if is_plain_segment(p) else file_segment(p) for p in str(member["name"]).split("/")]
        target = os.path.join(dest, *parts)
        if not os.path.realpath(target).startswith(real + os.sep):
            raise ValueError(f"refusing to write {member['name']!r} outside {dest}")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        storage.get(object_uri(root, member["key"]), target, False)


def put_bytes(storage: Storage, data: bytes, uri: str) -> None:
    """Write a small object (a manifest): one PUT on object stores, write-and-rename on file systems."""
    path = storage._path(uri)
    if storage.local:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        part = f"{path}.part-{uuid.uuid4().hex[:8]}"
        with open(part, "wb") as f:
            f.write(data)
        os.replace(part, path)
        return
    storage.fs.pipe_file(path, data)


def delete(storage: Storage, uri: str) -> None:
    """Delete one object; one already gone is fine (a collector killed after deleting, before recording)."""
    path = storage._path(uri)
    if storage.local:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return
    try:
        storage.fs.rm_file(path)
    except FileNotFoundError:
        pass
    storage.fs.invalidate_cache(os.path.dirname(path))


def delete_many(storage: Storage, uris: list[str]) -> None:
    """Delete objects of one store: one bulk request per 1,000 on object stores (S3 DeleteObjects)."""
    if storage.local or len(uris) == 1:
        for uri in uris:
            delete(storage, uri)
        return
    paths = [storage._path(uri) for uri in uris]
    for start in range(0, len(paths), 1000):
        try:
            storage.fs.rm(paths[start : start + 1000])
        except FileNotFoundError:
            for path in paths[start : start + 1000]:
                delete(storage, path)
    storage.fs.invalidate_cache()


def listing(storage: Storage, root: str) -> dict[str, float]:
    """Every object name stored under `root` (temporary ones included) -> its modification time in seconds
    (0 where the store does not say)."""
    base = storage._path(join(root, PREFIX)).rstrip("/")
    found: dict[str, float] = {}
    try:
        storage.fs.invalidate_cache(base)
        details = storage.fs.find(base, detail=True)
    except FileNotFoundError:
        return found
    for path, info in details.items():
        if not path.startswith(base + "/"):
            continue
        when = info.get("mtime") or info.get("LastModified") or info.get("created") or 0
        found[path[len(base) + 1 :]] = when.timestamp() if hasattr(when, "timestamp") else float(when or 0)
    return found
