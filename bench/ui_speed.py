"""`autolog ui` speed on a large store: first and last pages, the go-to box, the models view and a task
with 10,000 snapshots must answer in under 100 ms on the server and load in under 300 ms in a browser, with
100,000 tasks and 1,000,000 models (issues 11 and 21).

    python -m bench.ui_speed [--url sqlite:///path | postgresql://...] [--tasks 100000] [--models 1000000]
                             [--heavy 10000] [--reuse] [--repeat 20] [--browser]

The store is filled by `bench.populate` (skipped with `--reuse` when `<store>.ids.json` from an earlier
run is there), then `autolog ui` is started as a user starts it and each page is requested `--repeat` times
after two warm-up requests. Reported per page: the median and 95th percentile of the server's own
`Server-Timing: app;dur=` (routing, queries and template rendering, before the first byte), the wall time
seen by the client and, with `--browser`, the median time to the `load` event in headless Chromium
(Debian's /usr/bin/chromium through Playwright: request, parse, styles, scripts). No figure is asserted; the
table says which pages meet the targets.
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
import urllib.error
import urllib.request
from pathlib import Path

TARGET_MS = 100.0
BROWSER_TARGET_MS = 300.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _request(url: str) -> tuple[float, float, int]:
    """(server ms, wall ms, bytes) of one GET; a redirect (the go-to box's answer) is timed itself, not followed
    (the browser column times the landing page too)."""
    start = time.perf_counter()
    try:
        with _OPENER.open(url, timeout=120) as resp:
            body = resp.read()
            timing = resp.headers.get("Server-Timing", "app;dur=nan")
    except urllib.error.HTTPError as exc:  # a 3xx answer, not followed
        if not 300 <= exc.code < 400:
            raise
        body, timing = exc.read(), exc.headers.get("Server-Timing", "app;dur=nan")
    wall = (time.perf_counter() - start) * 1000
    return float(timing.split("dur=")[1]), wall, len(body)


def _store(url: str, tasks: int, models: int, heavy: int, reuse: bool) -> dict:
    sidecar = Path(
        (url.split("///", 1)[1] if url.startswith("sqlite") else tempfile.gettempdir() + "/autolog-pg")
        + f".{tasks}x{models}x{heavy}.ids.json"
    )
    if reuse and sidecar.exists():
        return json.loads(sidecar.read_text())
    from bench.populate import populate

    print(f"populating {url} with {tasks} tasks and {models} models ({heavy} in one task) ...", flush=True)
    ids = populate(url, tasks, models, heavy=heavy)
    sidecar.write_text(json.dumps(ids))
    print(f"  done in {ids['seconds']} s", flush=True)
    return ids


def _pages(ids: dict) -> list[tuple[str, str, bool]]:
    """(label, path, has a target)."""
    heavy, n = ids["heavy_task"], ids["heavy_task_models"]
    last_page = -(-ids["tasks"] // 50)
    return [
        ("task table, first page", "/", True),
        (f"task table, last page ({last_page})", f"/?page={last_page}", True),
        ("task table, one project", f"/?project={ids['project']}", True),
        ("task table, status=failed", "/?status=failed", False),
        ("task table, tag=prod", "/?tag=prod", False),
        ("task table, search 'fine'", "/?q=fine", False),
        ("task table, page 1000", "/?page=1000", False),
        ("task table, sorted by duration", "/?sort=duration", False),
        ("go to: task id prefix", f"/go?to={ids['chain_task'][:8]}", True),
        ("go to: model id prefix", f"/go?to={ids['chain_model'][:10]}", True),
        ("go to: model hash prefix", f"/go?to={ids['model_hash'][:12]}", True),
        ("go to: model name (gen-3.pt)", "/go?to=gen-3.pt", True),
        ("models view, first page", "/models", True),
        ("models view, last page", "/models?last=1", True),
        ("models view, one project", f"/models?project={ids['project']}", False),
        ("models view, by size", "/models?sort=size", False),
        ("task page (chain task), info", f"/task/{ids['chain_task']}", True),
        ("task page (chain task), artifacts", f"/task/{ids['chain_task']}?tab=artifacts", True),
        (f"task page ({n} snapshots), first 100", f"/task/{heavy}?tab=artifacts", True),
        (f"task page ({n} snapshots), middle 100", f"/task/{heavy}?tab=artifacts&after={n // 2}", True),
        (f"task page ({n} snapshots), last 100", f"/task/{heavy}?tab=artifacts&last=1", True),
        ("model page", f"/model/{ids['chain_model']}", True),
        ("lineage json, depth 3", f"/lineage/model/{ids['chain_model']}.json?depth=3", False),
        ("lineage json, depth 12", f"/lineage/model/{ids['chain_model']}.json?depth=12", False),
        ("lineage json, heavy task", f"/lineage/task/{heavy}.json", False),
    ]


class Browser:
    """Headless Chromium timing a page to its `load` event (navigation timing, redirects included)."""

    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright

        self._manager = sync_playwright()
        playwright = self._manager.__enter__()
        self._browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        self._page = self._browser.new_page(viewport={"width": 1366, "height": 900})

    def load_ms(self, url: str) -> float:
        self._page.goto(url, wait_until="load")
        timing = self._page.evaluate(
            "(() => { const n = performance.getEntriesByType('navigation')[0];"
            " return n.loadEventEnd - n.startTime; })()"
        )
        return float(timing)

    def close(self) -> None:
        self._browser.close()
        self._manager.__exit__(None, None, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ui_speed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=f"sqlite:///{tempfile.gettempdir()}/autolog-ui-bench.db")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=1_000_000)
    parser.add_argument("--heavy", type=int, default=10_000, help="snapshots of the one heavy task")
    parser.add_argument("--browser", action="store_true", help="also time each page to `load` in Chromium")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="reuse a store filled by an earlier run")
    args = parser.parse_args(argv)

    ids = _store(args.url, args.tasks, args.models, args.heavy, args.reuse)
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
        browser = Browser() if args.browser else None
        print(f"{'page':48} {'server p50':>10} {'server p95':>10} {'wall p50':>9} {'browser':>8} {'KB':>6}  target")
        results = []
        for label, path, target in _pages(ids):
            for _ in range(2):
                _request(base + path)
            samples = [_request(base + path) for _ in range(args.repeat)]
            server_ms = sorted(s[0] for s in samples)
            wall_ms = sorted(s[1] for s in samples)
            p50, p95 = statistics.median(server_ms), server_ms[int(0.95 * (len(server_ms) - 1))]
            shown = not path.split("?")[0].endswith(".json")
            browser_ms = (
                statistics.median(browser.load_ms(base + path) for _ in range(max(3, args.repeat // 4)))
                if browser is not None and shown
                else None
            )
            verdict = ""
            if target:
                ok = p50 < TARGET_MS and (browser_ms is None or browser_ms < BROWSER_TARGET_MS)
                verdict = "ok" if ok else "MISSED"
            print(
                f"{label:48} {p50:10.1f} {p95:10.1f} {statistics.median(wall_ms):9.1f} "
                f"{'' if browser_ms is None else f'{browser_ms:.1f}':>8} {samples[0][2] / 1024:6.0f}  {verdict}"
            )
            results.append(
                {
                    "page": label,
                    "path": path,
                    "server_p50_ms": p50,
                    "server_p95_ms": p95,
                    "wall_p50_ms": statistics.median(wall_ms),
                    "browser_load_p50_ms": browser_ms,
                    "target": target,
                }
            )
        if browser is not None:
            browser.close()
        out = Path(__file__).parent / "results"
        out.mkdir(exist_ok=True)
        (out / f"ui_speed_{backend}.json").write_text(
            json.dumps({"tasks": args.tasks, "models": args.models, "heavy": args.heavy, "results": results}, indent=1)
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
