"""Checking a tracking URL at `init`, without importing SQLAlchemy (it costs more than all of `init`).

A URL names a dialect (`sqlite`, `postgresql`, ...) and optionally a driver (`postgresql+psycopg`). An
unknown dialect, or one whose driver package is not installed, is a `ConfigError` naming where the URL
came from; so is an SQLite file whose folder does not exist. The message shows the URL with its
password masked.
"""

from __future__ import annotations

import importlib.util
import os
import re

from ..errors import ConfigError
from ..system.redact import redact

# dialect -> the driver packages any one of which makes it usable, by driver name (None: the default)
_DRIVERS: dict[str, dict[str | None, tuple[str, ...]]] = {
    "sqlite": {
        None: ("sqlite3",),
        "pysqlite": ("sqlite3",),
        "aiosqlite": ("aiosqlite",),
        "pysqlcipher": ("sqlcipher3",),
    },
    "postgresql": {
        None: ("psycopg2", "psycopg"),
        "psycopg2": ("psycopg2",),
        "psycopg": ("psycopg",),
        "psycopg2cffi": ("psycopg2cffi",),
        "pg8000": ("pg8000",),
        "asyncpg": ("asyncpg",),
    },
    "mysql": {
        None: ("MySQLdb",),
        "mysqldb": ("MySQLdb",),
        "pymysql": ("pymysql",),
        "mysqlconnector": ("mysql",),
        "asyncmy": ("asyncmy",),
        "aiomysql": ("aiomysql",),
    },
    "mariadb": {None: ("MySQLdb",), "mysqldb": ("MySQLdb",), "pymysql": ("pymysql",), "mariadbconnector": ("mariadb",)},
    "oracle": {None: ("oracledb", "cx_Oracle"), "oracledb": ("oracledb",), "cx_oracle": ("cx_Oracle",)},
    "mssql": {None: ("pyodbc",), "pyodbc": ("pyodbc",), "pymssql": ("pymssql",)},
}
_ALIASES = {"postgres": "postgresql"}
_INSTALL = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "MySQLdb": "mysqlclient"}


def _third_party_dialect(name: str) -> bool:
    """A dialect another package registers through SQLAlchemy's `sqlalchemy.dialects` entry points."""
    from importlib.metadata import entry_points

    wanted = {name, name.replace("+", ".")}
    return any(ep.name in wanted for ep in entry_points(group="sqlalchemy.dialects"))


def check_tracking_uri(uri: str, source: str) -> None:
    """ConfigError (naming `source` and the key) when `uri` cannot open a store on this machine."""
    shown = redact(uri)
    match = re.match(r"^([A-Za-z][A-Za-z0-9]*)(?:\+([A-Za-z0-9_]+))?://(.*)$", uri, re.DOTALL)
    if not match:
        raise ConfigError(
            f"{source}: tracking_uri must be an SQLAlchemy URL such as sqlite:///path or "
            f"postgresql://host/db, got {shown!r}"
        )
    dialect, driver, rest = match.group(1).lower(), match.group(2), str(match.group(3))  # (.*): always a str
    dialect = _ALIASES.get(dialect, dialect)
    drivers = _DRIVERS.get(dialect)
    if drivers is None:
        if _third_party_dialect(f"{dialect}+{driver}" if driver else dialect):
            return
        raise ConfigError(
            f"{source}: tracking_uri {shown!r}: unknown database scheme {match.group(1)!r} "
            f"(known: {', '.join(sorted(_DRIVERS))})"
        )
    packages = drivers.get(driver.lower() if driver else None)
    if packages is None:
        if _third_party_dialect(f"{dialect}.{driver}"):
            return
        raise ConfigError(
            f"{source}: tracking_uri {shown!r}: unknown driver {driver!r} for {dialect} "
            f"(known: {', '.join(d for d in drivers if d)})"
        )
    if not any(importlib.util.find_spec(p) is not None for p in packages):
        hint = " or ".join(_INSTALL.get(p, p) for p in packages)
        raise ConfigError(
            f"{source}: tracking_uri {shown!r} needs a {dialect} driver that is not installed: pip install {hint}"
        )
    if dialect == "sqlite":
        _check_sqlite_path(rest, source, shown)


def _check_sqlite_path(rest: str, source: str, shown: str) -> None:
    path = rest.split("?", 1)[0]
    if path.startswith("/"):
        path = path[1:]  # sqlite:///relative.db and sqlite:////absolute.db
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    folder = os.path.dirname(os.path.abspath(os.path.expanduser(path)))
    if not os.path.isdir(folder):
        raise ConfigError(
            f"{source}: tracking_uri {shown!r}: the folder {folder} does not exist; create it "
            f"or point tracking_uri at an existing folder"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{source}: tracking_uri {shown!r}: the folder {folder} is not writable")
