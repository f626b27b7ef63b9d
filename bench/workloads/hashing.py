"""Workload 5: the content hash's throughput against a raw sequential read of the same file.

The file (1 GB, 256 MB with --quick) is random bytes, read from the page cache (it was just written and
read once), so the read is the I/O ceiling of this machine's memory, not of its disk. Measured:

- `read`: `readinto` an 8 MB buffer until the end (what any consumer of the bytes must at least pay);
- `BLAKE3, 1 thread`: `blake3(max_threads=1).update_mmap` (the "≥ 1 GB/s on a single core" target);
- `BLAKE3, autolog`: `autolog.storage.fingerprint.hash_file`, the function the recorder runs (single-threaded);
- `SHA-256`: hashlib over the same 8 MB chunks, for reference.
"""

from __future__ import annotations

import hashlib
import os

from ..harness import alternate, clock, log, mb, row, single
from .common import parse, write_rows

CHUNK = 8 * 2**20


def main(argv: list[str]) -> None:
    ctx, out = parse(argv)
    from blake3 import blake3

    from autolog.storage.fingerprint import hash_file

    work = ctx.fresh("hashing")
    size = (256 if ctx.quick else 1024) * 2**20
    path = work / "blob.bin"
    with open(path, "wb") as f:
        for _ in range(size // CHUNK):
            f.write(os.urandom(CHUNK))
    buf = bytearray(CHUNK)
    view = memoryview(buf)

    def read() -> dict:
        t = clock()
        with open(path, "rb", buffering=0) as f:
            while f.readinto(view):
                pass
        return {"mbps": mb(size) / (clock() - t)}

    def blake3_one() -> dict:
        t = clock()
        blake3(max_threads=1).update_mmap(str(path)).hexdigest()
        return {"mbps": mb(size) / (clock() - t)}

    def blake3_autolog() -> dict:
        t = clock()
        hash_file(path)
        return {"mbps": mb(size) / (clock() - t)}

    def sha256() -> dict:
        t = clock()
        h = hashlib.sha256()
        with open(path, "rb", buffering=0) as f:
            while n := f.readinto(view):
                h.update(view[:n])
        return {"mbps": mb(size) / (clock() - t)}

    log(f"hashing: {size >> 20} MB file")
    res = alternate(
        [("read", read), ("b1", blake3_one), ("ba", blake3_autolog), ("sha", sha256)],
        reps=3 if ctx.quick else 5,
        warmup=1,
    )
    case = f"{size >> 20} MiB file in page cache"
    read_label = ("sequential read", res["read"]["mbps"])
    rows = [
        single(
            "hashing",
            case,
            "BLAKE3 1 thread (target ≥ 1000 MB/s)",
            "MB/s",
            "BLAKE3, 1 thread",
            res["b1"]["mbps"],
            target=1000,
            higher_is_better=True,
        ),
        row(
            "hashing",
            case,
            "BLAKE3 1 thread vs read",
            "MB/s",
            read_label,
            ("BLAKE3, 1 thread", res["b1"]["mbps"]),
            higher_is_better=True,
        ),
        row(
            "hashing",
            case,
            "autolog hash_file vs read",
            "MB/s",
            read_label,
            ("BLAKE3, autolog hash_file", res["ba"]["mbps"]),
            higher_is_better=True,
        ),
        row(
            "hashing",
            case,
            "SHA-256 vs read (reference)",
            "MB/s",
            read_label,
            ("SHA-256", res["sha"]["mbps"]),
            higher_is_better=True,
        ),
    ]
    path.unlink()
    write_rows(out, rows)
