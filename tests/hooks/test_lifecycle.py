"""Every hook's patch lifecycle: import/patch/unpatch in every order, wrappers never stack, unpatch is exact.

Generic over `autolog.capture.instrumentation.HOOK_NAMES`: a hook's patched attributes are read from its `_patches`
list, so a new hook is covered without touching this file. A hook whose framework is not installed is
skipped. The orderings run in fresh interpreters, so that "framework imported after instrument" is real.
"""

from __future__ import annotations

import importlib
import textwrap

import pytest
import wrapt

instrumentation = importlib.import_module("autolog.capture.instrumentation")
HOOK_NAMES = instrumentation.HOOK_NAMES


def hook_class(name: str) -> type:
    return importlib.import_module(f"autolog.hooks.{name}").HOOK


def require_framework(name: str) -> list:
    """Import the hook's watched modules that are installed; skip the test when none is.

    A module without `__file__` is a namespace package, such as a test folder named like the framework
    (`tests/hooks/joblib/`) found on sys.path, not the framework.
    """
    cls = hook_class(name)
    modules = []
    for module_name in cls.watches:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if getattr(module, "__file__", None):
            modules.append(module)
    if not modules:
        pytest.skip(f"{name}: none of {cls.watches} is installed")
    return modules


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_hook_module_declares_its_data(name: str):
    cls = hook_class(name)
    assert issubclass(cls, instrumentation.Hook)
    assert cls.name == name
    assert cls.watches and all(isinstance(m, str) for m in cls.watches)
    # The core registers post-import hooks at `import autolog` from its own table, without the hook module.
    assert instrumentation.WATCHES[name] == cls.watches
    distributions = (cls.distribution,) if isinstance(cls.distribution, str) else cls.distribution
    assert distributions and all(isinstance(d, str) and d for d in distributions)
    assert cls.__module__ == f"autolog.hooks.{name}" and importlib.import_module(cls.__module__).__doc__


# The checks, run in a fresh interpreter: the same code for both import orders.
CHILD = """
import importlib, sys
import wrapt

ins = importlib.import_module("autolog.capture.instrumentation")
NAME, IMPORT_FIRST = {name!r}, {import_first!r}
hook_cls = importlib.import_module("autolog.hooks." + NAME).HOOK
ONLY = {{n: n == NAME for n in ins.HOOK_NAMES}}

def import_watched():
    for module_name in hook_cls.watches:
        try:
            importlib.import_module(module_name)
        except ImportError:
            pass

def patches():
    hook = ins._registry.hooks[NAME]
    assert hook._patches, "instrumented but nothing patched"
    keys = [(id(p.owner), p.attr) for p in hook._patches]
    assert len(keys) == len(set(keys)), "an attribute patched twice"
    for p in hook._patches:
        assert p.owner.__dict__.get(p.attr) is p.wrapper, (p.owner, p.attr)
        assert isinstance(p.wrapper, wrapt.FunctionWrapper)
        inner = p.wrapper.__wrapped__
        assert not isinstance(inner, wrapt.ObjectProxy), ("stacked wrapper", p.owner, p.attr)
        if p.original is not ins._MISSING:
            assert inner is p.original
    return [(p.owner, p.attr, p.original, p.wrapper) for p in hook._patches]

def restored(snapshot):
    assert not ins.patched_hooks()[NAME]
    for owner, attr, original, wrapper in snapshot:
        if original is ins._MISSING:
            assert attr not in owner.__dict__, (owner, attr)
        else:
            assert owner.__dict__[attr] is original, (owner, attr)

if IMPORT_FIRST:
    import_watched()
else:
    assert not any(m in sys.modules for m in hook_cls.watches), "autolog imported the framework"
ins.instrument(ONLY)
if not IMPORT_FIRST:
    assert not ins.patched_hooks()[NAME], "patched before the framework was imported"
    import_watched()
assert ins.patched_hooks()[NAME]
first = patches()

ins.instrument(ONLY)                          # instrument twice: the same wrappers, nothing stacked
again = patches()
assert [w for *_, w in again] == [w for *_, w in first]

import_watched()                              # re-importing the framework changes nothing
assert [w for *_, w in patches()] == [w for *_, w in first]

ins.uninstrument()
restored(first)
ins.uninstrument()                            # uninstrument twice: still the originals
restored(first)

ins.instrument(ONLY)                          # instrument again: new wrappers around the same originals
second = patches()
# A module imported while patched bound the wrapper itself; unpatching put the original back, so the second
# round may rebind it as an alias: the second round holds at least the first round's bindings.
earlier = {{(id(o), a): (orig, w) for o, a, orig, w in first}}
assert set(earlier) <= {{(id(o), a) for o, a, *_ in second}}
for o, a, orig2, w2 in second:
    if (id(o), a) in earlier:
        orig1, w1 = earlier[(id(o), a)]
        assert orig2 is orig1 and w2 is not w1 and w2.__wrapped__ is w1.__wrapped__

ins.instrument({{NAME: False}})                # switching one hook off unpatches it
restored(second)
print("lifecycle ok", len(first))
"""


@pytest.mark.parametrize("import_first", [True, False], ids=["framework-first", "instrument-first"])
@pytest.mark.parametrize("name", HOOK_NAMES)
def test_patch_unpatch_orderings(name: str, import_first: bool, run_py):
    require_framework(name)
    proc = run_py(textwrap.dedent(CHILD).format(name=name, import_first=import_first))
    assert "lifecycle ok" in proc.stdout


def test_all_hooks_together_never_wrap_each_other():
    installed = []
    for name in HOOK_NAMES:
        try:
            require_framework(name)
            installed.append(name)
        except pytest.skip.Exception:
            continue
    if not installed:
        pytest.skip("no framework installed")
    instrumentation.uninstrument()
    instrumentation.instrument(True)
    instrumentation.instrument(True)
    patched = [(name, p) for name in installed for p in instrumentation._registry.hooks[name]._patches]
    owners = [(id(p.owner), p.attr) for _, p in patched]
    assert len(owners) == len(set(owners)), "two hooks patch the same attribute"
    for name, p in patched:
        assert instrumentation.patched_hooks()[name]
        assert p.owner.__dict__.get(p.attr) is p.wrapper
        assert not isinstance(p.wrapper.__wrapped__, wrapt.ObjectProxy), (name, p.owner, p.attr)
    instrumentation.uninstrument()
    for _, p in patched:
        if p.original is instrumentation._MISSING:
            assert p.attr not in p.owner.__dict__
        else:
            assert p.owner.__dict__[p.attr] is p.original
    assert not any(instrumentation.patched_hooks().values())
