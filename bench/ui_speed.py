"""`autolog ui` server time on a large store: the task table's first page and task pages must answer in
under 100 ms with 100,000 tasks and 1,000,000 models (issue 11).

    python -m bench.ui_speed [--url sqlite:///path | postgresql://...] [--tasks 100000] [--models 1000000]
                             [--reuse] [--repeat 20]

The store is filled by `bench.populate` (skipped with `--reuse` when `<store>.ids.json` from an earlier
run is there), then `autolog ui` is started as a user starts it and each page is requested `--repeat` times
after two warm-up requests. Reported per page: the median and 95th percentile of the server's own
`Server-Timing: app;dur=` (routing, queries and template rendering, before the first byte) and of the wall
time seen by the client. No figure is asserted; the table says which pages meet the 100 ms target.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TARGET_MS = 100.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str) -> tuple[float, float, int]:
    """(server ms, wall ms, bytes) of one GET."""
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as resp:
        body = resp.read()
        timing = resp.headers.get("Server-Timing", "app;dur=nan")
    wall = (time.perf_counter() - start) * 1000
    return float(timing.split("dur=")[1]), wall, len(body)


def _store(url: str, tasks: int, models: int, reuse: bool) -> dict:
    sidecar = Path(
        (url.split("///", 1)[1] if url.startswith("sqlite") else tempfile.gettempdir() + "/autolog-pg")
        + f".{tasks}x{models}.ids.json"
    )
    if reuse and sidecar.exists():
        return json.loads(sidecar.read_text())
    from bench.populate import populate

    print(f"populating {url} with {tasks} tasks and {models} models ...", flush=True)
    ids = populate(url, tasks, models)
    sidecar.write_text(json.dumps(ids))
    print(f"  done in {ids['seconds']} s", flush=True)
    return ids


def _pages(ids: dict) -> list[tuple[str, str, bool]]:
    """(label, path, has a 100 ms target)."""
    return [
        ("task table, first page", "/", True),
        ("task table, one project", f"/?project={ids['project']}", True),
        ("task table, status=failed", "/?status=failed", False),
        ("task table, tag=prod", "/?tag=prod", False),
        ("task table, search 'fine'", "/?q=fine", False),
        ("task table, page 1000", "/?page=1000", False),
        ("task table, sorted by duration", "/?sort=duration", False),
        ("task page (chain task), info", f"/task/{ids['chain_task']}", True),
        ("task page (chain task), artifacts", f"/task/{ids['chain_task']}?tab=artifacts", True),
        (
            f"task page ({ids['heavy_task_models']} snapshots), artifacts",
            f"/task/{ids['heavy_task']}?tab=artifacts",
            True,
        ),
        ("model page", f"/model/{ids['chain_model']}", False),
        ("lineage json, depth 3", f"/lineage/model/{ids['chain_model']}.json?depth=3", False),
        ("lineage json, depth 12", f"/lineage/model/{ids['chain_model']}.json?depth=12", False),
        ("lineage json, heavy task", f"/lineage/task/{ids['heavy_task']}.json", False),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ui_speed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=f"sqlite:///{tempfile.gettempdir()}/autolog-ui-bench.db")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="reuse a store filled by an earlier run")
    args = parser.parse_args(argv)

    ids = _store(args.url, args.tasks, args.models, args.reuse)
    home = tempfile.mkdtemp(prefix="autolog-ui-bench-home-")
    port = _free_port()
    env = {**os.environ, "AUTOLOG_HOME": home, "AUTOLOG_TRACKING_URI": args.url, "XDG_CONFIG_HOME": home}
    server = subprocess.Popen(
        [sys.executable, "-m", "autolog", "ui", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _request(base + "/static/style.css")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(
                        f"autolog ui did not start: {server.stderr.read() if server.stderr else ''}"
                    ) from None
                time.sleep(0.2)
        backend = args.url.split(":", 1)[0]
        print(
            f"\nautolog ui on {backend}: {args.tasks} tasks, {args.models} models; {args.repeat} requests per "
            f"page after 2 warm-ups (ms)\n"
        )
        print(f"{'page':48} {'server p50':>10} {'server p95':>10} {'wall p50':>9} {'KB':>6}  target")
        results = []
        for label, path, target in _pages(ids):
            for _ in range(2):
                _request(base + path)
            samples = [_request(base + path) for _ in range(args.repeat)]
            server_ms = sorted(s[0] for s in samples)
            wall_ms = sorted(s[1] for s in samples)
            p50, p95 = statistics.median(server_ms), server_ms[int(0.95 * (len(server_ms) - 1))]
            verdict = ("ok" if p50 < TARGET_MS else "MISSED") if target else ""
            print(
                f"{label:48} {p50:10.1f} {p95:10.1f} {statistics.median(wall_ms):9.1f} "
                f"{samples[0][2] / 1024:6.0f}  {verdict}"
            )
            results.append(
                {
                    "page": label,
                    "path": path,
                    "server_p50_ms": p50,
                    "server_p95_ms": p95,
                    "wall_p50_ms": statistics.median(wall_ms),
                    "target": target,
                }
            )
        out = Path(__file__).parent / "results"
        out.mkdir(exist_ok=True)
        (out / f"ui_speed_{backend}.json").write_text(
            json.dumps({"tasks": args.tasks, "models": args.models, "results": results}, indent=1)
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
