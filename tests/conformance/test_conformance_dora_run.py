"""Each simulator node under a real ``dora run``: shared memory, timers, a closed loop, exit.

A probe node (``dora_probe.py``) sends an action and a ``finish`` control in each episode and
records every frame; the graph must end by itself (exit status 0) after NUM_EPISODES=2. Like the
recorder, it is a lossless consumer: it acknowledges frames (``ack`` -> the sim's ``ack.probe``)
and its per-tick inputs have the contract's CREDIT_QUEUE_SIZE, so it sees every frame only if
the sim holds for its credits. The Isaac node
runs on the fake Isaac Lab (``fake_isaaclab/``) through the launcher the Isaac dataflows use
(``nodes/dora-sim-isaac/dora-sim-isaac.sh``), with this venv's Python as ISAAC_PYTHON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import isaac_fake
import numpy as np
import pytest
import yaml
from conftest import dora_env

from dora_sim import contract as c

HERE = Path(__file__).resolve().parent
PER_TICK = [c.STATE, c.APPLIED_ACTION, c.EE_STATE, c.image_topic("front"), c.SCENE]
SESSION = {"NUM_EPISODES": "2", "EPISODE_TIME_S": "5", "CAMERAS": "front",
           "IMAGE_HEIGHT": "24", "IMAGE_WIDTH": "32", "SEED": "0"}  # fmt: skip

SIMS = {
    "mujoco": {"path": "dora-sim-mujoco", "env": {}},
    "isaac": {
        "path": str(isaac_fake.NODE / "dora-sim-isaac.sh"),
        "env": {
            "ISAAC_PYTHON": sys.executable,
            "PYTHONPATH": os.pathsep.join([str(isaac_fake.FAKE), str(isaac_fake.NODE)]),
            "ISAAC_DEVICE": "cpu",
        },
    },
}


def queue_size(name: str) -> int:
    """Per-tick inputs: what credits guarantee never overflows; events: room to spare."""
    return c.CREDIT_QUEUE_SIZE if name in PER_TICK else 100


def dataflow(sim: dict, probe_out: Path) -> dict:
    sim_node = {
        "id": "sim",
        "path": sim["path"],
        "inputs": {
            "tick": {"source": "dora/timer/hz/30", "queue_size": 1},
            "action": {"source": "probe/action", "queue_size": 1},
            "control": "probe/control",
            "ack.probe": {"source": "probe/ack", "queue_size": 100},  # as the shipped graphs
        },
        "outputs": [*PER_TICK, c.EPISODE, c.STATUS],
        "env": {**SESSION, **sim["env"]},
    }
    probe = {
        "id": "probe",
        "path": sys.executable,
        "args": str(HERE / "dora_probe.py"),
        "inputs": {
            name: {"source": f"sim/{name}", "queue_size": queue_size(name)}
            for name in [*PER_TICK, c.EPISODE, c.STATUS]
        },
        "outputs": [c.ACTION, c.CONTROL, c.ACK],
        "env": {"PROBE_OUT": str(probe_out)},
    }
    return {"nodes": [sim_node, probe]}


@pytest.mark.parametrize("name", sorted(SIMS))
def test_sim_node_under_dora_run(name, tmp_path):
    probe_out = tmp_path / "probe.json"
    descriptor = tmp_path / f"conformance-{name}.yaml"
    descriptor.write_text(yaml.safe_dump(dataflow(SIMS[name], probe_out), sort_keys=False))
    result = subprocess.run(
        ["dora", "run", str(descriptor), "--stop-after", "120s"],
        cwd=tmp_path,
        env=dora_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    record = json.loads(probe_out.read_text())

    events = [e["event"] for e in record["episodes"]]
    assert events == ["start", "end", "start", "end"]
    starts = [e for e in record["episodes"] if e["event"] == "start"]
    assert [e[c.MD_SEED] for e in starts] == [0, 1]  # SEED, then the next scene's
    ends = [e for e in record["episodes"] if e["event"] == "end"]
    assert [e[c.MD_LAST] for e in ends] == [False, True]
    reasons = [e[c.MD_END_REASON] for e in ends]
    assert c.END_FINISH in reasons and set(reasons) <= {c.END_FINISH, c.END_TIME_LIMIT}
    assert all(e[c.MD_NUM_FRAMES] > 8 for e in ends if e[c.MD_END_REASON] == c.END_FINISH)

    frames = [f for f, _, _ in record["frames"][c.STATE]]
    assert frames == list(range(len(frames))), "frames skipped or repeated"
    for output in PER_TICK:
        assert record["frames"][output] == record["frames"][c.STATE], output
    episode_frames = sum(1 for _, _, phase in record["frames"][c.STATE] if phase == "episode")
    assert episode_frames == sum(e[c.MD_NUM_FRAMES] for e in ends)
    sent = record["sent_actions"]
    assert any(np.allclose(a, s, atol=1e-3) for a in record["actions"] for s in sent)
    assert all(status["rejected_messages"] == 0 for status in record["statuses"])
