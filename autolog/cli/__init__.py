"""`autolog` command line: `commands` (the subcommands and `main`) and `format` (tables that fit the terminal)."""

from __future__ import annotations

from .commands import main

__all__ = ["main"]
