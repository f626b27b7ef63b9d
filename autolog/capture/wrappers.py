"""The one wrapper shape every hook uses: guarded *before*, the user's call exactly once, guarded *after*.

Contract (from sentry-python and MLflow's `safe_patch`, without their size):
- the user's function runs exactly once, outside any `try` that could swallow or chain onto its exception;
- its return value and its exceptions pass through unchanged; a call that raises is not recorded;
- our work before and after runs under `guard()`: an internal error logs one warning, never reaches them;
- a captured call made inside another captured call (Keras -> TF, XGBModel -> Booster, a framework calling
  `torch.save`) records once, at the outermost call, through a `contextvars` flag (isolated per thread
  and per async task).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Union

from ..system.log import guard
from . import recording

if TYPE_CHECKING:
    from .instrumentation import Hook

_inside_captured_call: contextvars.ContextVar[bool] = contextvars.ContextVar("autolog_inside_call", default=False)
# Set by an outer captured call that needs to see where its nested saves wrote (Lightning's `_atomic_save` to
# object storage hashes the `BytesIO` that `torch.save` filled): called with each nested save's destination.
_nested_observer: contextvars.ContextVar[Callable[[Any], None] | None] = contextvars.ContextVar(
    "autolog_nested_observer", default=None
)

Args = tuple[Any, ...]  # a wrapped call's positional arguments, as wrapt passes them
Kwargs = dict[str, Any]  # and its keyword arguments
# What a target finder may return: a path, an open file with a path, a Target, or None (not recorded).
TargetLike = Union[str, os.PathLike[str], "recording.Target", Any, None]
TargetFinder = Callable[[Any, Args, Kwargs], TargetLike]
ResultFinder = Callable[[Any, Any, Args, Kwargs], TargetLike]
FrameworkName = Union[str, Callable[[Any, Args, Kwargs], str]]


def arg(position: int, keyword: str) -> TargetFinder:
    """A target finder that takes the argument at `position` (counting after self) or `keyword`."""

    def find(instance: Any, args: Args, kwargs: Kwargs) -> Any:
        if keyword in kwargs:
            return kwargs[keyword]
        return args[position] if len(args) > position else None

    return find


def suppressed() -> bool:
    """True inside a captured call: nested saves/loads are part of the outer one."""
    return _inside_captured_call.get()


@contextlib.contextmanager
def observing_nested_saves(observer: Callable[[Any], None]) -> Iterator[None]:
    """While the block runs, `observer(destination)` is called after each nested captured save returns."""
    token = _nested_observer.set(observer)
    try:
        yield
    finally:
        _nested_observer.reset(token)


def _framework(framework: FrameworkName, instance: Any, args: Args, kwargs: Kwargs) -> str:
    return framework(instance, args, kwargs) if callable(framework) else framework


def call_once(wrapped: Callable[..., Any], args: Args, kwargs: Kwargs) -> Any:
    """Run the user's function exactly once with nested captures suppressed; nothing is caught here."""
    token = _inside_captured_call.set(True)
    try:
        return wrapped(*args, **kwargs)
    finally:
        _inside_captured_call.reset(token)


def bypassed(hook: Hook) -> bool:
    """True when a call must go straight to the user's function: hook off, nested, or nothing to record."""
    return not hook.enabled or _inside_captured_call.get() or not recording.active()


def captured(
    hook: Hook,
    where: str,
    before: Callable[[Any, Args, Kwargs], Any],
    after: Callable[[Any, Any, Any, Args, Kwargs], None],
    *,
    bypass: Callable[[Callable[..., Any], Any, Args, Kwargs], Any] | None = None,
    around: Callable[[Any], contextlib.AbstractContextManager[Any]] | None = None,
) -> Callable[..., Any]:
    """The one wrapper body (module docstring), for every hook: `before(instance, args, kwargs)` under `guard`,
    the user's call once, then `after(found, result, instance, args, kwargs)` under `guard`, `found` being what
    `before` returned (None if it failed). Bypassed calls (hook off, nested, no current task) go to `bypass`, or
    straight to the user's function. `around(found)`, when given, is a context manager entered around the
    user's call that cannot fail (it sets a context variable, as `observing_nested_saves` does)."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        if bypassed(hook):
            return wrapped(*args, **kwargs) if bypass is None else bypass(wrapped, instance, args, kwargs)
        found = None
        scope: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        with guard(where):
            found = before(instance, args, kwargs)
            if around is not None:
                scope = around(found)
        with scope:
            result = call_once(wrapped, args, kwargs)
        with guard(where):
            after(found, result, instance, args, kwargs)
        return result

    return wrapper


def save_wrapper(
    hook: Hook, *, target: TargetFinder | None, framework: FrameworkName, from_result: ResultFinder | None = None
) -> Callable[..., Any]:
    """Build a wrapt wrapper that records a successful save as an output snapshot.

    `target` finds the destination before the call, so that an earlier snapshot still waiting for its
    upload at the same path is moved out of the way of an in-place overwrite; `from_result` finds it
    after the call, for APIs that return the path they wrote (TF `Checkpoint.save`).
    """
    where = f"{hook.name} save"

    def nested(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        observer = _nested_observer.get() if _inside_captured_call.get() and hook.enabled else None
        if observer is None or target is None:
            return wrapped(*args, **kwargs)
        result = wrapped(*args, **kwargs)
        with guard(where):
            observer(target(instance, args, kwargs))
        return result

    def before(instance: Any, args: Args, kwargs: Kwargs) -> recording.Target | None:
        found = recording.resolve_target(target(instance, args, kwargs)) if target else None
        recording.protect_previous(found)
        return found

    def after(found: recording.Target | None, result: Any, instance: Any, args: Args, kwargs: Kwargs) -> None:
        if from_result is not None:
            found = recording.resolve_target(from_result(result, instance, args, kwargs)) or found
        recording.record_save(found, _framework(framework, instance, args, kwargs))

    return captured(hook, where, before, after, bypass=nested)


def load_wrapper(
    hook: Hook,
    *,
    target: TargetFinder,
    framework: FrameworkName,
    framework_from_result: Callable[[Any], str | None] | None = None,
) -> Callable[..., Any]:
    """Build a wrapt wrapper that links a successful load to the model whose bytes it read.

    `framework_from_result` names the framework from the loaded object (joblib: `scikit-learn` for an
    estimator); when it returns None, or is not given, `framework` applies.
    """

    def before(instance: Any, args: Args, kwargs: Kwargs) -> recording.Target | None:
        return recording.resolve_target(target(instance, args, kwargs))

    def after(found: recording.Target | None, result: Any, instance: Any, args: Args, kwargs: Kwargs) -> None:
        named = framework_from_result(result) if framework_from_result is not None else None
        recording.record_load(found, named or _framework(framework, instance, args, kwargs))

    return captured(hook, f"{hook.name} load", before, after)


def _local_dir(value: Any) -> str | None:
    if isinstance(value, (str, os.PathLike)) and os.path.isdir(value):
        return os.path.abspath(os.fspath(value))
    return None


def folder_save_wrapper(hook: Hook, *, folder: ResultFinder, framework: FrameworkName) -> Callable[..., Any]:
    """Build a wrapt wrapper that records the local folder `folder(result, instance, args, kwargs)` names, once
    the call returned, as ONE snapshot holding every file in it (a Hugging Face `save_pretrained`)."""

    def before(instance: Any, args: Args, kwargs: Kwargs) -> None:
        return None

    def after(found: None, result: Any, instance: Any, args: Args, kwargs: Kwargs) -> None:
        path = _local_dir(folder(result, instance, args, kwargs))
        if path is not None:
            recording.record_folder_save(path, _framework(framework, instance, args, kwargs))

    return captured(hook, f"{hook.name} save", before, after)


def folder_load_wrapper(hook: Hook, *, source: TargetFinder, framework: FrameworkName) -> Callable[..., Any]:
    """Build a wrapt wrapper that links the local folder `source(instance, args, kwargs)` names (found before
    the call, so that a folder the call changes still links what was read) once the call returned."""

    def before(instance: Any, args: Args, kwargs: Kwargs) -> str | None:
        return _local_dir(source(instance, args, kwargs))

    def after(found: str | None, result: Any, instance: Any, args: Args, kwargs: Kwargs) -> None:
        if found is not None:
            recording.record_folder_load(found, _framework(framework, instance, args, kwargs))

    return captured(hook, f"{hook.name} load", before, after)
