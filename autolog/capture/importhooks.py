"""Post-import callbacks: run a function right after a named module finishes importing.

This is wrapt's post-import hook mechanism (PEP 369 style), cut down to what `import autolog` needs so
that registering costs microseconds: importing `wrapt.importer` pulls in `importlib.metadata` (milliseconds)
on every `import autolog`, before any framework is even used. wrapt itself is imported only when a hook
patches. A finder first on `sys.meta_path` answers only for registered names, asks the other finders
for the real spec and wraps its loader so that, once the module has executed, the callbacks run (in the
importing thread, the module already in `sys.modules`). The real loader is put back on the module and its
spec before the module's code runs, so nothing that inspects `__loader__` sees ours.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from importlib.abc import Loader

Callback = Callable[[ModuleType], None]

_lock = threading.Lock()
_pending: dict[str, list[Callback]] = {}
_before: dict[str, frozenset[str]] = {}  # module name -> the modules already imported when its import began
_installed = False
_local = threading.local()


class _Loader:
    """Delegates to the real loader; runs the callbacks once the module has executed."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    def create_module(self, spec: Any) -> ModuleType | None:
        module: ModuleType | None = self._loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The real loader goes back on the module before its code runs: code that inspects `__loader__` or
        # `__spec__.loader` during or after the import sees the framework's own loader, never this one.
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self._loader
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self._loader
        try:
            self._loader.exec_module(module)
        except BaseException:
            _before.pop(module.__name__, None)
            raise
        with _lock:
            callbacks = _pending.pop(module.__name__, ())
        before = _before.pop(module.__name__, None)
        previous = getattr(_local, "scope", None)
        # The modules imported while this one was: the only ones that can hold its functions already.
        _local.scope = None if before is None else [n for n in list(sys.modules) if n not in before]
        try:
            for callback in callbacks:
                callback(module)
        finally:
            _local.scope = previous


class _Finder:
    """First on `sys.meta_path`; only ever answers for a registered module name not yet imported."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in _pending:
            return None
        busy = getattr(_local, "busy", None)
        if busy is None:
            busy = _local.busy = set()
        if fullname in busy:
            return None
        busy.add(fullname)
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            busy.discard(fullname)
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec  # namespace package or legacy loader: imported as usual, no callback here
        spec.loader = cast("Loader", _Loader(spec.loader))  # duck-typed: delegates the rest to the real one
        _before[fullname] = frozenset(sys.modules)
        return spec

    def invalidate_caches(self) -> None:
        pass


def imported_meanwhile() -> list[str] | None:
    """Inside a callback: names of the modules imported while the module it is for was being imported."""
    return getattr(_local, "scope", None)


def when_imported(name: str, callback: Callback) -> bool:
    """Run `callback(module)` right after `name` is imported; if it already is in `sys.modules`, call
    nothing and return True (the caller decides what to do with a module that may still be executing)."""
    global _installed
    with _lock:
        if not _installed:
            sys.meta_path.insert(0, _Finder())
            _installed = True
        if sys.modules.get(name) is not None:
            return True
        _pending.setdefault(name, []).append(callback)
        return False
