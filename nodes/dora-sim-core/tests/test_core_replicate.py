"""Generated graphs: N copies of a dataflow wired copy by copy, and dora machine placement."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from dora_sim.console import find_dora
from dora_sim.replicate import place, replicate

REPO = Path(__file__).resolve().parents[3]
EVAL = yaml.safe_load((REPO / "dataflows" / "dataflow-eval.yaml").read_text())


def test_every_copy_is_wired_to_its_own_nodes_and_keeps_the_timers():
    graph = replicate(EVAL, 3, lambda i: {"SEED": str(100 + i)})
    ids = [node["id"] for node in graph["nodes"]]
    assert ids == [f"{n}-{i}" for i in range(3) for n in ("sim", "policy", "eval")]
    for node in graph["nodes"]:
        index = node["id"].rsplit("-", 1)[1]
        assert node["env"]["SEED"] == str(100 + int(index))
        for value in node["inputs"].values():
            source = value["source"] if isinstance(value, dict) else value
            producer = source.split("/")[0]
            assert producer == "dora" or producer.endswith(f"-{index}"), (node["id"], source)
    sim1 = graph["nodes"][3]
    assert sim1["inputs"]["tick"] == {"source": "dora/timer/hz/30", "queue_size": 1}
    assert sim1["inputs"]["action"]["source"] == "policy-1/action"
    # the graph's own env entries stay (the eval graphs' lockstep default)
    assert sim1["env"]["EVAL_MODE_DEFAULT"] == "lockstep"


def test_the_generated_graph_is_one_dora_accepts(tmp_path):
    path = tmp_path / "graph.yaml"
    graph = place(replicate(EVAL, 2, lambda i: {}), {"policy": "gpu"}, default="cpu")
    path.write_text(yaml.safe_dump(graph, sort_keys=False))
    dora = find_dora()
    if dora is None:  # dora-sim-core alone (an Isaac Python) has no dora CLI; the workspace has
        pytest.skip("no dora CLI (dora-rs-cli) installed")
    result = subprocess.run([dora, "validate", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_placement_by_original_id_covers_every_copy():
    graph = place(replicate(EVAL, 2, lambda i: {}), {"policy": "gpu"}, default="cpu")
    machines = {node["id"]: node["deploy"]["machine"] for node in graph["nodes"]}
    assert machines == {
        "sim-0": "cpu",
        "policy-0": "gpu",
        "eval-0": "cpu",
        "sim-1": "cpu",
        "policy-1": "gpu",
        "eval-1": "cpu",
    }
    unplaced = place(EVAL, {"policy": "gpu"})
    assert [n.get("deploy") for n in unplaced["nodes"]] == [None, {"machine": "gpu"}, None]


def test_a_source_that_names_no_node_is_an_error():
    broken = {"nodes": [{"id": "a", "path": "x", "inputs": {"in": "ghost/out"}}]}
    with pytest.raises(ValueError, match="no node 'ghost'"):
        replicate(broken, 2, lambda i: {})
    with pytest.raises(ValueError, match="at least 1"):
        replicate(EVAL, 0, lambda i: {})
