"""`autolog.hooks` resolves to the top-level `hooks/` folder in every kind of install.

Run by the `editable` tox env (`pip install -e .`) and by every wheel env (the `core` env collects it too):
whichever install this is, the hook modules import as `autolog.hooks.<name>`, no top-level `hooks`
package is shipped, and a real `torch.save` in a user program records a snapshot.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

import pytest

import autolog

ROOT = Path(__file__).resolve().parents[2]
HOOK_MODULES = ("torch", "tensorflow", "keras", "joblib", "xgboost", "safetensors")


def _editable() -> bool:
    return Path(autolog.__file__).resolve() == ROOT / "autolog" / "__init__.py"


@pytest.mark.parametrize("name", HOOK_MODULES)
def test_every_hook_module_resolves(name: str) -> None:
    module = importlib.import_module(f"autolog.hooks.{name}")
    assert hasattr(module, "HOOK")
    where = Path(module.__file__).resolve()
    if _editable():
        assert where == ROOT / "hooks" / f"{name}.py"  # the checkout's file, edited in place
    else:
        assert where.parent == Path(autolog.__file__).resolve().parent / "hooks"


def test_no_top_level_hooks_package_is_installed() -> None:
    site = [Path(p) for p in sys.path if p and "site-packages" in p]
    assert site, "no site-packages on sys.path"
    assert not any((p / "hooks").exists() for p in site)


def test_a_torch_save_records_a_snapshot(run_py, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    ckpt = tmp_path / "model.pt"
    out = run_py(f"""
        import json, autolog, torch
        task = autolog.init("layouts", "train")
        torch.save({{"w": torch.ones(3)}}, {str(ckpt)!r})
        print(json.dumps({{"editable": autolog.__file__ == {str(ROOT / "autolog" / "__init__.py")!r},
                          "outputs": [m.name for m in task.models["output"]]}}))
    """)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["outputs"] == ["model.pt"]
    assert result["editable"] == _editable()
    if os.environ.get("AUTOLOG_TEST_EXPECT_EDITABLE") == "1":
        assert result["editable"], "the editable env imported autolog from somewhere else than the checkout"
