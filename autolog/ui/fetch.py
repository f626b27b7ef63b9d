"""Verified local copies of stored models and artifacts, found by id only.

A request names a model or an artifact by its id; the store says where its bytes are. They come through
the download cache, which checks them against the recorded hash before anything is served or previewed,
so a corrupt or swapped copy is an error page, never a silent wrong file. Nothing in a URL ever becomes a
path. An artifact comes back as the file that was stored (a folder artifact as its `.zip`, exactly the
uploaded bytes); a model as `Model.get_local_copy()` gives it (a folder for multi-file checkpoints).
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from ..errors import AutologError, IntegrityError, PrunedError

MAX_PREVIEW_BYTES = 256 * 2**20


class Unavailable(AutologError):
    """The bytes cannot be served now (not uploaded yet, upload failed, gone); the message says why."""


def artifact_file(row: dict[str, Any]) -> str:
    """Local path of an artifact's stored file (a folder artifact: its zip), verified against its hash."""
    from ..run.artifact import artifact_from_row
    from ..run.current import get_session

    session = get_session()
    artifact = artifact_from_row(row)
    label = f"artifact {artifact.name!r} of task {artifact.task_id}"
    if artifact.hash is None:
        raise Unavailable(
            f"{label} has no recorded hash yet (upload {artifact.upload_state}"
            f"{': ' + artifact.error if artifact.error else ''})"
        )
    if artifact.uri:
        from ..storage.access import storage_for

        storage, uri = storage_for(artifact.uri), artifact.uri

        def fill(dest: str) -> None:
            storage.get(uri, dest, False)
    elif artifact.staging_path and os.path.isfile(artifact.staging_path):
        staged = artifact.staging_path

        def fill(dest: str) -> None:
            shutil.copyfile(staged, dest)
    else:
        raise Unavailable(
            f"{label} was not uploaded ({artifact.upload_state}"
            f"{': ' + artifact.error if artifact.error else ''}); `autolog sync` retries it"
        )
    try:
        return session.cache.fetch(artifact.hash, artifact.file_name, label, fill)
    except IntegrityError:
        raise
    except (OSError, ValueError) as exc:
        raise Unavailable(f"{label}: cannot read {artifact.uri}: {exc}") from None


def model_path(row: dict[str, Any]) -> str:
    """Local path of a model's bytes (file or folder), verified against its hash."""
    from ..run.model import model_from_row

    model = model_from_row(row)
    if model.hash is None:
        raise Unavailable(f"model {model.id} ({model.name}) is not hashed yet (upload {model.upload_state})")
    try:
        return model.get_local_copy()
    except PrunedError as exc:  # its bytes were freed by a retention rule: say which
        raise Unavailable(str(exc)) from None
    except IntegrityError:
        raise
    except (OSError, ValueError) as exc:
        raise Unavailable(
            f"model {model.id} ({model.name}): cannot read {model.uri or model.local_path}: {exc}"
        ) from None
