"""The import graph of `autolog/` has no cycle: the core flows one way, from `cli` down to `store`.

Imports are read with `ast` from the source tree, not by importing it. Two graphs are checked:

- module level (what runs at `import`, `if TYPE_CHECKING:` blocks left out: they never run): must be a DAG,
  with no exception. A cycle here is an import-order bug waiting to happen.
- every import, function-level (lazy) ones included: must be a DAG too, with no exception. Lazy imports keep
  `import autolog` cheap, but a lazy import from a lower layer into a higher one is still a dependency the
  wrong way (the `task` -> `lifecycle` -> `task` circle this test was written against). Where the data model
  itself points up (a model's `task` and `consumers` are `Task` objects, and an artifact's `consumers` too),
  the lower layer reaches `Task` through `autolog.run.taskref`, which the package registers.

Beside the graph: no module reads a private field of `Task` (`task._session`, `task._live`, `Task._create`,
...) from outside `task.py`, nor of `Model` / `Artifact` outside theirs, nor another module's private names
(`current._session`); they give the rest of the package small public functions and methods instead.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import autolog

SOURCE = Path(autolog.__file__).parent
CORE = {
    "autolog.lifecycle",
    "autolog.run.task",
    "autolog.run.artifact",
    "autolog.run.model",
    "autolog.capture.recording",
    "autolog.run.current",
}

# The layers, lowest first: a module imports only from its own layer and the layers below it (type-only
# imports included). `lifecycle` is the one composition root; the package itself sits on top.
LAYERS = [
    ("autolog.errors", "autolog.version", "autolog.system"),
    ("autolog.storage",),
    ("autolog.store",),
    ("autolog.config",),
    ("autolog.pipeline",),
    ("autolog.run",),
    ("autolog.capture", "autolog.hooks"),
    ("autolog.lifecycle",),
    ("autolog.ui",),
    ("autolog.cli",),
    ("autolog", "autolog.__main__"),
]


def modules() -> dict[str, Path]:
    found = {}
    for path in SOURCE.rglob("*.py"):
        parts = ("autolog",) + path.relative_to(SOURCE).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _nodes(body: list[ast.stmt], lazy: bool, type_only: bool = False) -> Iterator[ast.stmt]:
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test) and not type_only:
            continue
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not lazy:
            continue
        for name in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(node, name, None)
            if isinstance(inner, list):
                yield from _nodes(inner, lazy, type_only)


def imports_of(name: str, path: Path, known: set[str], lazy: bool, type_only: bool = False) -> set[str]:
    """The modules of `autolog` that `name` imports (`from . import x` counts as the submodule x)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in _nodes(ast.parse(path.read_text()).body, lazy, type_only):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            subs = {f"{base}.{alias.name}" for alias in node.names} & known
            found |= subs
            if len(subs) < len(node.names) and base in known:
                found.add(base)
    found.discard(name)
    return found


def graph(lazy: bool, type_only: bool = False) -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(name, path, set(mods), lazy, type_only) for name, path in mods.items()}


def layer_of(module: str) -> int:
    """The index in `LAYERS` of the longest prefix that names `module`'s layer."""
    best = max(
        (len(prefix), index)
        for index, prefixes in enumerate(LAYERS)
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    )
    return best[1]


def upward_edges(edges: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{src} -> {dst}" for src, targets in edges.items() for dst in targets if layer_of(dst) > layer_of(src)
    )


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_module_level_imports_form_a_dag() -> None:
    assert cycles(graph(lazy=False)) == []


def test_all_imports_lazy_ones_included_form_a_dag() -> None:
    assert cycles(graph(lazy=True)) == []


def test_model_and_artifact_reach_task_only_through_taskref() -> None:
    edges = graph(lazy=True)
    below_task = edges["autolog.run.model"] | edges["autolog.run.artifact"] | edges["autolog.run.artifact_inputs"]
    assert "autolog.run.task" not in below_task
    assert "autolog.run.taskref" in edges["autolog.run.model"] and "autolog.run.task" in edges["autolog"]


def test_the_store_and_the_session_never_import_the_core() -> None:
    edges = graph(lazy=True)
    low = [
        m for m in edges if m.startswith("autolog.store") or m in ("autolog.pipeline.session", "autolog.run.current")
    ]
    assert {m: sorted(edges[m] & (CORE - {"autolog.run.current"})) for m in low} == {m: [] for m in low}


def test_layers_point_one_way_type_only_imports_included() -> None:
    """Every module of `autolog/` is in a layer, and none imports from a layer above its own."""
    edges = graph(lazy=True, type_only=True)
    assert all(layer_of(m) >= 0 for m in edges)
    assert upward_edges(edges) == []


def test_the_layer_check_sees_an_upward_import() -> None:
    assert upward_edges({"autolog.store.sql": {"autolog.run.task"}, "autolog.cli.commands": {"autolog.run.task"}}) == [
        "autolog.store.sql -> autolog.run.task"
    ]


def test_the_checker_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_hooks_reach_the_run_only_through_its_public_surface() -> None:
    """`recording` (what hooks call) and the hooks use `Task.protect` / `record_output` / `record_input`,
    never a task's private fields (`task._session`, `task._record_output`, ...)."""
    import autolog.hooks

    hooks = [path for folder in autolog.hooks.__path__ for path in Path(folder).glob("*.py")]  # wheel or checkout
    files = [SOURCE / "capture" / "recording.py", SOURCE / "run" / "remote_models.py", *hooks]
    assert len(files) > 5
    private = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "task"
                and node.attr.startswith("_")
            ):
                private.append(f"{path.name}:{node.lineno} task.{node.attr}")
    assert private == []


def class_private_names(cls: ast.ClassDef) -> set[str]:
    """The private attributes a class defines: its `_methods` and the `self._fields` it assigns."""
    names = {n.name for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    names |= {
        n.attr
        for n in ast.walk(cls)
        if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name)
        and n.value.id == "self"
        and isinstance(n.ctx, ast.Store)
    }
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def private_names(path: Path, class_name: str) -> set[str]:
    tree = ast.parse(path.read_text())
    return class_private_names(next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name))


def other_classes_private_names(path: Path, class_name: str) -> set[str]:
    """Private names some other class of `autolog/` defines too (`Model._from_row` beside `Task._from_row`)."""
    names: set[str] = set()
    for other in SOURCE.rglob("*.py"):
        for cls in ast.walk(ast.parse(other.read_text())):
            if isinstance(cls, ast.ClassDef) and not (other == path and cls.name == class_name):
                names |= class_private_names(cls)
    return names


def reads_of_privates(path: Path, owner: str, private: set[str], shared: set[str]) -> list[str]:
    """`x._name` where `_name` is private to class `owner`: always when only `owner` defines it, and when
    another class defines it too, if `x` names one (`task`, `Task`, `current_task()`, `self.task`, ...)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute) or node.attr not in private:
            continue
        receiver = ast.unparse(node.value)
        if receiver in ("self", "cls"):
            continue
        if node.attr not in shared or owner.lower() in receiver.lower():
            found.append(f"{path.name}:{node.lineno} {receiver}.{node.attr}")
    return found


def outside_reads(module: str, owner: str) -> list[str]:
    home = SOURCE / module
    private = private_names(home, owner)
    shared = other_classes_private_names(home, owner) & private
    return [
        hit
        for path in sorted(SOURCE.rglob("*.py"))
        if path != home
        for hit in reads_of_privates(path, owner, private, shared)
    ]


def test_no_module_reads_task_private_fields() -> None:
    assert {"_session", "_row", "_live", "_lock", "_fetched_artifacts", "_create", "_remote_base"} <= private_names(
        SOURCE / "run" / "task.py", "Task"
    )
    assert outside_reads("run/task.py", "Task") == []


def test_no_module_reads_model_or_artifact_private_fields() -> None:
    assert outside_reads("run/model.py", "Model") == []
    assert outside_reads("run/artifact.py", "Artifact") == []


def test_the_private_field_check_sees_a_read(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "def f(task, t, art):\n    task._session.store\n    t._fetched_artifacts\n    Task._create()\n"
        "    art._session()\n    self._row\n    Model._from_row({})\n"
    )
    home = SOURCE / "run" / "task.py"
    private = private_names(home, "Task")
    hits = reads_of_privates(probe, "Task", private, other_classes_private_names(home, "Task") & private)
    assert sorted(h.split(" ")[1] for h in hits) == ["Task._create", "t._fetched_artifacts", "task._session"]


def test_no_module_reads_another_modules_private_names() -> None:
    """`from . import current` then `current._session`: a module's private state read from outside it."""
    known = set(modules())
    found = []
    for name, path in modules().items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text())
        bound = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
                bound |= {
                    alias.asname or alias.name: f"{base}.{alias.name}"
                    for alias in node.names
                    if f"{base}.{alias.name}" in known
                }
            elif isinstance(node, ast.Import):
                bound |= {alias.asname: alias.name for alias in node.names if alias.asname and alias.name in known}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in bound
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                found.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
    assert found == []


def test_hooks_import_autolog_only_through_the_hook_api() -> None:
    """A hook module imports from `autolog.capture.api` and nowhere else in autolog."""
    import autolog.hooks

    hooks = [path for folder in autolog.hooks.__path__ for path in Path(folder).glob("*.py") if path.stem != "__init__"]
    assert len(hooks) >= 8
    found = []
    for path in hooks:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                found.append(f"{path.name}:{node.lineno} relative import")
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            found += [
                f"{path.name}:{node.lineno} {name}"
                for name in names
                if name.split(".")[0] == "autolog" and name != "autolog.capture.api"
            ]
    assert found == []
