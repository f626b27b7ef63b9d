"""The token `autolog ui` asks for when it listens beyond this machine (a team host), as Jupyter does.

The token is the `ui_token` setting (`AUTOLOG_UI_TOKEN`) or, when none is set, a random one made at start and
printed with the URL. Every request (pages, the graph's JSON, downloads, static files) must carry it: as
`?token=` (the printed URL; the answer then sets a cookie so links and scripts work without it), as that
cookie, or as an `Authorization: token <t>` header (scripts, curl). Anything else is a 403 that says what
to do. On 127.0.0.1 there is no token: the machine's own users are trusted, as with the files themselves.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import parse_qs

COOKIE = "autolog_ui_token"
FORBIDDEN = (
    b"<!doctype html><title>autolog: token needed</title><h1>403: token needed</h1>"
    b"<p>This autolog ui listens beyond its own machine, so it asks for the token it printed at start: open "
    b"the URL it printed (ending in <code>?token=...</code>), or send <code>Authorization: token ...</code>. "
    b"The token is the <code>ui_token</code> setting (<code>AUTOLOG_UI_TOKEN</code>) when one is set.</p>"
)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _equal(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


class TokenGate:
    """ASGI middleware: 403 unless the request carries the token (query, cookie or header)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.token = token

    def _given(self, scope: dict[str, Any]) -> tuple[bool, bool]:
        """(allowed, came in the query string: set the cookie)."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
        if query and _equal(query[-1], self.token):
            return True, True
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    key, _, val = part.strip().partition("=")
                    if key == COOKIE and _equal(val, self.token):
                        return True, False
            elif name == b"authorization":
                kind, _, val = value.decode("latin-1").partition(" ")
                if kind.lower() in ("token", "bearer") and _equal(val.strip(), self.token):
                    return True, False
        return False, False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed, set_cookie = self._given(scope)
        if not allowed:
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store")],
                }
            )
            await send({"type": "http.response.body", "body": FORBIDDEN})
            return
        if not set_cookie:
            await self.app(scope, receive, send)
            return
        cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode()

        async def with_cookie(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        await self.app(scope, receive, with_cookie)
