"""How each kind of artifact object is written to one file and read back: a registry of `Serializer`s.

`find(obj)` picks the first registered serializer that accepts an object (paths first, pickle last);
`for_type(type)` finds the reader of a stored artifact. numpy, pandas and PIL are recognised by the
module name of the object's class and imported only inside `dump`/`load`, so `import autolog` (and an
upload of a dict) never imports them. A new type is one subclass plus `register(MyType())`:

    class TensorSerializer(Serializer):
        type, suffix = "torch", ".pt"
        def accepts(self, obj): return _is_instance_of(obj, "torch", "Tensor")
        def dump(self, obj, dest): import torch; torch.save(obj, dest); return Written({"shape": list(obj.shape)})
        def load(self, path, preview): import torch; return torch.load(path)

    register(TensorSerializer(), before="pickle")
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .archive import ZipLimits, extract_zip  # noqa: F401 - re-exported: the older import path
from .fingerprint import member_files

CHUNK = 1 << 20


@dataclass(frozen=True)
class Written:
    """What a dump produced besides the file: a preview for `metadata`, and for a folder its tree hash."""

    preview: dict[str, Any] = field(default_factory=dict)
    tree_hash: str | None = None


def _is_instance_of(obj: Any, module: str, name: str) -> bool:
    """isinstance by (top-level module, class name) along the MRO, without importing the module."""
    return any(c.__name__ == name and c.__module__.split(".")[0] == module for c in type(obj).__mro__)


class Serializer:
    """One artifact type: `type` is recorded as `Artifact.type`, `suffix` ends the stored file's name."""

    type: str = ""
    suffix: str = ""

    def accepts(self, obj: Any) -> bool:
        raise NotImplementedError

    def file_name(self, obj: Any, name: str) -> str:
        """Name of the stored file (already a safe path segment)."""
        from .access import safe_segment

        base = safe_segment(name)
        return base if base.endswith(self.suffix) else base + self.suffix

    def dump(self, obj: Any, dest: str) -> Written:
        """Write `obj` to the new file `dest`; raise TypeError when it cannot be written."""
        raise NotImplementedError

    def load(self, path: str, preview: dict[str, Any]) -> Any:
        """The object from the local copy at `path` (what `Artifact.get()` returns); `preview` as dumped."""
        return path

    def describe(self, preview: dict[str, Any]) -> str:
        """One line for listings (`autolog show`)."""
        return self.type


# -- paths ----------------------------------------------------------------------------------------------
def _is_path(obj: Any) -> bool:
    return isinstance(obj, (str, os.PathLike))


class FileSerializer(Serializer):
    type = "file"

    def accepts(self, obj: Any) -> bool:
        return _is_path(obj) and not os.path.isdir(obj)

    def file_name(self, obj: Any, name: str) -> str:
        from .access import safe_segment

        return safe_segment(os.path.basename(os.fspath(obj)))

    def dump(self, obj: Any, dest: str) -> Written:
        # A copy, not a hard link: the user may rewrite the same file right after the upload. It keeps the
        # source's mode (never wider: a 0600 secret stays 0600).
        from ..system.paths import copy_file

        copy_file(os.fspath(obj), dest)
        return Written({"file_name": os.path.basename(os.fspath(obj))})

    def describe(self, preview: dict[str, Any]) -> str:
        return f"file {preview.get('file_name', '')}".strip()


class FolderSerializer(Serializer):
    """A folder as one zip (paths relative to the folder); `load` gives the extracted folder's path."""

    type = "folder"
    suffix = ".zip"

    def accepts(self, obj: Any) -> bool:
        return _is_path(obj) and os.path.isdir(obj)

    def file_name(self, obj: Any, name: str) -> str:
        from .access import safe_segment

        return safe_segment(os.path.basename(os.path.abspath(os.fspath(obj)))) + self.suffix

    def dump(self, obj: Any, dest: str) -> Written:
        from blake3 import blake3

        tree = blake3()
        total = 0
        members = member_files(os.fspath(obj))
        # Level 1: several times faster than the default for a few per cent more bytes (this runs on the
        # caller's thread; folders often hold images or binaries that hardly compress anyway).
        with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for rel, full in members:
                info = zipfile.ZipInfo.from_file(full, rel, strict_timestamps=False)
                info.compress_type = zipfile.ZIP_DEFLATED
                info._compresslevel = 1  # type: ignore[attr-defined]  # private, but what ZipFile.open(info, "w") compresses with (3.10 to 3.13+)
                hasher = blake3()
                # One read per file feeds the archive and the hash of the extracted tree (`hash_members`).
                with open(full, "rb") as src, archive.open(info, "w") as out:
                    while chunk := src.read(CHUNK):
                        hasher.update(chunk)
                        out.write(chunk)
                        total += len(chunk)
                tree.update(f"{rel}\0{hasher.hexdigest()}\n".encode())
        return Written({"files": len(members), "bytes": total}, tree_hash=tree.hexdigest())

    def describe(self, preview: dict[str, Any]) -> str:
        return f"folder, {preview.get('files', '?')} files"


# -- objects ------------------------------------------------------------------------------------------------
class NumpySerializer(Serializer):
    type = "numpy"
    suffix = ".npz"

    def accepts(self, obj: Any) -> bool:
        cls = type(obj)  # exactly ndarray: a subclass (masked array, matrix) would lose what makes it one
        return cls.__module__ == "numpy" and cls.__name__ == "ndarray" and not obj.dtype.hasobject

    def dump(self, obj: Any, dest: str) -> Written:
        import numpy as np

        with open(dest, "wb") as fh:  # uncompressed: this runs on the caller's thread, at memory speed
            np.savez(fh, array=obj)
        return Written({"shape": list(obj.shape), "dtype": str(obj.dtype)})

    def load(self, path: str, preview: dict[str, Any]) -> Any:
        import numpy as np

        with np.load(path, allow_pickle=False) as data:
            return data["array"]

    def describe(self, preview: dict[str, Any]) -> str:
        return f"array {tuple(preview.get('shape', ()))} {preview.get('dtype', '')}".strip()


class PandasSerializer(Serializer):
    """A DataFrame as gzip CSV; a non-default index is written as leading columns and read back as index."""

    type = "pandas"
    suffix = ".csv.gz"
    MAX_COLUMNS = 100

    def accepts(self, obj: Any) -> bool:
        return _is_instance_of(obj, "pandas", "DataFrame")

    def dump(self, obj: Any, dest: str) -> Written:
        import pandas as pd

        default_index = (
            isinstance(obj.index, pd.RangeIndex)
            and obj.index.start == 0
            and obj.index.step == 1
            and obj.index.name is None
        )
        obj.to_csv(dest, index=not default_index, compression={"method": "gzip", "compresslevel": 6, "mtime": 0})
        columns = [str(c) for c in obj.columns]
        preview: dict[str, Any] = {
            "shape": list(obj.shape),
            "columns": columns[: self.MAX_COLUMNS],
            "index_levels": 0 if default_index else obj.index.nlevels,
        }
        if len(columns) > self.MAX_COLUMNS:
            preview["columns_truncated"] = True
        return Written(preview)

    def load(self, path: str, preview: dict[str, Any]) -> Any:
        import pandas as pd

        index_levels = int(preview.get("index_levels") or 0)
        index_col = list(range(index_levels)) if index_levels else None
        return pd.read_csv(path, compression="gzip", index_col=index_col)

    def describe(self, preview: dict[str, Any]) -> str:
        rows, cols = (preview.get("shape") or ["?", "?"])[:2]
        names = ", ".join(preview.get("columns", [])[:8])
        more = ", ..." if len(preview.get("columns", [])) > 8 or preview.get("columns_truncated") else ""
        return f"DataFrame {rows}x{cols} [{names}{more}]"


class ImageSerializer(Serializer):
    """A PIL image: JPEG (quality 95) for RGB/L/CMYK, PNG for alpha, palette and 1-bit, TIFF for I/F/LAB."""

    type = "image"
    suffix = ".jpg"

    FORMATS = {
        **dict.fromkeys(("RGB", "L", "CMYK"), ("JPEG", ".jpg")),
        **dict.fromkeys(("RGBA", "LA", "P", "PA", "1", "I;16"), ("PNG", ".png")),
        **dict.fromkeys(("I", "F", "YCbCr", "LAB", "I;16B", "I;16L"), ("TIFF", ".tiff")),
    }

    def accepts(self, obj: Any) -> bool:  # a mode no format holds (HSV) is pickled instead
        return _is_instance_of(obj, "PIL", "Image") and obj.mode in self.FORMATS

    def _format(self, image: Any) -> tuple[str, str]:
        return self.FORMATS[image.mode]

    def file_name(self, obj: Any, name: str) -> str:
        from .access import safe_segment

        suffix = self._format(obj)[1]
        base = safe_segment(name)
        return base if base.lower().endswith(suffix) else base + suffix

    def dump(self, obj: Any, dest: str) -> Written:
        fmt, _suffix = self._format(obj)
        options = {"quality": 95} if fmt == "JPEG" else {}
        try:
            obj.save(dest, format=fmt, **options)
        except (OSError, ValueError, KeyError) as exc:
            raise TypeError(f"cannot store a PIL image of mode {obj.mode!r} as {fmt}: {exc}") from None
        return Written({"size": list(obj.size), "mode": obj.mode, "format": fmt})

    def load(self, path: str, preview: dict[str, Any]) -> Any:
        from PIL import Image

        image = Image.open(path)
        image.load()
        return image

    def describe(self, preview: dict[str, Any]) -> str:
        width, height = (preview.get("size") or ["?", "?"])[:2]
        return f"image {width}x{height} {preview.get('mode', '')}".strip()


class JsonSerializer(Serializer):
    """A plain dict or list that survives a JSON round trip unchanged (else it is pickled)."""

    type = "json"
    suffix = ".json"

    def accepts(self, obj: Any) -> bool:
        if type(obj) not in (dict, list):
            return False
        try:
            return bool(json.loads(json.dumps(obj, allow_nan=False)) == obj)
        except (TypeError, ValueError, RecursionError):
            return False

    def dump(self, obj: Any, dest: str) -> Written:
        with open(dest, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, allow_nan=False, ensure_ascii=False)
        if isinstance(obj, dict):
            return Written({"kind": "dict", "length": len(obj), "keys": [str(k) for k in list(obj)[:20]]})
        return Written({"kind": "list", "length": len(obj)})

    def load(self, path: str, preview: dict[str, Any]) -> Any:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)

    def describe(self, preview: dict[str, Any]) -> str:
        if preview.get("kind") == "dict":
            return f"json dict, {preview.get('length')} keys: {', '.join(preview.get('keys', [])[:8])}"
        return f"json list, {preview.get('length')} items"


class PickleSerializer(Serializer):
    """Anything else. Reading it back runs code from the file, so `get()` needs `allow_pickle` on."""

    type = "pickle"
    suffix = ".pkl"

    def accepts(self, obj: Any) -> bool:
        return True

    def dump(self, obj: Any, dest: str) -> Written:
        try:
            with open(dest, "wb") as fh:
                pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as exc:
            cls = type(obj)
            raise TypeError(
                f"cannot store an object of type {cls.__module__}.{cls.__qualname__} as an artifact: "
                f"it is not a path, array, DataFrame, image or JSON value, and pickle fails on it "
                f"({exc})"
            ) from None
        cls = type(obj)
        return Written({"class": f"{cls.__module__}.{cls.__qualname__}"})

    def load(self, path: str, preview: dict[str, Any]) -> Any:
        with open(path, "rb") as fh:
            return pickle.load(fh)  # noqa: S301 - gated by allow_pickle in Artifact.get

    def describe(self, preview: dict[str, Any]) -> str:
        return f"pickle {preview.get('class', '')}".strip()


_REGISTRY: list[Serializer] = [
    FolderSerializer(),
    FileSerializer(),
    NumpySerializer(),
    PandasSerializer(),
    ImageSerializer(),
    JsonSerializer(),
    PickleSerializer(),
]


def register(serializer: Serializer, *, before: str = "pickle") -> None:
    """Add a serializer, tried before the one of type `before` (pickle accepts everything, so it stays last)."""
    types = [s.type for s in _REGISTRY]
    if serializer.type in types:
        _REGISTRY.pop(types.index(serializer.type))
        types.remove(serializer.type)
    _REGISTRY.insert(types.index(before) if before in types else len(_REGISTRY), serializer)


def find(obj: Any) -> Serializer:
    """The serializer for an object about to be uploaded."""
    return next(s for s in _REGISTRY if s.accepts(obj))


def for_type(type_name: str) -> Serializer:
    """The serializer that reads a stored artifact of this type."""
    for serializer in _REGISTRY:
        if serializer.type == type_name:
            return serializer
    raise ValueError(f"unknown artifact type {type_name!r} (known: {', '.join(s.type for s in _REGISTRY)})")


def stored_suffix(file_name: str) -> str:
    """The suffix the remote copy keeps: `.csv`, and a compressed one with its inner suffix (`.csv.gz`)."""
    suffixes = Path(file_name).suffixes
    if not suffixes:
        return ""
    keep = suffixes[-2:] if len(suffixes) > 1 and suffixes[-1] in (".gz", ".bz2", ".xz", ".zst") else suffixes[-1:]
    return "".join(s for s in keep if len(s) <= 12)
