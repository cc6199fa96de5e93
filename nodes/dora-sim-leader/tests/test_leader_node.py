"""The leader node's dora loop on ``dora.testing.MockNode``, with a stand-in for the arm: what it
sends under contract v2, and how it ends."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from dora.testing import MockNode

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.link import NodeLink
from dora_sim_leader.config import LeaderConfig
from dora_sim_leader.device import ReadCounters
from dora_sim_leader.node import LeaderNode
from dora_sim_leader.status import LeaderStatus

CONTRACT = {c.MD_CONTRACT: c.CONTRACT_VERSION}  # what every dora-sim node stamps on its messages
POSE = np.array([10.0, -20.0, 30.0, 40.0, -50.0, 60.0], np.float32)
TIMEOUT = {"type": "ERROR", "error": "Timeout"}  # what dora 1.1's next(timeout=…) returns


class FakeArm:
    """A leader arm that is always there and always reads POSE."""

    def __init__(self) -> None:
        self.config = LeaderConfig("/dev/fake-arm", "fake", Path("/nonexistent"), 200.0, 1)
        self.counters = ReadCounters()
        self.connected = False
        self.closed = 0

    def connect(self) -> None:
        self.connected = True

    def read(self) -> np.ndarray:
        self.counters.reads += 1
        return POSE.copy()

    def close(self) -> None:
        self.connected = False
        self.closed += 1


class PacedNode(MockNode):
    """MockNode whose scripted timeouts take as long as asked, and which keeps output metadata."""

    def __init__(self, inputs: list):
        super().__init__(inputs, CONTRACT)
        self.sent: list[tuple[str, Any, dict]] = []

    def next(self, timeout: float | None = None) -> dict | None:
        event = super().next(timeout)
        if event == TIMEOUT:
            time.sleep(timeout or 0.0)
        return event

    def send_output(self, output_id: str, data: Any, metadata: dict | None = None) -> None:
        self.sent.append((output_id, data, dict(metadata or {})))

    def of(self, output_id: str) -> list[tuple[Any, dict]]:
        return [(d, m) for i, d, m in self.sent if i == output_id]


def sim_status(frame: int) -> tuple[str, Any]:
    status = codec.SimStatus(frame, 0, c.PHASE_EPISODE, 30.0, 30.0, 1.0, 0, 0.0, 0, 0, 0)
    return ("sim_status", codec.encode_text(status.to_json()))


def test_readings_go_out_as_stamped_actions_until_dora_stops_the_node():
    node = PacedNode([sim_status(0), *[TIMEOUT] * 30, sim_status(30), *[TIMEOUT] * 10])
    arm = FakeArm()
    started = time.monotonic()
    assert LeaderNode(NodeLink(node), arm, started).run() == 0
    actions = node.of(c.ACTION)
    assert len(actions) >= 10, f"only {len(actions)} readings in {len(node.sent)} outputs"
    for value, md in actions:
        np.testing.assert_array_equal(codec.decode_joints(value), POSE)
        assert md[c.MD_CONTRACT] == c.CONTRACT_VERSION
        assert md[c.MD_READ_AT] <= md[c.MD_SENT_AT]
    value, md = node.of(c.STATUS)[-1]  # sent on connecting, then once a second
    assert LeaderStatus.from_json(codec.decode_text(value, c.STATUS)).connected
    assert md[c.MD_CONTRACT] == c.CONTRACT_VERSION
    assert arm.closed == 1 and not arm.connected  # the port is released at the end


def test_a_simulator_of_another_contract_version_ends_the_node_with_an_error(caplog):
    v1_status = {"type": "INPUT", "id": "sim_status", "value": sim_status(0)[1], "metadata": {}}
    node = PacedNode([v1_status, *[TIMEOUT] * 10])
    arm = FakeArm()
    assert LeaderNode(NodeLink(node), arm, time.monotonic()).run() == 2
    assert node.of(c.ACTION) == []
    assert arm.closed == 1
    assert "'sim_status' comes from a node that speaks no dora-sim contract version" in caplog.text


def test_readings_are_paced_by_the_rate_not_by_dora_events():
    node = PacedNode([sim_status(i) for i in range(300)])  # a flood of events, no waiting
    arm = FakeArm()
    started = time.monotonic()
    LeaderNode(NodeLink(node), arm, started).run()
    elapsed = time.monotonic() - started
    assert arm.counters.reads <= elapsed * arm.config.rate_hz + 1
