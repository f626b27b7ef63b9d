"""Where a saved file went when it was renamed or atomically replaced into place right after the save.

timm's `CheckpointSaver` saves to `tmp.pth.tar` and then `os.rename`s it to its final name; many training
scripts write `x.tmp` and `os.replace` it over `x`. The snapshot is staged (hard link) when the save returns, so
its bytes are safe, but it must be named after the final path. A rename keeps the inode, size and mtime, so the
final name is found by looking in the folder for the file with the saved file's fingerprint, once, off the
user's thread, when the snapshot is hashed. Nothing patches `os.rename`: the user's calls stay untouched.
"""

from __future__ import annotations

import os

from .fingerprint import Fingerprint


def moved_to(path: str, saved: Fingerprint) -> str | None:
    """The path in `path`'s folder now holding the file saved at `path`, if it moved; None if it is still
    there, or gone from that folder. Several names for it (a hard link to `last.pth.tar` next to the renamed
    `checkpoint-3.pth.tar`): the first in sorted order."""
    try:
        st = os.stat(path)
        if (st.st_ino, st.st_dev) == (saved.inode, saved.device):
            return None
    except FileNotFoundError:
        pass
    except OSError:
        return None
    found = []
    try:
        with os.scandir(os.path.dirname(path) or ".") as entries:
            for entry in entries:
                if entry.inode() != saved.inode or not entry.is_file(follow_symlinks=False):
                    continue
                now = entry.stat(follow_symlinks=False)
                if (now.st_dev, now.st_size, now.st_mtime_ns) == (saved.device, saved.size, saved.mtime_ns):
                    found.append(entry.path)
    except OSError:
        return None
    return os.path.abspath(sorted(found)[0]) if found else None
