"""The README's main command prints a console a person can read: progress, no warnings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dora_sim.console import graph_inputs, render
from dora_sim.headless import headless_env

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def entry(level: str, message: str, target: str = "", node: str = "sim") -> dict:
    return {"level": level, "message": message, "target": target, "node_id": node}


GRAPH = {
    "nodes": [
        {"id": "sim", "inputs": {"tick": "dora/timer/hz/30", "ack.recorder": "recorder/ack"}},
        {"id": "expert", "inputs": {"scene": {"source": "sim/scene", "queue_size": 1}}},
        {"id": "recorder", "inputs": {"action": {"source": "sim/a", "queue_size": 20}}},
    ]
}


def test_expected_dora_warnings_are_hidden_and_real_problems_shown():
    inputs = graph_inputs(GRAPH)
    scheduler = "dora_node_api::event_stream::scheduler"
    full = "event channel full; dropping zenoh input. Raise this input's queue_size"
    hidden = [
        entry("WARN", "Discarding event for input `tick` due to queue size limit", scheduler),
        entry("WARN", "output `x`: 259528 B -> zenoh direct path (dora-rs/dora#2742 diagnostic)",
              "dora_node_api::node"),
        entry("WARN", full, "dora_node_api", node="expert"),  # latest-wins inputs only
        entry("DEBUG", "spawning node", "daemon::spawner"),
        entry("INFO", "node is ready", "daemon"),
    ]  # fmt: skip
    assert [render(e, inputs) for e in hidden] == [None] * len(hidden)
    shown = [
        entry("STDOUT", "[dora-sim] episode 1/2 pick-cube: SUCCESS"),
        entry("ERROR", "node sim failed: exited with code 1", "daemon"),
        entry("WARN", "Discarding event for input `action` due to queue size limit", scheduler,
              node="recorder"),  # a lossless input: a real loss
        entry("WARN", full, "dora_node_api", node="sim"),  # the sim has lossless inputs too
        entry("INFO", "all nodes are ready, starting dataflow", "daemon", node=None),
        entry("STDOUT", '{"level":"WARN","fields":{"message":"' + full + '"},"target":"x"}',
              node="sim"),  # a tracing record a node printed itself
    ]  # fmt: skip
    lines = [render(e, inputs) for e in shown]
    assert None not in lines, lines
    assert lines[1].startswith("sim") and "ERROR" in lines[1]
    assert lines[-1] == f"{'sim':<10}| WARN: {full}"


@pytest.mark.slow
def test_the_demo_console_has_progress_and_no_warning(tmp_path):
    result = subprocess.run(
        [str(BIN / "dora-sim"), "run", str(REPO / "dataflows" / "dataflow-demo.yaml")],
        cwd=tmp_path,
        env=headless_env(NUM_EPISODES="1", DATASET_ROOT=str(tmp_path / "ds"), PWD=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert any("episode 1/1 pick-cube" in line for line in lines)
    assert any("saved episode 0" in line for line in lines)
    noisy = [line for line in lines if "WARN" in line or "ERROR" in line]
    assert not noisy, noisy
    assert "full log in" in lines[-1]
