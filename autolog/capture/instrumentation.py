"""Hook lifecycle: which framework hooks are wanted, patching them when their framework is imported,
and restoring exactly what was there on `uninstrument()`.

Each framework hook is one small declarative class in `hooks/<name>.py` (installed as
`autolog.hooks.<name>`), a subclass of `Hook`. Everything shared lives here, once: post-import
registration (`importhooks`: wrapt's mechanism without its import cost), idempotency and locking, the
enabled switch, the supported-version check and the bookkeeping that makes unpatching exact
(OpenTelemetry's `BaseInstrumentor`, dd-trace's `patch/unpatch`).
No framework is imported by this module: a hook module is imported only from its framework's
post-import callback.

Import-time patching: `import autolog` calls `install_import_hooks()`, which registers the post-import
callbacks of every hook not turned off from the environment (`AUTOLOG_DISABLE`, `AUTOLOG_DISABLED_HOOKS`).
A framework imported later is patched the moment its import finishes; one imported earlier is patched at
once. Names bound early with `from joblib import dump` are rebound by `Hook.rebind_aliases` (see there).

Locking: the registry lock guards bookkeeping only and is never held while a hook patches, because
`patch()` imports framework submodules: holding it there while another thread's import of the framework
waits for the lock in its post-import callback is a deadlock (issue #8). A module still being imported by
another thread is patched by that thread's callback, or by a helper thread that waits for that import.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

from ..errors import ConfigError
from ..system.log import guard, logger, report_internal_error
from .hookenv import apply_environment, disabled_from_environment

HOOK_NAMES: tuple[str, ...] = (
    "torch",
    "tensorflow",
    "keras",
    "joblib",
    "xgboost",
    "safetensors",
    "lightning",
    "transformers",
    "dcp",
    "accelerate",
    "peft",
    "lightgbm",
    "catboost",
    "torchscript",
    "torch_export",
    "onnx",
    "skops",
)

# The modules whose import triggers each hook, known without importing the hook module (so `import autolog`
# stays cheap). Each hook class declares the same tuple as `watches` (a test checks they agree).
WATCHES: dict[str, tuple[str, ...]] = {
    "torch": ("torch",),
    "tensorflow": ("tensorflow",),
    "keras": ("keras", "keras._tf_keras.keras.saving", "keras._tf_keras.keras.models"),
    "joblib": ("joblib",),
    "xgboost": ("xgboost",),
    "safetensors": ("safetensors", "safetensors.torch", "safetensors.numpy"),
    "lightning": (
        "lightning.fabric.utilities.cloud_io",
        "lightning_fabric.utilities.cloud_io",
        "lightning.pytorch.strategies.fsdp",
        "lightning.pytorch.strategies.model_parallel",
        "pytorch_lightning.strategies.fsdp",
        "pytorch_lightning.strategies.model_parallel",
        "lightning.fabric.strategies.fsdp",
        "lightning.fabric.strategies.model_parallel",
        "lightning_fabric.strategies.fsdp",
        "lightning_fabric.strategies.model_parallel",
        "lightning.pytorch.trainer.trainer",
        "pytorch_lightning.trainer.trainer",
    ),
    "transformers": (
        "transformers.configuration_utils",
        "transformers.modeling_utils",
        "transformers.tokenization_utils_base",
        "transformers.trainer",
    ),
    "dcp": ("torch.distributed.checkpoint", "torch.distributed.checkpoint.format_utils"),
    "accelerate": ("accelerate.accelerator",),
    "peft": ("peft.peft_model",),
    "lightgbm": ("lightgbm",),
    "catboost": ("catboost",),
    "torchscript": ("torch.jit",),
    "torch_export": ("torch.export",),
    "onnx": ("onnx", "onnxruntime", "torch.onnx"),
    "skops": ("skops.io",),
}


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
    # Packages whose own early bindings of a wrapped function are left alone by the alias pass (a decision:
    # joblib's `numpy_pickle.dump` is its cache machinery, not a model save).
    keep_aliases_in: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self._patches: list[_Patch] = []
        self._patched_modules: set[str] = set()
        self._lock = threading.RLock()  # bookkeeping only: never held across an import or a user call
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
            logger.warning(
                "autolog: the %s hook cannot find %s.%s in %s %s; calls through it are not recorded",
                self.name,
                owner_name,
                attr,
                self.distribution,
                self.version(),
            )
            return
        with self._lock:
            current: Any = owner.__dict__.get(attr, _MISSING) if hasattr(owner, "__dict__") else _MISSING
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
            with self._lock:
                ours = [p for p in self._patches if p.owner is source and p.attr == attr]
                current = owner.__dict__.get(attr)
                if not ours or current is not ours[0].original:
                    continue  # not patched at the source, or the re-export is something else (or already ours)
                setattr(owner, attr, ours[0].wrapper)
                self._patches.append(_Patch(owner, attr, current, ours[0].wrapper))

    # -- lifecycle (called by the registry) ----------------------------------------------------------
    def fresh_originals(self, since: int) -> list[tuple[Any, Any, Any]]:
        """(owner, original, wrapper) of the patches from index `since` on whose original can be aliased."""
        return [
            (p.owner, p.original, p.wrapper)
            for p in self._patches[since:]
            if p.original is not _MISSING and p.attr != "__init__"
        ]

    def rebind_aliases(self, since: int, only: list[str] | None = None) -> None:
        """After `patch()`: point early `from x import f` bindings of the originals just wrapped (patches from
        index `since` on) at their wrappers, remembering each so that `unpatch()` restores it."""
        from .aliases import rebind

        for module, attr, original, wrapper in rebind(self.fresh_originals(since), self.keep_aliases_in, only):
            self.add_alias(module, attr, original, wrapper)

    def add_alias(self, module: ModuleType, attr: str, original: Any, wrapper: Any) -> None:
        with self._lock:
            self._patches.append(_Patch(module, attr, original, wrapper))

    def unpatch(self) -> None:
        """Restore every wrapped attribute, if it still holds our wrapper, and every alias of a wrapper."""
        from .aliases import unbind

        with self._lock:
            patches = list(self._patches)
            self._patches.clear()
            self._patched_modules.clear()
        for p in reversed(patches):
            if p.owner.__dict__.get(p.attr) is not p.wrapper:
                continue  # someone replaced it after us: leave theirs alone
            if p.original is _MISSING:
                delattr(p.owner, p.attr)
            else:
                setattr(p.owner, p.attr, p.original)
        # Modules imported while patched bound the wrapper itself (`from joblib import dump`): put it back too.
        unbind({id(p.wrapper): (p.wrapper, p.original) for p in patches if p.original is not _MISSING}.values())

    @property
    def patched(self) -> bool:
        return bool(self._patches)

    def version(self) -> str:
        """Installed version of the first of `distribution` (a name or a tuple of names) that is present."""
        import importlib.metadata

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


def _initializing(module: ModuleType) -> bool:
    """True while `module` is still executing its import (in this thread or another)."""
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


class _Registry:
    """Process-wide state: hook instances, which ones are wanted, post-import registrations.

    `lock` guards this bookkeeping only; no patch runs under it (see the module docstring).
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.hooks: dict[str, Hook] = {}
        self.wanted: dict[str, bool] = {name: False for name in HOOK_NAMES}
        self.registered: set[str] = set()
        self.warned_versions: set[str] = set()
        self.waiting: set[str] = set()  # modules a helper thread waits for (imported by another thread)
        self._batch = threading.local()  # inside instrument(): patches whose alias pass is done once at the end

    def hook(self, name: str) -> Hook:
        with self.lock:
            if name not in self.hooks:
                module = importlib.import_module(f"autolog.hooks.{name}")
                self.hooks[name] = module.HOOK()
            return self.hooks[name]

    def on_import(self, name: str, module: ModuleType, *, maybe_partial: bool = False) -> None:
        """Post-import callback: patch if wanted. Never raises (it runs inside the user's import).

        `maybe_partial`: called for a module found in `sys.modules`, not by its import's completion, so it
        may still be executing in another thread.
        """
        try:
            self._patch(name, module, maybe_partial)
        except Exception as exc:  # noqa: BLE001 - even strict mode must not break `import torch`
            report_internal_error(f"{name} hook setup", exc)  # strict mode records it: the test run fails

    def _patch(self, name: str, module: ModuleType, maybe_partial: bool) -> None:
        if not self.wanted.get(name):
            return
        if maybe_partial and _initializing(module):
            # Still being imported (by another thread, or we were called from inside its import): patching a
            # half-built module would import its submodules under its import lock. Wait for it elsewhere.
            self._patch_when_imported(name, module.__name__)
            return
        hook = self.hook(name)
        with hook._lock:
            if module.__name__ in hook._patched_modules:
                return
            hook._patched_modules.add(module.__name__)
        with self.lock:
            warn = not hook.version_supported() and name not in self.warned_versions
            if warn:
                self.warned_versions.add(name)
        if warn:
            logger.warning(
                "autolog: %s %s is outside the range the %s hook is tested with; recording may be incomplete",
                hook.distribution,
                hook.version(),
                name,
            )
        since = len(hook._patches)
        try:
            hook.patch(module)  # imports framework submodules: no registry lock held here
        except BaseException:
            with hook._lock:
                hook._patched_modules.discard(module.__name__)
            raise
        batch = getattr(self._batch, "pending", None)
        if maybe_partial and batch is not None:
            batch.append((hook, since))  # `instrument()` walks sys.modules once for every hook it patched
        else:
            from .importhooks import imported_meanwhile

            hook.rebind_aliases(since, None if maybe_partial else imported_meanwhile())

    def _patch_when_imported(self, name: str, module_name: str) -> None:
        """Patch `module_name` from a helper thread once its import (held by someone else) has finished."""
        key = f"{name}:{module_name}"
        with self.lock:
            if key in self.waiting:
                return
            self.waiting.add(key)

        def wait() -> None:
            try:
                module = importlib.import_module(module_name)  # blocks until the importing thread is done
                self.on_import(name, module)
            except Exception as exc:  # noqa: BLE001 - a failed user import is theirs to report
                logger.debug("autolog: %s hook: waiting for %s failed: %s", name, module_name, exc)
            finally:
                with self.lock:
                    self.waiting.discard(key)

        threading.Thread(target=wait, name=f"autolog-{name}-import", daemon=True).start()

    def register(self, name: str) -> None:
        """Patch `name`'s watched modules when imported (at once for those already imported)."""
        from .importhooks import when_imported

        for module_name in WATCHES[name]:
            key = f"{name}:{module_name}"
            with self.lock:
                first = key not in self.registered
                self.registered.add(key)
            if first:
                # Runs right after the module's import finishes, in the importing thread.
                def imported(module: ModuleType, _n: str = name) -> Any:
                    return self.on_import(_n, module)

                if not when_imported(module_name, imported):
                    continue
            module = sys.modules.get(module_name)
            if module is not None:
                self.on_import(name, module, maybe_partial=True)


_registry = _Registry()


def normalize_frameworks(frameworks: bool | Mapping[str, bool] | None) -> dict[str, bool]:
    """{hook name: wanted} from `init(frameworks=...)`; an unknown name or type is an error naming it."""
    disabled_from_environment(HOOK_NAMES)  # validated here too, so that `init` fails before recording anything
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

    Idempotent. A hook set to False is unpatched. `AUTOLOG_DISABLE=1` turns every hook off, and
    `AUTOLOG_DISABLED_HOOKS=keras,joblib` the hooks it names.
    """
    wanted = apply_environment(normalize_frameworks(frameworks), HOOK_NAMES)
    with _registry.lock:
        _registry.wanted.update(wanted)
    batch: list[Any] = []
    _registry._batch.pending = batch
    try:
        for name, on in wanted.items():
            if on:
                hook = _registry.hooks.get(name)
                if hook is not None:
                    hook.enabled = True
                with guard(f"{name} hook setup"):
                    _registry.register(name)  # patches outside the registry lock (it may import submodules)
            elif name in _registry.hooks:
                _registry.hooks[name].enabled = False
                _registry.hooks[name].unpatch()
    finally:
        _registry._batch.pending = None
    with guard("alias pass"):
        from .aliases import rebind_batch

        for hook, module, attr, original, wrapper in rebind_batch(
            [(hook, hook.fresh_originals(since), hook.keep_aliases_in) for hook, since in batch]
        ):
            hook.add_alias(module, attr, original, wrapper)


def install_import_hooks() -> None:
    """At `import autolog`: register every hook's post-import callbacks, so a framework is patched the moment
    it is imported (or now, if it already is). Never raises: `import autolog` must not fail over this."""
    try:
        if os.environ.get("AUTOLOG_DISABLE", "").strip().lower() in ("1", "true", "yes", "on"):
            return
        try:
            off = disabled_from_environment(HOOK_NAMES)
        except ValueError as exc:
            logger.warning("autolog: %s; no hook is attached until init() (which raises this error)", exc)
            return
        instrument({name: name not in off for name in HOOK_NAMES})
    except ConfigError as exc:
        # A bad setting is the user's to fix, and `init()` (or the CLI) says so in one clear error.
        logger.debug("autolog: hooks not attached at import: %s", exc)
    except Exception as exc:  # noqa: BLE001 - never break the user's import
        report_internal_error("import-time hook registration", exc)


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
