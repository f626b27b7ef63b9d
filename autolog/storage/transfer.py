"""Downloads from object stores in parallel ranged parts, written in place as they arrive.

`fsspec`'s `get_file` on s3fs (2026.9) fetches a large object in batches of ten 50 MiB ranges: each batch
waits for its slowest part, holds 500 MiB in memory, and starts with a whole-object GET that it then drops.
Here a sliding window of WINDOW parts of PART_SIZE bytes each stays busy (a part starts as soon as one
ends), each part is written at its offset with `pwrite` as it lands, and at most WINDOW parts are held in
memory. The `upload` benchmark measures it against `fsspec` `get_file` in the same run (figures in
docs/performance.md, "Storage"). Any fsspec async file system that serves byte ranges (`_cat_file(path, start,
end)`: s3fs, gcsfs, adlfs) takes this path; others, and small objects, use the backend's own `get_file`.

The object is read in several requests, so a writer replacing it meanwhile could leave a mix of two
versions: callers check the content hash of what they downloaded (the cache does, before anyone reads it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

PART_SIZE = 32 * 2**20
WINDOW = 4  # parts in flight: 128 MiB at most
MIN_RANGED_SIZE = 2 * PART_SIZE  # below this, one GET is as fast


def get_file(fs: Any, remote_path: str, local_path: str) -> None:
    """Download one object to `local_path`: parallel ranges where the backend allows, else `fs.get_file`."""
    if not _serves_ranges(fs):
        fs.get_file(remote_path, local_path)
        return
    size = fs.size(remote_path)
    if size is None or size < MIN_RANGED_SIZE:
        fs.get_file(remote_path, local_path)
        return
    from fsspec.asyn import sync

    fd = os.open(local_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.ftruncate(fd, size)
        sync(fs.loop, _download_parts, fs, remote_path, fd, size)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(local_path)
        raise
    os.close(fd)


def _serves_ranges(fs: Any) -> bool:
    from fsspec.asyn import AsyncFileSystem

    return isinstance(fs, AsyncFileSystem) and getattr(fs, "loop", None) is not None and hasattr(fs, "_cat_file")


async def _download_parts(fs: Any, remote_path: str, fd: int, size: int) -> None:
    """Fetch [0, size) in PART_SIZE ranges, WINDOW at a time, each written at its offset when it lands."""
    gate = asyncio.Semaphore(WINDOW)

    async def part(start: int) -> None:
        end = min(start + PART_SIZE, size)
        async with gate:
            try:
                data = await fs._cat_file(remote_path, start=start, end=end)
            except Exception as exc:  # noqa: BLE001 - named: which object, which bytes, what the backend said
                raise OSError(
                    f"{remote_path}: downloading bytes {start}-{end} failed: {type(exc).__name__}: {exc}"
                ) from exc
        if len(data) != end - start:
            raise OSError(
                f"{remote_path}: bytes {start}-{end} came back as {len(data)} bytes (the object "
                f"changed or was cut short during the download)"
            )
        view = memoryview(data)
        written = 0
        while written < len(view):
            written += os.pwrite(fd, view[written:], start + written)

    tasks = [asyncio.ensure_future(part(start)) for start in range(0, size, PART_SIZE)]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
