"""Contract v2: typed episode events, command stamps, Cartesian codecs, version check, credits."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from dora.testing import MockNode
from hypothesis import given
from hypothesis import strategies as st

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.flow import Acker, CreditGate
from dora_sim.link import ALL_CLOSED, INPUT, ContractVersionError, NodeLink

names = st.text(min_size=0, max_size=40)
counts = st.integers(0, 10**9)


@given(counts, counts, names, st.integers(-(2**31), 2**31), st.integers(1, 1000))
def test_episode_start_round_trips(frame, index, task, seed, fps):
    event = codec.EpisodeStart(frame, index, task, seed, fps)
    assert codec.decode_episode(*codec.encode_episode(event)) == event


@given(
    counts,
    counts,
    st.booleans(),
    st.sampled_from(sorted(c.END_REASONS)),
    counts,
    st.floats(0, 1e6),
    st.booleans(),
)
def test_episode_end_round_trips(frame, index, success, reason, num_frames, wall, last):
    event = codec.EpisodeEnd(
        frame, index, "task", 3, 30, success, reason, num_frames, num_frames / 30, wall, last
    )
    decoded = codec.decode_episode(*codec.encode_episode(event))
    assert decoded == event
    assert decoded.discarded == (reason in c.DISCARDED_REASONS)


def end_metadata(**changes) -> dict:
    event = codec.EpisodeEnd(5, 1, "t", 0, 30, True, c.END_SUCCESS, 40, 1.3, 1.4, False)
    return {**event.to_metadata(), **changes}


def test_booleans_are_read_one_way_even_as_text():
    """dora may hand flat metadata over as text: "false" must not become True."""
    event = codec.EpisodeEnd.from_metadata(end_metadata(success="false", last="True"))
    assert event.success is False and event.last is True


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({c.MD_SUCCESS: "maybe"}, "not a boolean"),
        ({c.MD_END_REASON: "bored"}, "reason"),
        ({c.MD_NUM_FRAMES: "many"}, "bad or missing"),
        ({c.MD_LAST: 1}, "not a boolean"),
    ],
)
def test_a_malformed_end_event_is_a_contract_error(changes, match):
    with pytest.raises(codec.ContractError, match=match):
        codec.EpisodeEnd.from_metadata(end_metadata(**changes))


def test_an_event_of_unknown_kind_or_missing_field_is_refused():
    with pytest.raises(codec.ContractError, match="unknown kind"):
        codec.decode_episode(codec.encode_text("pause"), {})
    start = codec.EpisodeStart(0, 0, "t", 0, 30).to_metadata()
    del start[c.MD_FPS]
    with pytest.raises(codec.ContractError, match="missing"):
        codec.decode_episode(codec.encode_text(c.EPISODE_START), start)


def test_command_stamp_round_trips_and_absent_fields_stay_absent():
    stamp = codec.CommandStamp(for_frame=12, planned_from=10)
    assert codec.CommandStamp.from_metadata(stamp.to_metadata()) == stamp
    assert codec.CommandStamp().to_metadata() == {}
    assert codec.CommandStamp.from_metadata({}) == codec.CommandStamp()
    with pytest.raises(codec.ContractError):
        codec.CommandStamp.from_metadata({c.MD_FOR_FRAME: "soon"})


def test_ee_target_round_trips_and_rejects_what_cannot_be_meant():
    target = np.array([0.22, -0.05, 0.08, 90.0, 30.0, 40.0], np.float32)
    np.testing.assert_array_equal(codec.decode_ee_target(codec.encode_ee_target(target)), target)
    for bad, match in [
        ([220.0, -50.0, 80.0, 90.0, 0.0, 40.0], "millimetres"),
        ([0.2, 0.0, 0.1, 120.0, 0.0, 40.0], "pitch"),
        ([0.2, 0.0, 0.1, 90.0, 0.0, 140.0], "gripper"),
        ([0.2, np.nan, 0.1, 90.0, 0.0, 40.0], "non-finite"),
    ]:
        with pytest.raises(codec.ContractError, match=match):
            codec.decode_ee_target(pa.array(np.array(bad, np.float32)))


def test_ee_state_round_trip():
    values = np.arange(14, dtype=np.float32) / 10
    ee = codec.decode_ee_state(codec.encode_ee_state(values))
    np.testing.assert_array_equal(ee.pose(), values[:7])
    np.testing.assert_array_equal(ee.delta_quat, values[10:])


def test_ack_round_trip_and_bad_acks():
    assert codec.decode_ack(codec.encode_ack(123456789012)) == 123456789012
    with pytest.raises(codec.ContractError):
        codec.decode_ack(pa.array(np.array([1, 2], np.int64)))
    with pytest.raises(codec.ContractError):
        codec.decode_ack(pa.array(np.array([-1], np.int64)))


def event(input_id: str, metadata: dict) -> dict:
    return {"type": "INPUT", "id": input_id, "value": codec.encode_ack(0), "metadata": metadata}


def test_a_peer_of_another_contract_version_is_refused_on_its_first_message():
    ours = {c.MD_CONTRACT: c.CONTRACT_VERSION}
    link = NodeLink(
        MockNode([event("tick", {}), event("a", ours), event("b", {c.MD_CONTRACT: "1"})])
    )
    assert link.next().kind == INPUT  # dora's own timer carries no version
    assert link.next().kind == INPUT
    with pytest.raises(
        ContractVersionError, match="speaks contract 1; this node speaks contract 2"
    ):
        link.next()
    with pytest.raises(ContractVersionError, match="no dora-sim contract version"):
        NodeLink(MockNode([event("c", {})])).next()


class CapturingNode(MockNode):
    """MockNode keeps only the payloads it is sent; these tests need the metadata too."""

    def __init__(self):
        super().__init__([])
        self.sent: list[tuple[str, dict]] = []

    def send_output(self, output_id, data, metadata=None):
        self.sent.append((output_id, dict(metadata or {})))


def test_every_message_a_link_sends_carries_the_version():
    node = CapturingNode()
    NodeLink(node).send(c.STATUS, codec.encode_text("{}"), {c.MD_FRAME: 3})
    ((output_id, metadata),) = node.sent
    assert output_id == c.STATUS
    assert metadata == {c.MD_FRAME: 3, c.MD_CONTRACT: c.CONTRACT_VERSION}


def test_the_stream_ends_when_every_input_has_closed():
    link = NodeLink(MockNode([]))
    assert link.next().kind == ALL_CLOSED and link.next().ends


def test_credit_gate_holds_exactly_past_the_window():
    gate = CreditGate(window=2)
    gate.expect("ack.recorder")
    assert all(not gate.behind(frame) for frame in range(3))  # frames 0..window flow freely
    assert gate.behind(3) == {"ack.recorder": 3}
    gate.ack("ack.recorder", 0)
    assert not gate.behind(3) and gate.behind(4)
    gate.ack("ack.recorder", 0)  # an old ack never moves the credit back
    gate.closed("ack.recorder")  # a consumer that finished no longer holds the sim
    assert not gate.behind(100)


def test_acker_sends_each_newer_frame_once():
    node = CapturingNode()
    acker = Acker(NodeLink(node))
    for frame in (0, 1, 1, 0, 5):
        acker.take(frame)
    assert acker.taken == 5
    assert [md[c.MD_FRAME] for output_id, md in node.sent if output_id == c.ACK] == [0, 1, 5]
