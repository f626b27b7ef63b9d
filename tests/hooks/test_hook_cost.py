"""A hook costs nothing until its framework is imported: `import autolog` and `init()` import no hook module and
no framework, only note the watched module names; a framework that is not installed is never looked up again.

Runs in every env (no framework needed): in `core` none of these frameworks is installed at all.
"""

from __future__ import annotations

import json

from autolog.capture.instrumentation import HOOK_NAMES, WATCHES

FORMAT_HOOKS = ("lightgbm", "catboost", "torchscript", "torch_export", "onnx", "skops")
FRAMEWORKS = ("lightgbm", "catboost", "torch", "onnx", "onnxruntime", "onnxscript", "skops", "sklearn", "numpy")


def test_the_format_hooks_are_registered_by_name():
    assert set(FORMAT_HOOKS) <= set(HOOK_NAMES)
    assert WATCHES["onnx"] == ("onnx", "onnxruntime", "torch.onnx")


def test_import_and_init_import_no_hook_module_and_no_framework(run_py):
    proc = run_py(f"""
        import importlib, importlib.util, json, sys
        import autolog
        from autolog.capture import importhooks
        task = autolog.init("cost", "no-framework")
        before = {{"hooks": sorted(m for m in sys.modules if m.startswith("autolog.hooks.")),
                  "frameworks": [m for m in {FRAMEWORKS!r} if m in sys.modules],
                  "pending": sorted(importhooks._pending)}}
        # A watched framework that is not installed here: its import fails exactly as without autolog.
        errors = {{}}
        for name in ("lightgbm", "catboost", "onnx", "onnxruntime", "skops"):
            if importlib.util.find_spec(name) is None:
                try:
                    importlib.import_module(name)
                except ModuleNotFoundError as exc:
                    errors[name] = [type(exc).__name__, str(exc), exc.name]
        before["errors"] = errors
        before["hooks_after"] = sorted(m for m in sys.modules if m.startswith("autolog.hooks."))
        print(json.dumps(before))
    """)
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["hooks"] == [] and found["frameworks"] == []
    for name in FORMAT_HOOKS:
        assert set(WATCHES[name]) <= set(found["pending"]), name  # a name in a dict: the whole cost
    for name, error in found["errors"].items():  # in `core`: every one of them
        assert error == ["ModuleNotFoundError", f"No module named '{name}'", name]
    assert found["hooks_after"] == []
