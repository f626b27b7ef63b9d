"""The one module a framework hook imports from: everything `hooks/<framework>.py` needs, and nothing else.

A hook is a `Hook` subclass (name, watched modules, supported versions, `patch(module)`) whose `patch` wraps
the framework's save and load functions with the wrappers below. `docs/writing-a-hook.md` walks through the
torch hook as the example. Importing this module imports no framework: hooks load only when their framework
is imported.

- Wrappers (one shape: guarded before, the user's call exactly once, guarded after): `save_wrapper`,
  `load_wrapper` (a file), `folder_save_wrapper`, `folder_load_wrapper` (a folder as one snapshot), and
  `captured` (the body they are built on, for a hook that needs its own before/after), `bypassed` and
  `call_once` (for a wrapper that is not a captured call, such as a scope), `observing_nested_saves`.
- Finders: `arg(position, keyword)` takes the destination or source from the call's arguments.
- Recording, for `captured` bodies: `resolve_target`, `protect_previous`, `record_save`, `record_load`,
  `record_folder_save`, `record_folder_load`, `record_remote_save`, `record_remote_folder_save`,
  `record_remote_load`, `covering`, `active`; `note_progress` (step, epoch, metrics, monitor the next saves
  record); `Target` is what a hook saw; `guard(where)` contains an internal error to one warning.
"""

from __future__ import annotations

from ..system.log import guard
from .instrumentation import Hook
from .recording import (
    Target,
    active,
    covering,
    note_progress,
    protect_previous,
    record_folder_load,
    record_folder_save,
    record_load,
    record_remote_folder_save,
    record_remote_load,
    record_remote_save,
    record_save,
    resolve_target,
)
from .wrappers import (
    Args,
    Kwargs,
    arg,
    bypassed,
    call_once,
    captured,
    folder_load_wrapper,
    folder_save_wrapper,
    load_wrapper,
    observing_nested_saves,
    save_wrapper,
)

__all__ = [
    "Args",
    "Hook",
    "Kwargs",
    "Target",
    "active",
    "arg",
    "bypassed",
    "call_once",
    "captured",
    "covering",
    "folder_load_wrapper",
    "folder_save_wrapper",
    "guard",
    "load_wrapper",
    "note_progress",
    "observing_nested_saves",
    "protect_previous",
    "record_folder_load",
    "record_folder_save",
    "record_load",
    "record_remote_folder_save",
    "record_remote_load",
    "record_remote_save",
    "record_save",
    "resolve_target",
    "save_wrapper",
]
