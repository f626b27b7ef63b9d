"""The lineage graph around one model or task: tasks, models and artifacts as nodes; "produced", "loaded"
and "used" (an artifact another task fetched) as edges.

Walks `depth` generations up (model -> its producer -> the models it loaded and the artifacts it fetched ->
their producers ...) and down (model -> tasks that loaded it -> what they saved, and their artifacts other
tasks fetched -> ...), breadth first. Artifacts nobody fetched stay off the graph (the task page lists
them). The result is plain data (nodes and edges); the browser lays it out with dagre (vendored in
`static/vendor`). A store can hold tasks with thousands of snapshots or consumers, so the walk stays
readable and fast by collapsing: each task shows at most `PER_NODE` of its inputs and latest outputs, each
model at most `PER_NODE` consumers, the rest become one "N more" node that links to the full list, and the
walk stops at `MAX_NODES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .queries import Queries

PER_NODE = 12
MAX_NODES = 400
MAX_DEPTH = 12


@dataclass
class Graph:
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: dict[tuple[str, str], str] = field(default_factory=dict)
    truncated: bool = False

    def full(self) -> bool:
        return len(self.nodes) >= MAX_NODES

    def task(self, row: dict[str, Any], center: bool = False) -> str:
        key = f"t:{row['id']}"
        if key not in self.nodes:
            self.nodes[key] = {
                "id": key,
                "kind": "task",
                "label": f"{row['project']}/{row['name']}",
                "sub": f"{row['id'][:8]} · {row['status']}",
                "status": row["status"],
                "href": f"/task/{row['id']}",
                "center": center,
            }
        return key

    def model(self, row: dict[str, Any], center: bool = False) -> str:
        key = f"m:{row['id']}"
        if key not in self.nodes:
            self.nodes[key] = {
                "id": key,
                "kind": "model",
                "label": row["name"],
                "sub": f"{row['id'][:8]} · {row['framework'] or 'model'}",
                "href": f"/model/{row['id']}",
                "center": center,
            }
        return key

    def artifact(self, row: dict[str, Any]) -> str:
        key = f"a:{row['id']}"
        if key not in self.nodes:
            self.nodes[key] = {
                "id": key,
                "kind": "artifact",
                "label": row["name"],
                "sub": f"{row['id'][:8]} · {row['type']}",
                "href": f"/artifact/{row['id']}",
                "center": False,
            }
        return key

    def more(self, key: str, count: int, what: str, href: str) -> str:
        node = f"more:{key}:{what}"
        self.nodes[node] = {
            "id": node,
            "kind": "more",
            "label": f"+{count} more {what}",
            "sub": "open the list",
            "href": href,
            "center": False,
        }
        return node

    def edge(self, source: str, target: str, kind: str) -> None:
        self.edges[(source, target)] = kind

    def as_json(self, depth: int) -> dict[str, Any]:
        return {
            "nodes": list(self.nodes.values()),
            "edges": [{"source": s, "target": d, "kind": k} for (s, d), k in self.edges.items()],
            "truncated": self.truncated,
            "depth": depth,
            "max_nodes": MAX_NODES,
        }


def lineage(
    queries: Queries, *, model: dict[str, Any] | None = None, task: dict[str, Any] | None = None, depth: int = 3
) -> dict[str, Any]:
    """The graph around `model` or `task` (one of them), `depth` task generations each way."""
    depth = max(1, min(depth, MAX_DEPTH))
    graph = Graph()
    up_tasks: list[dict[str, Any]] = []
    down_models: list[dict[str, Any]] = []
    down_tasks: list[dict[str, Any]] = []
    if model is not None:
        graph.model(model, center=True)
        if model["task_id"]:
            producer = queries.tasks_by_id({model["task_id"]}).get(model["task_id"])
            if producer is not None:
                graph.edge(graph.task(producer), graph.model(model), "produced")
                up_tasks.append(producer)
        down_models.append(model)
    else:
        assert task is not None
        graph.task(task, center=True)
        up_tasks.append(task)
        down_tasks.append(task)
    _walk_up(queries, graph, up_tasks, depth)
    _walk_down(queries, graph, down_models, down_tasks, depth)
    return graph.as_json(depth)


def _walk_up(queries: Queries, graph: Graph, frontier: list[dict[str, Any]], depth: int) -> None:
    seen: set[str] = {row["id"] for row in frontier}
    for generation in range(1, depth + 1):  # generation 1: the center's producer (or the center task)
        next_frontier: list[dict[str, Any]] = []
        for task_row in frontier:
            if graph.full():
                graph.truncated = True
                return
            task_key = graph.task(task_row)
            inputs = queries.inputs_limited(task_row["id"], PER_NODE)
            for model_row in inputs:
                graph.edge(graph.model(model_row), task_key, "loaded")
            if len(inputs) == PER_NODE:
                total = queries.count_inputs(task_row["id"])
                if total > PER_NODE:
                    graph.edge(
                        graph.more(
                            task_key, total - PER_NODE, "inputs", f"/task/{task_row['id']}?tab=artifacts#inputs"
                        ),
                        task_key,
                        "loaded",
                    )
            fetched = queries.input_artifacts(task_row["id"], PER_NODE)
            for artifact_row in fetched:
                graph.edge(graph.artifact(artifact_row), task_key, "used")
            if len(fetched) == PER_NODE:
                total = queries.count_input_artifacts(task_row["id"])
                if total > PER_NODE:
                    graph.edge(
                        graph.more(
                            task_key,
                            total - PER_NODE,
                            "input artifacts",
                            f"/task/{task_row['id']}?tab=artifacts#input-artifacts",
                        ),
                        task_key,
                        "used",
                    )
            if generation == depth:
                continue  # the last generation shows what it loaded, not who made that
            producers = queries.tasks_by_id({r["task_id"] for r in [*inputs, *fetched] if r["task_id"]})
            for artifact_row in fetched:
                producer = producers.get(artifact_row["task_id"])
                if producer is None:
                    continue
                graph.edge(graph.task(producer), graph.artifact(artifact_row), "produced")
                if producer["id"] not in seen:
                    seen.add(producer["id"])
                    next_frontier.append(producer)
            for model_row in inputs:
                producer = producers.get(model_row["task_id"] or "")
                if producer is None:
                    continue
                graph.edge(graph.task(producer), graph.model(model_row), "produced")
                if producer["id"] not in seen:
                    seen.add(producer["id"])
                    next_frontier.append(producer)
        frontier = next_frontier
        if not frontier:
            return


def _walk_down(
    queries: Queries, graph: Graph, models: list[dict[str, Any]], tasks: list[dict[str, Any]], depth: int
) -> None:
    seen_tasks: set[str] = {row["id"] for row in tasks}
    artifacts: list[dict[str, Any]] = []
    for _generation in range(depth):
        for task_row in tasks:  # what the tasks of this generation saved
            if graph.full():
                graph.truncated = True
                return
            task_key = graph.task(task_row)
            outputs, total = queries.latest_outputs(task_row["id"], PER_NODE)
            for model_row in outputs:
                graph.edge(task_key, graph.model(model_row), "produced")
            if total > len(outputs):
                graph.edge(
                    task_key,
                    graph.more(
                        task_key, total - len(outputs), "snapshots", f"/task/{task_row['id']}?tab=artifacts#outputs"
                    ),
                    "produced",
                )
            models.extend(outputs)
            used, total = queries.used_artifacts(task_row["id"], PER_NODE)
            for artifact_row in used:
                graph.edge(task_key, graph.artifact(artifact_row), "produced")
            if total > len(used):
                graph.edge(
                    task_key,
                    graph.more(
                        task_key, total - len(used), "artifacts", f"/task/{task_row['id']}?tab=artifacts#artifacts"
                    ),
                    "produced",
                )
            artifacts.extend(used)
        tasks = []
        # who fetched the artifacts and who loaded the models: the next generation
        if not (
            _add_consumers(
                graph,
                artifacts,
                graph.artifact,
                queries.artifact_consumers,
                queries.count_artifact_consumers,
                "used",
                "/artifact/{}#consumers",
                seen_tasks,
                tasks,
            )
            and _add_consumers(
                graph,
                models,
                graph.model,
                queries.consumers,
                queries.count_consumers,
                "loaded",
                "/model/{}#consumers",
                seen_tasks,
                tasks,
            )
        ):
            return
        artifacts = []
        models = []
        if not tasks:
            return


def _add_consumers(
    graph: Graph,
    rows: list[dict[str, Any]],
    node: Callable[[dict[str, Any]], str],
    consumers_of: Callable[[str, int], list[dict[str, Any]]],
    count_of: Callable[[str], int],
    edge: str,
    more_url: str,
    seen_tasks: set[str],
    tasks: list[dict[str, Any]],
) -> bool:
    """Add the tasks that used each row (an artifact fetched, a model loaded), at most PER_NODE each with a
    "+N more" node for the rest; new tasks join `tasks`. False when the graph is full (and marked truncated)."""
    for row in rows:
        if graph.full():
            graph.truncated = True
            return False
        key = node(row)
        consumers = consumers_of(row["id"], PER_NODE)
        for consumer in consumers:
            graph.edge(key, graph.task(consumer), edge)
            if consumer["id"] not in seen_tasks:
                seen_tasks.add(consumer["id"])
                tasks.append(consumer)
        if len(consumers) == PER_NODE:
            total = count_of(row["id"])
            if total > PER_NODE:
                graph.edge(key, graph.more(key, total - PER_NODE, "consumers", more_url.format(row["id"])), edge)
    return True
