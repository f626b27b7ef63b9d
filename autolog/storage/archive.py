"""Extracting a folder artifact's zip without trusting it.

The zip's bytes are checked against the recorded hash before it is opened (by the cache); then every
member is checked before anything is written: no entry may land outside the folder (zip slip), none may be
a symbolic link, and the archive may not hold more files or bytes than the record says it did when it was
made (`ZipLimits`; a zip bomb). The byte cap is enforced again on what is actually written.
"""

from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass

from ..errors import IntegrityError

CHUNK = 1 << 20


@dataclass(frozen=True)
class ZipLimits:
    """What the record says a folder artifact holds; extraction never writes more than that."""

    max_bytes: int | None = None
    max_members: int | None = None


def _checked_members(
    archive: zipfile.ZipFile, root: str, label: str, limits: ZipLimits
) -> list[tuple[zipfile.ZipInfo, str]]:
    """Every member and where it goes, checked before anything is written (zip slip, links, zip bomb)."""
    planned = []
    total = 0
    files = 0
    for info in archive.infolist():
        name = info.filename.replace("\\", "/")
        parts = name.split("/")
        target = os.path.realpath(os.path.join(root, *[p for p in parts if p]))
        if (
            name.startswith("/")
            or (len(parts[0]) == 2 and parts[0][1] == ":")
            or ".." in parts
            or "\0" in name
            or not target.startswith(root + os.sep)
        ):
            raise IntegrityError(
                f"{label}: the archive entry {info.filename!r} would be written outside "
                f"the folder; refusing to extract it (zip slip)"
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise IntegrityError(
                f"{label}: the archive entry {info.filename!r} is a symbolic link; refusing to extract it"
            )
        if not info.is_dir():
            files += 1
            total += info.file_size
        planned.append((info, target))
    if limits.max_members is not None and files > int(limits.max_members):
        raise IntegrityError(
            f"{label}: the archive holds {files} files but {limits.max_members} were recorded; refusing to extract it"
        )
    if limits.max_bytes is not None and total > int(limits.max_bytes):
        raise IntegrityError(
            f"{label}: the archive would extract to {total} bytes but {limits.max_bytes} were "
            f"recorded; refusing to extract it (zip bomb?)"
        )
    return planned


def extract_zip(archive_path: str, dest: str, label: str, limits: ZipLimits = ZipLimits()) -> None:
    """Extract a folder artifact into `dest`, refusing any entry that would land outside it (zip slip), and
    any archive larger than the record says (`limits`, checked on the declared sizes before writing anything
    and again on the bytes actually written)."""
    root = os.path.realpath(dest)
    os.makedirs(root, exist_ok=True)
    budget = None if limits.max_bytes is None else int(limits.max_bytes)
    with zipfile.ZipFile(archive_path) as archive:
        for info, target in _checked_members(archive, root, label, limits):
            if info.is_dir():
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with archive.open(info) as src, open(target, "xb") as out:
                while chunk := src.read(CHUNK):
                    if budget is not None:
                        budget -= len(chunk)
                        if budget < 0:
                            raise IntegrityError(
                                f"{label}: the archive extracts to more bytes than were "
                                f"recorded; refusing to extract it (zip bomb?)"
                            )
                    out.write(chunk)
