"""`autolog ui`: a read-only local web page over the store: tasks, their Artifacts tab, model pages with a
lineage graph, artifact previews (never unpickling) and downloads by id.

Needs the `ui` extra (`pip install 'autolog[ui]'`: Starlette, Jinja2, uvicorn); nothing here is imported by
`import autolog`. Templates and static files (including the vendored dagre layout library) ship inside the
package, so the page needs no build step and no network.
"""

from __future__ import annotations

import sys
import threading
import webbrowser

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = False) -> None:
    """Serve the page over the configured store until interrupted."""
    try:
        import uvicorn

        from .app import create_app
    except ImportError as exc:
        raise SystemExit(f"autolog ui needs the `ui` extra: pip install 'autolog[ui]' ({exc})") from None
    from ..config import load_settings

    settings = load_settings()
    if host in LOOPBACK:
        allowed = ["127.0.0.1", "localhost", "[::1]", "::1"]
    else:
        allowed = ["*"]
        print(
            f"autolog ui: WARNING: listening on {host}, not on this machine only. The page has no login: "
            f"anyone who can reach port {port} can read every record and download every model and artifact.",
            file=sys.stderr,
        )
    app = create_app(settings.tracking_uri, allowed_hosts=allowed)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/"
    print(f"autolog ui: {settings.tracking_uri} at {url} (read-only; Ctrl+C stops)", file=sys.stderr, flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
