"""Artifact previews, made on the server from the verified stored bytes.

| type | preview |
| --- | --- |
| pandas | the first rows of the gzip CSV (read with the csv module: no pandas needed) |
| numpy | shape, dtype, min and max (`np.load(allow_pickle=False)`) |
| image, or an image file | a thumbnail PNG made with Pillow |
| json | pretty-printed, the first lines |
| file | the head of a text or CSV file; binary files get none |
| folder | the member list of the stored zip (its central directory; nothing extracted) |
| pickle | **never opened**: type, size and hash only, since unpickling runs code from the file |

Each preview is a dict a template renders; a failure to read becomes `{"error": ...}`, never a traceback.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import zipfile
from typing import Any

from .fetch import MAX_PREVIEW_BYTES, artifact_file

ROWS = 20
LINES = 60
HEAD_BYTES = 64 * 1024
THUMBNAIL = (320, 320)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff")
TEXT_SUFFIXES = (
    ".txt",
    ".csv",
    ".tsv",
    ".log",
    ".md",
    ".json",
    ".yaml",
    ".yml",
    ".toml",
    ".ini",
    ".cfg",
    ".py",
    ".jsonl",
    ".xml",
    ".html",
    ".sh",
)


def preview(row: dict[str, Any]) -> dict[str, Any]:
    """What the artifact page shows about this artifact's content."""
    kind = row["type"]
    if kind == "pickle":  # the one rule that must never bend
        return {"kind": "pickle", "note": "a pickle is never unpickled here: loading it runs code from the file"}
    if row["size"] is not None and row["size"] > MAX_PREVIEW_BYTES:
        return {"kind": "none", "note": f"too large to preview ({row['size']} bytes); download it instead"}
    try:
        path = artifact_file(row)
        name = row["file_name"].lower()
        if kind == "pandas":
            return _table(gzip.open(path, "rt", encoding="utf-8", errors="replace", newline=""))
        if kind == "numpy":
            return _array(path)
        if kind == "json":
            return _json(path)
        if kind == "folder":
            return _members(path)
        if kind == "image" or name.endswith(IMAGE_SUFFIXES):
            return {"kind": "image"}
        if kind == "file":
            return _text(path, name)
        return {"kind": "none", "note": f"no preview for type {kind!r}"}
    except Exception as exc:  # noqa: BLE001 - any unreadable content is shown as such
        return {"kind": "error", "error": f"{type(exc).__name__}: {exc}"}


def _table(stream: Any, head: int = ROWS) -> dict[str, Any]:
    with stream:
        reader = csv.reader(stream)
        header = next(reader, [])
        rows = [r for _n, r in zip(range(head), reader, strict=False)]
    return {"kind": "table", "columns": header, "rows": rows, "shown": len(rows)}


def _array(path: str) -> dict[str, Any]:
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        array = data["array"]
    info: dict[str, Any] = {"kind": "array", "shape": list(array.shape), "dtype": str(array.dtype)}
    if array.size and (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        info["min"], info["max"] = array.min().item(), array.max().item()
    info["first"] = np.array2string(array.reshape(-1)[:10], threshold=10, precision=4)
    return info


def _json(path: str) -> dict[str, Any]:
    if os.path.getsize(path) > 4 * 2**20:
        return _text(path, "x.json")
    with open(path, encoding="utf-8") as fh:
        text = json.dumps(json.load(fh), indent=2, ensure_ascii=False)
    lines = text.splitlines()
    return {"kind": "text", "text": "\n".join(lines[: LINES * 4]), "truncated": len(lines) > LINES * 4}


def _members(path: str) -> dict[str, Any]:
    with zipfile.ZipFile(path) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
    return {
        "kind": "members",
        "members": [(info.filename, info.file_size) for info in infos[:500]],
        "total": len(infos),
    }


def _text(path: str, name: str) -> dict[str, Any]:
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    if b"\0" in head and not name.endswith(TEXT_SUFFIXES):
        return {"kind": "none", "note": "binary file: no preview"}
    text = head.decode("utf-8", errors="replace")
    lines = text.splitlines()
    truncated = os.path.getsize(path) > HEAD_BYTES or len(lines) > LINES
    if name.endswith((".csv", ".tsv")):
        table = _table(io.StringIO("\n".join(lines[:-1] if truncated else lines)), LINES)
        table["truncated"] = truncated
        return table
    return {"kind": "text", "text": "\n".join(lines[:LINES]), "truncated": truncated}


def thumbnail(row: dict[str, Any]) -> bytes:
    """A PNG thumbnail of an image artifact (Pillow), made from the verified stored file."""
    from PIL import Image

    with Image.open(artifact_file(row)) as image:
        image.thumbnail(THUMBNAIL)
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA")
        out = io.BytesIO()
        image.save(out, format="PNG")
    return out.getvalue()
