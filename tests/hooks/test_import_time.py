"""Import-time patching with a real framework (PyTorch): hooks attach whichever of `import autolog`, the framework
import and `init()` comes first; early `from x import f` aliases are rebound and restored; hook setup errors
fail strict mode; no deadlock between `init()` and a framework import in another thread;
`AUTOLOG_DISABLED_HOOKS` turns hooks off from the environment.
"""

from __future__ import annotations

import json
import logging

import pytest

torch = pytest.importorskip("torch")

import autolog  # noqa: E402
import autolog.system.log  # noqa: E402
from autolog.capture import instrumentation  # noqa: E402
from autolog.capture.instrumentation import patched_hooks  # noqa: E402


def test_importing_autolog_patches_a_framework_imported_before_it(run_py):
    proc = run_py("""
        import json, torch
        kept = {"original": torch.save}  # in a dict: module globals holding it would be rebound too
        import autolog
        from autolog.capture.instrumentation import patched_hooks
        print(json.dumps([patched_hooks()["torch"], torch.save is not kept["original"]]))
    """)
    assert json.loads(proc.stdout) == [True, True]


def test_a_framework_imported_after_autolog_is_patched_at_its_import(run_py):
    proc = run_py("""
        import json, sys
        import autolog
        from autolog.capture.instrumentation import patched_hooks
        before = patched_hooks()["torch"]
        import torch
        loaders = {type(torch.__loader__).__name__, type(torch.__spec__.loader).__name__}
        print(json.dumps([before, "torch" in sys.modules, patched_hooks()["torch"], sorted(loaders)]))
    """)
    assert json.loads(proc.stdout) == [False, True, True, ["SourceFileLoader"]]  # the real loader, not ours


EARLY_ALIAS = """
import json, os, sys
sys.path.insert(0, os.getcwd())
with open("mysaver.py", "w") as f:
    f.write("from torch import save, load\\nfrom torch import save as checkpoint\\n")
import torch
original = torch.save
import mysaver                                     # binds the original before autolog patched
import autolog
from autolog.capture.instrumentation import uninstrument
task = autolog.init("aliases", "early")
mysaver.save({"w": torch.ones(2)}, "a.pt")
mysaver.checkpoint({"w": torch.ones(3)}, "b.pt")
with open("late.py", "w") as f:
    f.write("from torch import save\\n")
import late                                        # imported while patched: binds the wrapper
rebound = [mysaver.save is torch.save, mysaver.checkpoint is torch.save, late.save is torch.save]
names = [m.name for m in task.models["output"]]
uninstrument()
restored = [mysaver.save is original, mysaver.checkpoint is original, late.save is original, torch.save is original]
print(json.dumps({"rebound": rebound, "names": names, "restored": restored}))
"""


def test_early_from_import_aliases_are_rebound_and_uninstrument_restores_every_one(run_py):
    result = json.loads(run_py(EARLY_ALIAS).stdout)
    assert result == {"rebound": [True, True, True], "names": ["a.pt", "b.pt"], "restored": [True] * 4}


def test_a_reference_that_cannot_be_rebound_is_logged_at_debug(run_py):
    proc = run_py("""
        import logging, torch
        logging.basicConfig(level=logging.DEBUG)
        def train(save=torch.save):                    # a default argument: not a module global
            return save
        import autolog
    """)
    assert "default argument" in proc.stderr and "cannot rebind" in proc.stderr


def test_an_error_while_patching_fails_strict_mode_and_never_the_import(monkeypatch: pytest.MonkeyPatch):
    hook_cls = type(instrumentation._registry.hook("torch"))

    def broken(self, module):
        raise RuntimeError("patch exploded")

    monkeypatch.setattr(hook_cls, "patch", broken)
    instrumentation.uninstrument()
    instrumentation.instrument({"torch": True})  # torch is imported: patches now, and fails
    swallowed = list(autolog.system.log.swallowed_in_strict_mode)
    autolog.system.log.swallowed_in_strict_mode.clear()
    assert any("torch hook setup" in s and "patch exploded" in s for s in swallowed), swallowed
    assert not patched_hooks()["torch"]


def test_init_racing_a_framework_import_in_another_thread_does_not_deadlock(run_py):
    proc = run_py("""
        import faulthandler, sys, threading, time
        faulthandler.dump_traceback_later(120, exit=True)   # a deadlock prints every stack and fails
        import autolog
        from autolog.capture.instrumentation import patched_hooks
        importer = threading.Thread(target=lambda: __import__("torch"))
        importer.start()
        while "torch" not in sys.modules:                   # torch is now half-imported in the other thread
            time.sleep(0.0005)
        task = autolog.init("race", "init")                  # registers and patches while that import runs
        importer.join(90)
        assert not importer.is_alive(), "deadlock"
        deadline = time.time() + 30
        while not patched_hooks()["torch"] and time.time() < deadline:
            time.sleep(0.01)
        import torch
        torch.save({"w": torch.ones(1)}, "race.pt")
        print([m.name for m in task.models["output"]])
    """)
    assert "['race.pt']" in proc.stdout


def test_disabled_hooks_from_the_environment(run_py, tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AUTOLOG_DISABLED_HOOKS", "joblib, torch")
    with autolog.init("env", "off") as task:
        assert not patched_hooks()["torch"]
        torch.save({"w": torch.ones(1)}, tmp_path / "off.pt")
    assert task.models["output"] == []
    proc = run_py(
        """
        import autolog, torch
        from autolog.capture.instrumentation import patched_hooks
        print(patched_hooks()["torch"])
    """,
        env={"AUTOLOG_DISABLED_HOOKS": "torch"},
    )
    assert proc.stdout.strip() == "False"


def test_an_unknown_name_in_disabled_hooks_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.setenv("AUTOLOG_DISABLED_HOOKS", "torch,kersa")
    with pytest.raises(ValueError, match="AUTOLOG_DISABLED_HOOKS.*'kersa'"):
        autolog.init("env", "bad")
    assert autolog.current_task() is None
    assert autolog.Task.query(project="env") == []
    with caplog.at_level(logging.WARNING, logger="autolog"):
        instrumentation.install_import_hooks()  # at import time: a warning, never an exception
    assert "AUTOLOG_DISABLED_HOOKS" in caplog.text
