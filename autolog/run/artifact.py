"""`Artifact`: a task's stored output product (a file, a folder or a Python object), fetched back anywhere.

`upload_artifact` serializes synchronously into the staging area (so a missing path or an object that
cannot be written raises at once, with nothing recorded), records the row, and hands the file to the
recorder and uploader like a model snapshot: hashed in the background, then copied to
`{output_uri or the home's local store}/{project}/{task}.{id}/artifacts/{seq}_{name}{suffix}`.
The artifact name is free text; only its `safe_segment` ever reaches a path (`autolog.run.layout`). Fetching goes
through the content-addressed cache, so every byte is checked against the recorded hash.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import AutologError, IntegrityError, NotFoundError, PickleNotAllowedError
from ..pipeline.recorder import SnapshotJob
from ..storage import serializers
from ..storage.archive import ZipLimits, extract_zip
from ..system.host import host_name
from ..system.paths import copy_file
from .layout import artifact_uri
from .model import _when

if TYPE_CHECKING:
    from ..pipeline.session import Session
    from .task import Task

PREVIEW_KEY = "preview"


@dataclass(frozen=True)
class Artifact:
    """One stored artifact: `name`, `type` (`file` `folder` `numpy` `pandas` `image` `json` `pickle`), `uri`,
    `size`, `hash`, `metadata`, `task_id`, `created`. `metadata` holds the user's keys and autolog's
    `preview`. `get_local_copy()` gives a checked local path, `get()` the Python object
    (see `Task.upload_artifact` for which object each type comes back as)."""

    name: str
    type: str
    uri: str | None
    size: int | None
    hash: str | None
    metadata: dict[str, Any] = field(repr=False)
    task_id: str = field(repr=False)
    created: datetime | None = field(repr=False)
    id: str = field(default="", repr=False)
    file_name: str = field(default="", repr=False)
    upload_state: str = field(default="done", repr=False)
    tree_hash: str | None = field(default=None, repr=False)
    staging_path: str | None = field(default=None, repr=False)
    error: str | None = field(default=None, repr=False)

    @classmethod
    def _from_row(cls, row: dict[str, Any]) -> Artifact:
        return cls(
            name=row["name"],
            type=row["type"],
            uri=row["uri"],
            size=row["size"],
            hash=row["hash"],
            metadata=json.loads(row["metadata"] or "{}"),
            task_id=row["task_id"],
            created=_when(row["created"]),
            id=row["id"],
            file_name=row["file_name"],
            upload_state=row["upload_state"],
            tree_hash=row.get("tree_hash"),
            staging_path=row.get("staging_path"),
            error=row.get("error"),
        )

    @property
    def _preview(self) -> dict[str, Any]:
        """What autolog noted about the content (`metadata["preview"]`): shape/dtype, columns, size/mode, files."""
        return dict(self.metadata.get(PREVIEW_KEY) or {})

    def preview(self) -> str:
        """One line for listings, e.g. `array (3, 4) float64` or `DataFrame 100x3 [a, b, c]`."""
        try:
            return serializers.for_type(self.type).describe(self._preview)
        except ValueError:
            return self.type

    @property
    def _label(self) -> str:
        return f"artifact {self.name!r} of task {self.task_id}"

    @staticmethod
    def _session() -> Session:
        from .current import get_session

        return get_session()

    def _settled(self, session: Session) -> Artifact:
        """This artifact as recorded now, after this process's pending hashing/uploads finished."""
        if self.upload_state == "done" and self.hash is not None:
            return self
        session.flush()
        row = session.store.get("artifacts", self.id)
        if row is None:
            from ..system.redact import redact

            raise NotFoundError(f"{self._label} is not in the store at {redact(session.settings.tracking_uri)}")
        return Artifact._from_row(row)

    @property
    def consumers(self) -> list[Task]:
        """Tasks that fetched this artifact (`get()` / `get_local_copy()`), in the order they first did."""
        from .artifact_inputs import consumers

        return consumers(self)

    def get_local_copy(self) -> str:
        """A local path holding exactly the recorded bytes (a folder artifact comes back extracted).

        Downloaded into the cache once and reused; raises `IntegrityError` naming the artifact when the
        stored bytes do not match the recorded hash. Fetched under another task's run, the artifact becomes
        an input of that task (`autolog.run.artifact_inputs`).
        """
        path = self._local_copy()
        from .artifact_inputs import note_fetch

        note_fetch(self)
        return path

    def _local_copy(self) -> str:
        session = self._session()
        current = self._settled(session)
        label = self._label
        if current.hash is None:
            raise IntegrityError(
                f"{label}: its content was never hashed ({current.upload_state}); "
                f"run `autolog sync` on the machine that uploaded it"
            )
        digest = current.hash
        if current.uri:
            from ..storage.access import storage_for

            storage, uri = storage_for(current.uri), current.uri

            def fill(dest: str) -> None:
                storage.get(uri, dest, False)
        elif current.staging_path and os.path.isfile(current.staging_path):
            staged = current.staging_path  # not uploaded yet, but its bytes are on this machine

            def fill(dest: str) -> None:
                copy_file(staged, dest)
        else:
            raise AutologError(
                f"{label}: not uploaded ({current.upload_state}"
                f"{': ' + current.error if current.error else ''}); run `autolog sync` on "
                f"the machine that uploaded it"
            )
        cache = session.cache
        if current.type != "folder":
            return cache.fetch(current.hash, current.file_name, label, fill)
        if not current.tree_hash:
            raise IntegrityError(f"{label}: no hash of the extracted folder was recorded")
        folder_name = current.file_name[:-4] if current.file_name.endswith(".zip") else current.file_name + ".d"

        preview = current._preview
        limits = ZipLimits(max_bytes=preview.get("bytes"), max_members=preview.get("files"))

        def extract(dest: str) -> None:
            # The zip's own hash is checked by this fetch before a single member is extracted.
            archive = cache.fetch(digest, current.file_name, label, fill)
            extract_zip(archive, dest, label, limits)

        return cache.fetch(current.tree_hash, folder_name, label, extract)

    def get(self) -> Any:
        """The stored object: a path for files and folders, else the deserialized object (the table in
        `Task.upload_artifact`)."""
        serializer = serializers.for_type(self.type)
        if self.type == "pickle":
            from ..config import config_file_path, load_settings

            if not load_settings().allow_pickle:
                raise PickleNotAllowedError(
                    f"{self._label} is a pickle, and unpickling runs code from the file; allow_pickle is off. "
                    f"To load it, set `allow_pickle = true` in {config_file_path()} or AUTOLOG_ALLOW_PICKLE=1 "
                    f"(or read the raw file from get_local_copy())"
                )
        return serializer.load(self.get_local_copy(), self._preview)


def artifact_from_row(row: dict[str, Any]) -> Artifact:
    """A stored `artifacts` row as an `Artifact` (for `task`, the CLI and the UI)."""
    return Artifact._from_row(row)


# -- recording ---------------------------------------------------------------------------------------------
def _check_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping, got {type(metadata).__name__}")
    values = dict(metadata)
    if PREVIEW_KEY in values:
        raise ValueError(f"metadata key {PREVIEW_KEY!r} is reserved for autolog's preview of the content")
    try:
        json.dumps(values, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadata must hold JSON values (str keys, numbers, strings, lists, dicts): {exc}") from None
    return values


def upload_artifact(
    task: Task, name: str, obj: Any, *, metadata: Mapping[str, Any] | None = None, wait: bool = False
) -> Artifact:
    """`task.upload_artifact(name, obj, metadata=..., wait=...)`: the usage is in `Task.upload_artifact`."""
    from ..system.paths import check_display_name

    check_display_name("artifact name", name)  # free text, but not empty, no NUL and bounded
    user_metadata = _check_metadata(metadata)
    if isinstance(obj, (str, os.PathLike)):
        path = os.path.abspath(os.fspath(obj))
        if not os.path.exists(path):
            raise FileNotFoundError(errno.ENOENT, f"upload_artifact({name!r}): no such file or folder", path)
        obj = path
    serializer = serializers.find(obj)
    session = task.session
    artifact_id = uuid.uuid4().hex
    folder = session.staging.root / artifact_id
    folder.mkdir(parents=True)
    file_name = serializer.file_name(obj, name)
    staged = str(folder / file_name)
    try:
        written = serializer.dump(obj, staged)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    seq = task.next_artifact_number()
    dest = artifact_uri(task.artifact_folder(), seq, name, file_name)
    row = {
        "id": artifact_id,
        "task_id": task.id,
        "seq": seq,
        "name": name,
        "type": serializer.type,
        "file_name": file_name,
        "uri": None,
        "size": None,
        "hash": None,
        "metadata": json.dumps({**user_metadata, PREVIEW_KEY: written.preview}),
        "created": time.time(),
        "replaced": False,
        "upload_state": "pending",
        "staging_path": staged,
        "dest_uri": dest,
        "owner_host": host_name(),
        "owner_pid": os.getpid(),
        "error": None,
        "tree_hash": written.tree_hash,
    }
    recorded = session.store.queue_replace_artifact(row)
    session.recorder.snapshot(SnapshotJob("artifacts", artifact_id, staged, dest))
    if not wait:
        return Artifact._from_row(row)
    recorded.result()
    session.flush()
    final = session.store.get("artifacts", artifact_id) or row
    if final["upload_state"] != "done":
        raise AutologError(
            f"artifact {name!r} of task {task.id}: upload to {dest} failed: {final['error']}; the "
            f"bytes stay staged and `autolog sync` retries it"
        )
    return Artifact._from_row(final)


def task_artifacts(task: Task) -> dict[str, Artifact]:
    """name -> Artifact in upload order; a re-upload takes its name's place with the newer artifact."""
    rows = task.session.store.select("artifacts", {"task_id": task.id}, order_by=("seq",))
    found: dict[str, Artifact] = {}
    for row in rows:
        if not row["replaced"] or row["name"] not in found:
            found[row["name"]] = Artifact._from_row(row)
    return found
