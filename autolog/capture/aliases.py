"""Early aliases: names bound with `from x import f` before a hook patched `x.f`.

`from joblib import dump` (the scikit-learn docs' own pattern) or transformers' `from safetensors.torch
import save_file as safe_save_file` copy the function object into the importing module's globals. When that
module was imported before the hook patched `x.f`, it keeps the original and its calls are not recorded.

`rebind(originals)` fixes that with one pass over the modules already imported: every module-level name
whose value *is* (identity, not equality) one of the originals just wrapped is pointed at the wrapper, and
the binding is returned so that unpatching restores it. Cost, bounded: each module's values are checked in
one C-level pass (`set.isdisjoint` over their ids); `instrument()` (so `import autolog` / `init`) makes ONE
walk for every hook it patched, and a patch made when a framework's import finishes walks only the modules
that import brought in (nothing else can hold the framework's functions yet). `bench/` workload `stacks`
times one full walk with torch, transformers and TensorFlow imported (docs/performance.md).
`unbind(wrappers)` is the reverse walk on `uninstrument()`, for modules imported while patched, which
picked up the wrapper itself.

The one pattern that cannot be caught: a reference kept somewhere other than a module's top-level
names before the hook patched — a default argument (`def train(save=torch.save)`), a class attribute, a
dict or list of functions, a closure or `functools.partial`. Those objects are not walked (finding them
means scanning every object in the process). With the `autolog` logger at DEBUG, `report_hidden` asks the
garbage collector who else holds each original and logs them, so a user can see why a save went unrecorded.
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any

from ..system.log import logger

# Module-name prefixes never rebound: our own code and wrapt's keep the originals on purpose.
_SKIP_PREFIXES = ("autolog", "wrapt")


def _skipped(name: str, keep: tuple[str, ...]) -> bool:
    return name.startswith(_SKIP_PREFIXES) or any(name == p or name.startswith(p + ".") for p in keep)


def _modules(keep: tuple[str, ...] = ()) -> list[tuple[str, ModuleType]]:
    return [
        (name, module) for name, module in list(sys.modules.items()) if module is not None and not _skipped(name, keep)
    ]


def _walk(
    replacements: dict[int, tuple[Any, Any]],
    skip: set[int],
    keep: tuple[str, ...] = (),
    only: Iterable[str] | None = None,
) -> list[tuple[ModuleType, str, Any, Any]]:
    """(module, name, old value, new value) for every module global that is one of `replacements`' keys.

    `only`: the names of the modules to visit (those imported since a framework's import began), else all.
    Each module costs one C-level pass (`set.isdisjoint` over the ids of its values); only a module that
    holds a hit is walked name by name.
    """
    ids = set(replacements)
    found = []
    modules: Sequence[tuple[str, ModuleType | None]]
    if only is None:
        modules = _modules(keep)
    else:
        modules = [(n, sys.modules.get(n)) for n in only if not _skipped(n, keep)]
    for _name, module in modules:
        if module is None or id(module) in skip:
            continue
        try:
            namespace = module.__dict__
        except Exception:  # noqa: BLE001 - a lazy module object may refuse attribute access
            continue
        if not isinstance(namespace, dict):
            continue
        try:
            if ids.isdisjoint(map(id, namespace.values())):  # all in C: no other thread runs meanwhile
                continue
            items = list(namespace.items())
        except RuntimeError:  # changed size while another thread imports into it: skip it this time
            continue
        for attr, value in items:
            hit = replacements.get(id(value))
            if hit is not None and hit[0] is value:
                found.append((module, attr, value, hit[1]))
    return found


def rebind(
    originals: Iterable[tuple[Any, Any, Any]], keep: tuple[str, ...] = (), only: Iterable[str] | None = None
) -> list[tuple[ModuleType, str, Any, Any]]:
    """Point module globals holding an original at its wrapper; return (module, name, original, wrapper).

    `originals` holds (owner, original, wrapper) of the patches just made; their owners are skipped, and so
    are the packages in `keep` (a hook's decision: joblib's own `numpy_pickle.dump` is cache traffic).
    `only` limits the walk to the modules imported since the patched framework's import began.
    """
    replacements: dict[int, tuple[Any, Any]] = {}
    owners: set[int] = set()
    for owner, original, wrapper in originals:
        replacements.setdefault(id(original), (original, wrapper))  # the first binding wrapped is the public one
        owners.add(id(owner))
    if not replacements:
        return []
    rebound = []
    for module, attr, original, wrapper in _walk(replacements, owners, keep, only):
        if module.__dict__.get(attr) is original:
            setattr(module, attr, wrapper)
            rebound.append((module, attr, original, wrapper))
    if rebound:
        logger.debug("autolog: rebound early aliases %s", ", ".join(f"{m.__name__}.{a}" for m, a, _, _ in rebound))
    if logger.isEnabledFor(logging.DEBUG):
        report_hidden([o for _owner, o, _w in originals])
    return rebound


def rebind_batch(
    groups: list[tuple[Any, list[tuple[Any, Any, Any]], tuple[str, ...]]],
) -> list[tuple[Any, ModuleType, str, Any, Any]]:
    """`rebind` for several hooks in one walk (what `instrument()` patched at once): `groups` holds
    (hook, originals, keep) and the result (hook, module, name, original, wrapper)."""
    replacements: dict[int, tuple[Any, Any]] = {}
    owner_of: dict[int, tuple[Any, tuple[str, ...]]] = {}
    owners: set[int] = set()
    for hook, originals, keep in groups:
        for owner, original, wrapper in originals:
            replacements.setdefault(id(original), (original, wrapper))
            owner_of.setdefault(id(original), (hook, keep))
            owners.add(id(owner))
    if not replacements:
        return []
    rebound = []
    for module, attr, original, wrapper in _walk(replacements, owners):
        hook, keep = owner_of[id(original)]
        if _skipped(module.__name__, keep) or module.__dict__.get(attr) is not original:
            continue
        setattr(module, attr, wrapper)
        rebound.append((hook, module, attr, original, wrapper))
    if rebound:
        logger.debug("autolog: rebound early aliases %s", ", ".join(f"{m.__name__}.{a}" for _, m, a, _, _ in rebound))
    if logger.isEnabledFor(logging.DEBUG):
        report_hidden([o for _hook, originals, _keep in groups for _owner, o, _w in originals])
    return rebound


def unbind(wrappers: Iterable[tuple[Any, Any]]) -> None:
    """Put the original back in every module global that still holds one of our wrappers."""
    replacements = {id(wrapper): (wrapper, original) for wrapper, original in wrappers}
    if not replacements:
        return
    for module, attr, wrapper, original in _walk(replacements, set()):
        if module.__dict__.get(attr) is wrapper:
            setattr(module, attr, original)


def _kind(holder: Any) -> str | None:
    """What kind of non-module holder this is, or None when it is ours, wrapt's or the interpreter's own."""
    import functools

    if type(holder).__name__ == "cell":
        return "closure"
    if isinstance(holder, functools.partial):
        return "functools.partial"
    owners = [r for r in gc.get_referrers(holder) if r is not holder]
    if any((type(r).__module__ or "").startswith(_SKIP_PREFIXES) for r in owners):
        return None  # our own bookkeeping (a patch record) or a wrapt wrapper
    if isinstance(holder, tuple):
        return "default argument" if any(getattr(r, "__defaults__", None) is holder for r in owners) else None
    if isinstance(holder, dict):
        return "class attribute" if any(isinstance(r, type) for r in owners) else "dict"
    if isinstance(holder, (list, set)):
        return type(holder).__name__
    return None


def report_hidden(originals: list[Any]) -> None:
    """DEBUG only: log holders of an original that autolog cannot rebind (see the module docstring)."""
    module_dicts = {id(m.__dict__) for _n, m in _modules() if isinstance(getattr(m, "__dict__", None), dict)}
    for original in originals:
        for holder in gc.get_referrers(original):
            if id(holder) in module_dicts or isinstance(holder, ModuleType):
                continue
            kind = _kind(holder)
            if kind:
                logger.debug(
                    "autolog: %s is also held by a %s made before the hook patched; autolog cannot "
                    "rebind it, so calls through it are not recorded",
                    getattr(original, "__qualname__", original),
                    kind,
                )
