"""Hook lifecycle: which framework hooks are wanted, patching them when their framework is imported,
and restoring exactly what was there on `uninstrument()`.

Each framework hook is one small declarative class in `hooks/<name>.py` (installed as
`autolog.hooks.<name>`), a subclass of `Hook`. Everything shared lives here, once: post-import
registration (wrapt), idempotency and locking, the enabled switch, the supported-version check and the
bookkeeping that makes unpatching exact (OpenTelemetry's `BaseInstrumentor`, dd-trace's `patch/unpatch`).
No framework is imported by this module: a hook module is imported only from its framework's
post-import callback.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

from .log import guard, logger

HOOK_NAMES: tuple[str, ...] = ("torch", "tensorflow", "keras", "joblib", "xgboost", "safetensors")

_MISSING = object()


@dataclass
class _Patch:
    owner: Any
    attr: str
    original: Any  # the value found in owner.__dict__, or _MISSING when it was inherited
    wrapper: Any


def _release(version: str) -> tuple[int, ...]:
    """'2.13.0+cpu' -> (2, 13, 0); good enough to compare against a supported range."""
    parts = []
    for piece in version.split("."):
        match = re.match(r"\d+", piece)
        if not match:
            break
        parts.append(int(match.group()))
    return tuple(parts)


class Hook:
    """Base class of a framework hook. Subclasses declare data and implement `patch(module)`.

    `name` is the public hook name (`init(frameworks={name: False})`), `watches` the modules whose
    import triggers `patch`, `distribution` the package (or tuple of alternative packages, e.g.
    `tensorflow`/`tensorflow-cpu`) whose version is checked against `[min_version, max_version)`.
    """

    name: ClassVar[str]
    watches: ClassVar[tuple[str, ...]]
    distribution: ClassVar[str | tuple[str, ...]]
    min_version: ClassVar[tuple[int, ...]] = ()
    max_version: ClassVar[tuple[int, ...] | None] = None

    def __init__(self) -> None:
        self._patches: list[_Patch] = []
        self._patched_modules: set[str] = set()
        self.enabled = True

    # -- for subclasses -------------------------------------------------------------------------
    def patch(self, module: ModuleType) -> None:
        """Wrap this framework's save/load entry points; `module` is the watched module just imported."""
        raise NotImplementedError

    def wrap(self, owner: Any, attr: str, wrapper: Callable[..., Any]) -> None:
        """Replace `owner.attr` by a wrapt FunctionWrapper around it, remembering how to undo it.

        The original is read from `owner.__dict__` (never `getattr`, which would bind or find an
        inherited attribute). Wrapping twice is a no-op, so wrappers never stack.
        """
        import wrapt

        owner_name = getattr(owner, "__name__", type(owner).__name__)
        if not hasattr(owner, attr):
            logger.warning("autolog: the %s hook cannot find %s.%s in %s %s; calls through it are not "
                           "recorded", self.name, owner_name, attr, self.distribution, self.version())
            return
        current = owner.__dict__.get(attr, _MISSING) if hasattr(owner, "__dict__") else _MISSING
        if any(p.owner is owner and p.attr == attr for p in self._patches):
            return
        if current is _MISSING:
            inherited = getattr(owner, attr)
            wrapped = wrapt.FunctionWrapper(inherited, wrapper)
        else:
            wrapped = wrapt.FunctionWrapper(current, wrapper)
        setattr(owner, attr, wrapped)
        self._patches.append(_Patch(owner, attr, current, wrapped))

    def alias(self, source: Any, owner: Any, attrs: tuple[str, ...]) -> None:
        """Point `owner.attr` at the very wrapper already on `source.attr`, when `owner` re-exports the same
        original (`from x import f`), so `a.f is b.f` still holds while patched; unpatch restores it."""
        for attr in attrs:
            ours = [p for p in self._patches if p.owner is source and p.attr == attr]
            current = owner.__dict__.get(attr)
            if not ours or current is not ours[0].original:
                continue  # not patched at the source, or the re-export is something else (or already ours)
            setattr(owner, attr, ours[0].wrapper)
            self._patches.append(_Patch(owner, attr, current, ours[0].wrapper))

    # -- lifecycle (called by the registry) ----------------------------------------------------------
    def unpatch(self) -> None:
        """Restore every wrapped attribute, if it still holds our wrapper."""
        for p in reversed(self._patches):
            if p.owner.__dict__.get(p.attr) is not p.wrapper:
                continue  # someone replaced it after us: leave theirs alone
            if p.original is _MISSING:
                delattr(p.owner, p.attr)
            else:
                setattr(p.owner, p.attr, p.original)
        self._patches.clear()
        self._patched_modules.clear()

    @property
    def patched(self) -> bool:
        return bool(self._patches)

    def version(self) -> str:
        """Installed version of the first of `distribution` (a name or a tuple of names) that is present."""
        names = (self.distribution,) if isinstance(self.distribution, str) else self.distribution
        for name in names:
            try:
                return importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                continue
        return "unknown"

    def version_supported(self) -> bool:
        release = _release(self.version())
        if not release:
            return True
        if self.min_version and release < self.min_version:
            return False
        return not (self.max_version and release >= self.max_version)


class _Registry:
    """Process-wide state: hook instances, which ones are wanted, post-import registrations."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.hooks: dict[str, Hook] = {}
        self.wanted: dict[str, bool] = {name: False for name in HOOK_NAMES}
        self.registered: set[str] = set()
        self.warned_versions: set[str] = set()

    def hook(self, name: str) -> Hook:
        if name not in self.hooks:
            module = importlib.import_module(f"autolog.hooks.{name}")
            self.hooks[name] = module.HOOK()
        return self.hooks[name]

    def on_import(self, name: str, module: ModuleType) -> None:
        """Post-import callback: patch if wanted. Never raises (it runs inside the user's import)."""
        try:
            with guard(f"{name} hook setup"), self.lock:
                if not self.wanted.get(name):
                    return
                hook = self.hook(name)
                if module.__name__ in hook._patched_modules:
                    return
                if not hook.version_supported() and name not in self.warned_versions:
                    self.warned_versions.add(name)
                    logger.warning("autolog: %s %s is outside the range the %s hook is tested with; "
                                   "recording may be incomplete", hook.distribution, hook.version(), name)
                hook.patch(module)
                hook._patched_modules.add(module.__name__)
        except Exception:  # noqa: BLE001 - even strict mode must not break `import torch`
            pass

    def register(self, name: str) -> None:
        import wrapt

        for module_name in self.hook(name).watches:
            key = f"{name}:{module_name}"
            if key in self.registered:
                if module_name in sys.modules:
                    self.on_import(name, sys.modules[module_name])
                continue
            self.registered.add(key)
            # Fires at once when the module is already imported, else right after its import.
            wrapt.register_post_import_hook(lambda module, _n=name: self.on_import(_n, module), module_name)



_registry = _Registry()


def normalize_frameworks(frameworks: bool | Mapping[str, bool] | None) -> dict[str, bool]:
    """{hook name: wanted} from `init(frameworks=...)`; an unknown name or type is an error naming it."""
    if frameworks is None or frameworks is True:
        return {name: True for name in HOOK_NAMES}
    if frameworks is False:
        return {name: False for name in HOOK_NAMES}
    if not isinstance(frameworks, Mapping):
        raise TypeError(f"frameworks must be True, False or a mapping of hook name to bool, got {frameworks!r}")
    unknown = sorted(set(frameworks) - set(HOOK_NAMES))
    if unknown:
        raise ValueError(f"unknown framework hook {unknown[0]!r}; known hooks: {', '.join(HOOK_NAMES)}")
    return {name: bool(frameworks.get(name, True)) for name in HOOK_NAMES}


def instrument(frameworks: bool | Mapping[str, bool] | None = True) -> None:
    """Patch the wanted frameworks now if imported, else as soon as they are imported.

    Idempotent. A hook set to False is unpatched. `AUTOLOG_DISABLE=1` turns every hook off.
    """
    from .config import load_settings

    wanted = normalize_frameworks(frameworks)
    if load_settings().disable:
        wanted = {name: False for name in HOOK_NAMES}
    with _registry.lock:
        for name, on in wanted.items():
            _registry.wanted[name] = on
            if on:
                with guard(f"{name} hook setup"):
                    _registry.register(name)
                if name in _registry.hooks:
                    _registry.hooks[name].enabled = True
            elif name in _registry.hooks:
                _registry.hooks[name].enabled = False
                _registry.hooks[name].unpatch()


def uninstrument() -> None:
    """Remove every patch, restoring the frameworks' original functions exactly."""
    with _registry.lock:
        for name in HOOK_NAMES:
            _registry.wanted[name] = False
        for hook in _registry.hooks.values():
            hook.enabled = False
            hook.unpatch()


def patched_hooks() -> dict[str, bool]:
    """Which hooks currently have patches in place (for tests and `autolog` diagnostics)."""
    with _registry.lock:
        return {name: (name in _registry.hooks and _registry.hooks[name].patched) for name in HOOK_NAMES}
