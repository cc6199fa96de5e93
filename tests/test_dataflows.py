"""Every shipped dataflow validates, and the main job runs end to end under real `dora run`."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml
from conftest import DATAFLOWS, dora_env

from dora_sim import contract as c

EPISODE_LINE = re.compile(
    r"\[dora-sim\] episode (\d+)/(\d+) (\S+): (SUCCESS|failure) \((\w+)\), (\d+) frames, "
    r"sim ([\d.]+) s / wall ([\d.]+) s"
)


@pytest.mark.parametrize("descriptor", sorted(DATAFLOWS.glob("*.yaml")), ids=lambda p: p.name)
def test_dataflow_validates(descriptor):
    result = subprocess.run(
        ["dora", "validate", str(descriptor)], env=dora_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def source_of(wiring: str | dict) -> str:
    return wiring if isinstance(wiring, str) else wiring["source"]


SIMULATORS = ("dora-sim-mujoco", "dora-sim-isaac.sh")  # node paths (the Isaac node's launcher)
SIM_OUTPUTS = {c.STATE, c.APPLIED_ACTION, c.EE_STATE, c.SCENE, c.EPISODE, c.STATUS}
# A real arm cannot hold for a consumer (no credits), nor can a sim that keeps pace with one
# (dataflow-twin.yaml): a graph with a real arm takes every frame through dora's backpressure
# queue instead, and its consumers' ``ack`` has no one to reach (docs/follower.md).
REAL_ARMS = ("dora-sim-follower",)


def v2_wiring_problems(graph: dict) -> list[str]:
    """Contract v2 as a graph must wire it: a simulator declares only contract outputs; no input
    uses dora's backpressure; every lossless consumer's ``ack`` reaches the node it reads (an
    input ``ack``/``ack.<name>`` there), whose per-tick outputs it takes with queues that a full
    credit window cannot overflow. A graph with a real arm is exempt (see REAL_ARMS)."""
    nodes = {node["id"]: node for node in graph["nodes"]}
    real_arm = any(str(node["path"]) in REAL_ARMS for node in nodes.values())
    problems = []
    for node in nodes.values():
        inputs, outputs = node.get("inputs") or {}, node.get("outputs") or []
        if str(node["path"]).endswith(SIMULATORS):
            unknown = [
                o for o in outputs if o not in SIM_OUTPUTS and not o.startswith(c.IMAGE_PREFIX)
            ]
            if unknown:
                problems.append(f"{node['id']} declares outputs {unknown} (not contract v2)")
        for name, wiring in inputs.items():
            backpressure = isinstance(wiring, dict) and wiring.get("queue_policy") == "backpressure"
            if backpressure and not real_arm:
                problems.append(f"{node['id']}/{name} uses queue_policy: backpressure")
    for consumer in (n for n in nodes.values() if c.ACK in (n.get("outputs") or [])):
        ack = f"{consumer['id']}/{c.ACK}"
        held = [
            sim["id"]
            for sim in nodes.values()
            for name, wiring in (sim.get("inputs") or {}).items()
            if c.is_ack_input(name) and source_of(wiring) == ack
        ]
        if not held and not real_arm:
            problems.append(f"{ack} is no node's ack input: nothing holds for it")
        for name, wiring in consumer["inputs"].items():
            sender, _, output = source_of(wiring).partition("/")
            size = wiring.get("queue_size", 10) if isinstance(wiring, dict) else 10
            per_tick = output not in (c.EPISODE, c.STATUS)
            if sender in held and per_tick and size < c.CREDIT_QUEUE_SIZE:
                problems.append(f"{consumer['id']}/{name}: queue_size {size} < credit window")
    return problems


@pytest.mark.parametrize("descriptor", sorted(DATAFLOWS.glob("*.yaml")), ids=lambda p: p.name)
def test_dataflow_is_wired_for_contract_v2(descriptor):
    assert v2_wiring_problems(yaml.safe_load(descriptor.read_text())) == []


def test_the_wiring_check_finds_v1_leftovers():
    graph = yaml.safe_load((DATAFLOWS / "dataflow-demo.yaml").read_text())
    nodes = {node["id"]: node for node in graph["nodes"]}
    del nodes["sim"]["inputs"]["ack.recorder"]
    nodes["sim"]["outputs"].append("action")
    nodes["recorder"]["inputs"]["action"] = {"source": "sim/action", "queue_size": 1000,
                                             "queue_policy": "backpressure"}  # fmt: skip
    assert v2_wiring_problems(graph) == [
        "sim declares outputs ['action'] (not contract v2)",
        "recorder/action uses queue_policy: backpressure",
        "recorder/ack is no node's ack input: nothing holds for it",
    ]


@pytest.mark.slow
def test_demo_runs_headless_records_and_exits_by_itself(run_dataflow, tmp_path):
    root = tmp_path / "demo-dataset"
    result = run_dataflow(
        DATAFLOWS / "dataflow-demo.yaml", NUM_EPISODES="2", DATASET_ROOT=str(root)
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["total_episodes"] == 2 and info["robot_type"] == "so101_follower"
    assert str(root) in output  # the recorder says where the dataset is
    episodes = EPISODE_LINE.findall(output)
    assert [e[:3] for e in episodes] == [("1", "2", "pick-cube"), ("2", "2", "pick-cube")]
    assert all(e[3] == "SUCCESS" for e in episodes), episodes
    for *_, frames, sim_s, _wall in episodes:
        assert float(sim_s) == pytest.approx(int(frames) / 30, abs=0.01)  # sim time is exact


@pytest.mark.slow
def test_demo_task_and_episode_count_come_from_the_environment(run_dataflow, tmp_path):
    result = run_dataflow(
        DATAFLOWS / "dataflow-demo.yaml",
        NUM_EPISODES="1",
        TASK="table-cleanup",
        SEED="3",
        DATASET_ROOT=str(tmp_path / "cleanup"),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    episodes = EPISODE_LINE.findall(output)
    assert len(episodes) == 1 and episodes[0][2] == "table-cleanup" and episodes[0][3] == "SUCCESS"
