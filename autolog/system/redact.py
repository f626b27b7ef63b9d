"""Secrets never reach the record, the log or the screen: credentials are cut out of URIs.

Two operations. `strip_credentials` is what gets stored: `s3://key:secret@bucket/x` becomes
`s3://bucket/x`, and query parameters that carry a credential (`X-Amz-Signature`, `X-Amz-Credential`,
`token`, `sig`, ...) are dropped; the backend then takes credentials from where it normally looks (the
environment, `~/.aws`, fsspec's config). `redact` is what gets shown: the password of a database URL
becomes `***` (the user name stays, it helps to read the message) and credential parameters too.
Both are pure string functions, safe on anything (a non-URI string passes through unchanged).
"""

from __future__ import annotations

import re
from typing import overload
from urllib.parse import parse_qsl, urlencode

MASK = "***"

# Query parameters whose value is a credential (compared in lower case).
_SECRET_PARAMS = {
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
    "signature",
    "sig",
    "token",
    "access_token",
    "auth",
    "authorization",
    "password",
    "passwd",
    "pwd",
    "secret",
    "key",
    "api_key",
    "apikey",
    "client_secret",
    "sv",
    "se",
    "sp",
    "skoid",
    "sktid",
    "ske",
    "sks",
    "skv",
}
_URI = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<rest>.*)$", re.DOTALL)
# In free text (an error message): scheme://user:password@ -> scheme://user:***@
_USERINFO_IN_TEXT = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s/@:'\"]*):([^\s/'\"]*)@")


def _split(uri: str) -> tuple[str, str, str, str, str] | None:
    """(scheme://, userinfo, host+path, '?'query or '', '#'fragment or '') of a URI, or None."""
    match = _URI.match(uri)
    if not match:
        return None
    rest = match.group("rest")
    fragment = ""
    if "#" in rest:
        rest, fragment = rest.split("#", 1)
        fragment = "#" + fragment
    query = ""
    if "?" in rest:
        rest, query = rest.split("?", 1)
        query = "?" + query
    authority_end = rest.find("/")
    authority = rest if authority_end < 0 else rest[:authority_end]
    userinfo = ""
    if "@" in authority:
        userinfo, _at, host = authority.rpartition("@")
        rest = host + ("" if authority_end < 0 else rest[authority_end:])
    return match.group("scheme"), userinfo, rest, query, fragment


def _secret_in_query(query: str) -> bool:
    return bool(query) and any(k.lower() in _SECRET_PARAMS for k, _v in parse_qsl(query[1:], keep_blank_values=True))


def _clean_query(query: str, replace: bool) -> str:
    if not _secret_in_query(query):
        return query  # untouched, byte for byte
    pairs = parse_qsl(query[1:], keep_blank_values=True)
    kept = [
        (k, MASK if replace and k.lower() in _SECRET_PARAMS else v)
        for k, v in pairs
        if replace or k.lower() not in _SECRET_PARAMS
    ]
    return ("?" + urlencode(kept, safe="*")) if kept else ""


def has_credentials(uri: str) -> bool:
    """True when `uri` carries a user:password, or a query parameter that holds a credential."""
    parts = _split(uri) if isinstance(uri, str) else None
    if parts is None:
        return False
    _scheme, userinfo, _rest, query, _fragment = parts
    return bool(userinfo) or _secret_in_query(query)


def strip_credentials(uri: str) -> str:
    """`uri` without user/password and without credential query parameters (what autolog stores)."""
    parts = _split(uri) if isinstance(uri, str) else None
    if parts is None:
        return uri
    scheme, _userinfo, rest, query, fragment = parts
    return f"{scheme}{rest}{_clean_query(query, False)}{fragment}"


@overload
def redact(uri: str) -> str: ...
@overload
def redact(uri: None) -> None: ...
def redact(uri: str | None) -> str | None:
    """`uri` for display: the password and credential query values replaced by `***`."""
    if not isinstance(uri, str):
        return uri
    parts = _split(uri)
    if parts is None:
        return redact_text(uri)
    scheme, userinfo, rest, query, fragment = parts
    if userinfo:
        user, has_password, _password = userinfo.partition(":")
        database = scheme.lower().startswith(("postgres", "mysql", "mariadb", "oracle", "mssql"))
        if has_password:
            userinfo = f"{user}:{MASK}@"
        else:  # a lone user name is a login for a database, but often a token elsewhere (https://TOKEN@host)
            userinfo = f"{user}@" if database else f"{MASK}@"
    return f"{scheme}{userinfo}{rest}{_clean_query(query, True)}{fragment}"


def redact_text(text: str) -> str:
    """Any `scheme://user:password@` inside free text (an exception message) with the password masked."""
    return _USERINFO_IN_TEXT.sub(lambda m: f"{m.group(1)}:{MASK}@", text)


def stored_uri(uri: str) -> str:
    """`uri` as autolog may store it: without credentials, with one warning when some were removed."""
    if not has_credentials(uri):
        return uri
    from .log import logger

    clean = strip_credentials(uri)
    logger.warning(
        "autolog: removed the credentials from %s before recording it; the storage backend takes "
        "them from its usual places (environment variables, ~/.aws, fsspec config)",
        clean,
    )
    return clean
