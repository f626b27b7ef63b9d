"""`autolog ui`: a read-only local web page over the store: tasks, their Artifacts tab, model pages with a
lineage graph, a models view, a go-to box, artifact previews (never unpickling) and downloads by id.

Needs the `ui` extra (`pip install 'autolog[ui]'`: Starlette, Jinja2, uvicorn); nothing here is imported by
`import autolog`. Templates and static files (including the vendored dagre layout library) ship inside the
package, so the page needs no build step and no network. See docs/ui.md.
"""

from __future__ import annotations

import socket
import sys
import threading
import webbrowser

LOOPBACK = ("127.0.0.1", "localhost", "::1")
DEFAULT_PORT = 8765


def _existing_store(tracking_uri: str, home: object) -> None:
    """The page only reads: a SQLite store that is not there is a mistyped home or URL, not a new store."""
    if not tracking_uri.startswith("sqlite"):
        return
    import os

    from sqlalchemy.engine import make_url

    database = make_url(tracking_uri).database
    if not database or database == ":memory:" or not os.path.isfile(database):
        raise SystemExit(
            f"autolog ui: no store at {database or tracking_uri} (autolog home {home}). The page only reads "
            "records and creates no store: check AUTOLOG_HOME / the `home` or `tracking_uri` setting."
        )


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything says the page is ready (a busy port fails first)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise SystemExit(
            f"autolog ui: cannot listen on {host}:{port}: {exc.strerror or exc} "
            "(another program, or another autolog ui, has it? pick one with --port)"
        ) from None
    sock.set_inheritable(True)
    return sock


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, open_browser: bool = False) -> None:
    """Serve the page over the configured store until interrupted."""
    try:
        import uvicorn

        from .app import create_app
    except ImportError as exc:
        raise SystemExit(f"autolog ui needs the `ui` extra: pip install 'autolog[ui]' ({exc})") from None
    from ..config import load_settings
    from .auth import new_token

    settings = load_settings(create=False)
    _existing_store(settings.tracking_uri, settings.home)
    token: str | None = None
    if host in LOOPBACK:
        allowed = ["127.0.0.1", "localhost", "[::1]", "::1"]
    else:
        allowed = ["*"]
        token = settings.ui_token or new_token()
    sock = _listen(host, port)
    app = create_app(settings.tracking_uri, allowed_hosts=allowed, token=token)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{sock.getsockname()[1]}/"
    if token is not None:
        where = "the ui_token setting" if settings.ui_token else "made for this run"
        print(
            f"autolog ui: listening on {host}, beyond this machine: every request needs the token ({where}).",
            file=sys.stderr,
        )
        url += "" if settings.ui_token else f"?token={token}"
    print(f"autolog ui: {settings.tracking_uri} at {url} (read-only; Ctrl+C stops)", file=sys.stderr, flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
