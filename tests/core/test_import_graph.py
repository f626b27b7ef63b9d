"""The import graph of `autolog/` has no cycle: the core flows one way, from `cli` down to `store`.

Imports are read with `ast` from the source tree, not by importing it. Two graphs are checked:

- module level (what runs at `import`, `if TYPE_CHECKING:` blocks left out: they never run): must be a DAG,
  with no exception. A cycle here is an import-order bug waiting to happen.
- every import, function-level (lazy) ones included: must be a DAG too, except the back edges listed in
  `LAZY_BACK_EDGES`. Lazy imports keep `import autolog` cheap, but a lazy import from a lower layer into a
  higher one is still a dependency the wrong way (the `task` -> `lifecycle` -> `task` circle this test was
  written against). The one kept is in the data model itself: a model's `task` and `consumers` are `Task`
  objects (and an artifact's `consumers` too), and a task's `models` are `Model` objects.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import autolog

SOURCE = Path(autolog.__file__).parent
LAZY_BACK_EDGES = {("autolog.model", "autolog.task"),  # Model.task / Model.consumers build Task objects
                   ("autolog.artifact_inputs", "autolog.task")}  # Artifact.consumers: Task objects too
CORE = {"autolog.lifecycle", "autolog.task", "autolog.artifact", "autolog.model", "autolog.recording",
        "autolog.current"}


def modules() -> dict[str, Path]:
    found = {}
    for path in SOURCE.rglob("*.py"):
        parts = ("autolog",) + path.relative_to(SOURCE).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _nodes(body: list[ast.stmt], lazy: bool) -> Iterator[ast.stmt]:
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not lazy:
            continue
        for name in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(node, name, None)
            if isinstance(inner, list):
                yield from _nodes(inner, lazy)


def imports_of(name: str, path: Path, known: set[str], lazy: bool) -> set[str]:
    """The modules of `autolog` that `name` imports (`from . import x` counts as the submodule x)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in _nodes(ast.parse(path.read_text()).body, lazy):
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


def graph(lazy: bool) -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(name, path, set(mods), lazy) for name, path in mods.items()}


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


def test_all_imports_form_a_dag_but_for_the_listed_back_edges() -> None:
    edges = graph(lazy=True)
    for source, target in LAZY_BACK_EDGES:
        assert target in edges[source], f"{source} no longer imports {target}: drop it from LAZY_BACK_EDGES"
        edges[source].discard(target)
    assert cycles(edges) == []


def test_the_store_and_the_session_never_import_the_core() -> None:
    edges = graph(lazy=True)
    low = [m for m in edges if m.startswith("autolog.store") or m in ("autolog.session", "autolog.current")]
    assert {m: sorted(edges[m] & (CORE - {"autolog.current"})) for m in low} == {m: [] for m in low}


def test_the_checker_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_hooks_reach_the_run_only_through_its_public_surface() -> None:
    """`recording` (what hooks call) and the hooks use `Task.protect` / `record_output` / `record_input`,
    never a task's private fields (`task._session`, `task._record_output`, ...)."""
    import autolog.hooks

    hooks = [path for folder in autolog.hooks.__path__ for path in Path(folder).glob("*.py")]  # wheel or checkout
    files = [SOURCE / "recording.py", SOURCE / "remote_models.py", *hooks]
    assert len(files) > 5
    private = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "task" \
                    and node.attr.startswith("_"):
                private.append(f"{path.name}:{node.lineno} task.{node.attr}")
    assert private == []
