"""Generated dataflows: N copies of a graph in one, and machine placement.

dora has no replica key, so running N simulators (each with its policy and scorer) in one
dataflow means writing N copies of every node under new ids. :func:`replicate` does that: node
``sim`` becomes ``sim-0`` … ``sim-<N-1>``, each copy's inputs point at the same copy's nodes
(``dora/…`` sources such as timers are left alone), and each copy gets its own ``env:`` entries
on top of the original ones. :func:`place` writes dora's ``deploy: {machine: …}`` keys, which
``dora start`` honours across daemons (``dora run`` ignores them).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

Graph = dict[str, Any]


def _source(value: Any) -> str:
    return value["source"] if isinstance(value, dict) else value


def _with_source(value: Any, source: str) -> Any:
    if isinstance(value, dict):
        return {**value, "source": source}
    return source


def copy_id(node_id: str, index: int) -> str:
    return f"{node_id}-{index}"


def replicate(graph: Graph, copies: int, env: Callable[[int], Mapping[str, str]]) -> Graph:
    """``copies`` independent copies of every node of ``graph``; ``env(i)`` adds to copy i's env."""
    if copies < 1:
        raise ValueError(f"copies must be at least 1, got {copies}")
    nodes = graph.get("nodes") or []
    ids = {node["id"] for node in nodes}
    out = copy.deepcopy({k: v for k, v in graph.items() if k != "nodes"})
    out["nodes"] = []
    for index in range(copies):
        for node in nodes:
            twin = copy.deepcopy(node)
            twin["id"] = copy_id(node["id"], index)
            inputs = twin.get("inputs") or {}
            for name, value in inputs.items():
                producer, _, output = _source(value).partition("/")
                if producer in ids:
                    inputs[name] = _with_source(value, f"{copy_id(producer, index)}/{output}")
                elif producer != "dora":
                    raise ValueError(f"{node['id']}.{name}: no node {producer!r} in the graph")
            twin["env"] = {**(twin.get("env") or {}), **env(index)}
            out["nodes"].append(twin)
    return out


def place(graph: Graph, machines: Mapping[str, str], default: str | None = None) -> Graph:
    """``deploy: {machine: …}`` for each node: by its id or, for a copy, its original id (``sim``
    places ``sim-0``, ``sim-1`` …); the others go to ``default`` (or stay unplaced)."""
    out = copy.deepcopy(graph)
    for node in out.get("nodes") or []:
        base, _, index = node["id"].rpartition("-")
        original = base if index.isdigit() and node["id"] not in machines else node["id"]
        machine = machines.get(original, default)
        if machine is not None:
            node["deploy"] = {**(node.get("deploy") or {}), "machine": machine}
    return out
