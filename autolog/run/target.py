"""`Target`: what a hook saw a framework save or load on local disk (re-exported by `autolog.capture.recording`).

Its own module so that `task` can build one without importing the hooks' surface (`recording`), which
imports `lifecycle`, which imports `task`: the core's imports go one way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Target:
    """A saved or loaded model on local disk.

    `path` is absolute: a file, a directory, or a prefix (TF checkpoints) whose member files are given
    in `files`. `from_open_file` marks a save made into an open file object, whose path may be reused
    by the user before we can hard-link it, so its bytes are copied at once. `single_link` marks files the
    framework refuses to read while they have a second hard link (ONNX external data: "a potential hardlink
    attack"): a save of them is copied at once, and a load is hashed where it is, never linked.
    """

    path: str
    files: tuple[str, ...] | None = None
    from_open_file: bool = False
    single_link: bool = False
    file_object: Any = field(default=None, compare=False, repr=False)
    # A save into an fsspec transaction writes a temporary file (`path`) that becomes `final_path` on commit:
    # the snapshot is named and recorded after the final path, its bytes staged from the temporary file.
    final_path: str | None = None
