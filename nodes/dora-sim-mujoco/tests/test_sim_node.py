"""The sim node's dora glue, driven by dora.testing.MockNode: counters, bad input, control."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from dora.testing import MockNode

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.episode import EpisodeConfig, EpisodeMachine
from dora_sim.sim_node import SimNode, serve
from dora_sim_mujoco.simulator import HOME_POSE, SimConfig, Simulator
from dora_sim_mujoco.viewer import PassiveViewer


class CapturingNode(MockNode):
    """MockNode that also keeps each output's metadata."""

    def __init__(self, inputs: list, node_config: dict | None = None):
        super().__init__(inputs, CONTRACT, node_config=node_config)
        self.sent: list[tuple[str, Any, dict]] = []

    def send_output(self, output_id, data, metadata=None):
        super().send_output(output_id, data, metadata)
        self.sent.append((output_id, data, dict(metadata or {})))

    def of(self, output_id: str) -> list[tuple[Any, dict]]:
        return [(d, m) for i, d, m in self.sent if i == output_id]


CONTRACT = {c.MD_CONTRACT: c.CONTRACT_VERSION}  # what every dora-sim node stamps on its messages


@pytest.fixture(scope="module")
def sim() -> Simulator:
    simulator = Simulator(SimConfig(cameras=("front",), height=24, width=32))
    yield simulator
    simulator.close()


def run(
    sim: Simulator,
    inputs: list,
    wired: tuple[str, ...] = (),
    mode: str = c.REALTIME,
    **episode: Any,
) -> tuple[CapturingNode, SimNode]:
    config = EpisodeConfig(**{"num_episodes": 1, "episode_time_s": 1.0, **episode})
    node = CapturingNode(inputs, {"inputs": dict.fromkeys(wired, "x/y")})
    machine = EpisodeMachine(config, sim.config.fps)
    sim_node = SimNode(node, sim, machine, PassiveViewer.none(), mode)
    sim_node.exit_status = serve(sim_node)
    return node, sim_node


def ticks(n: int) -> list:
    return [(c.TICK, pa.array([0]))] * n


def test_every_tick_emits_aligned_counters_on_every_output(sim):
    node, _ = run(sim, ticks(5), episode_time_s=10)
    per_tick = [c.STATE, c.APPLIED_ACTION, c.EE_STATE, c.image_topic("front"), c.SCENE]
    for output in per_tick:
        frames = [m[c.MD_FRAME] for _, m in node.of(output)]
        assert frames == [0, 1, 2, 3, 4], output
        assert [m[c.MD_EPISODE_FRAME] for _, m in node.of(output)] == [0, 1, 2, 3, 4]
    image, md = node.of(c.image_topic("front"))[0]
    assert codec.decode_image(image, md).shape == (24, 32, 3)
    starts = [d for d, _ in node.of(c.EPISODE)]
    assert codec.decode_text(starts[0], "episode") == c.EPISODE_START


def test_session_ends_by_itself_after_the_episode_count(sim):
    node, sim_node = run(sim, ticks(100), episode_time_s=0.5)
    ends = [m for d, m in node.of(c.EPISODE) if codec.decode_text(d, "e") == c.EPISODE_END]
    assert len(ends) == 1 and ends[0][c.MD_LAST] and ends[0][c.MD_NUM_FRAMES] == 15
    assert ends[0][c.MD_END_REASON] == c.END_TIME_LIMIT
    assert len(node.of(c.STATE)) == 15  # the loop stopped; the remaining ticks were not used
    assert sim_node.machine.stopped


def test_bad_actions_are_rejected_and_the_last_good_one_held(sim):
    good = HOME_POSE.copy()
    good[0] = 20.0
    bad = [
        pa.array(np.full(6, np.nan, np.float32)),
        pa.array(np.zeros(5, np.float32)),
        pa.array(np.zeros(6, np.float64)),
        pa.array(["left"]),
    ]
    # (sent after the first tick: an episode start puts the arm back home)
    inputs = [*ticks(1), (c.ACTION, codec.encode_joints(good)), *[(c.ACTION, b) for b in bad]]
    inputs += ticks(2)
    node, sim_node = run(sim, inputs, episode_time_s=10)
    assert sim_node.stats.rejected_messages == 4
    applied = codec.decode_joints(node.of(c.APPLIED_ACTION)[-1][0])
    assert applied[0] == pytest.approx(20.0, abs=1e-3)


def test_out_of_limit_action_is_clipped_and_counted(sim):
    wild = HOME_POSE.copy()
    wild[1] = 175.0
    inputs = [*ticks(1), (c.ACTION, codec.encode_joints(wild)), *ticks(1)]
    node, sim_node = run(sim, inputs, episode_time_s=5)
    assert sim_node.stats.clipped_actions == 1
    assert codec.decode_joints(node.of(c.APPLIED_ACTION)[-1][0])[1] == pytest.approx(100.0, 0.01)


def test_unknown_control_is_logged_and_the_loop_goes_on(sim):
    inputs = [*ticks(1), (c.CONTROL, pa.array(["explode"])), *ticks(2)]
    node, sim_node = run(sim, inputs, episode_time_s=5)
    assert sim_node.stats.rejected_messages == 1
    assert len(node.of(c.STATE)) == 3


def test_stop_control_ends_the_episode_and_the_node(sim):
    inputs = [*ticks(3), (c.CONTROL, codec.encode_control(c.CONTROL_STOP)), *ticks(5)]
    node, _ = run(sim, inputs, num_episodes=10, episode_time_s=5)
    end = node.of(c.EPISODE)[-1][1]
    assert end[c.MD_END_REASON] == c.END_STOP and end[c.MD_LAST] and end[c.MD_NUM_FRAMES] == 3
    assert len(node.of(c.STATE)) == 3


def test_rerecord_starts_a_new_attempt_with_the_same_seed(sim):
    inputs = [*ticks(2), (c.CONTROL, codec.encode_control(c.CONTROL_RERECORD)), *ticks(2)]
    node, _ = run(sim, inputs, num_episodes=1, episode_time_s=5, seed=42)
    events = [(codec.decode_text(d, "e"), m) for d, m in node.of(c.EPISODE)]
    assert [e for e, _ in events] == ["start", "end", "start"]
    assert events[1][1][c.MD_END_REASON] == c.END_RERECORD and not events[1][1][c.MD_LAST]
    assert events[0][1][c.MD_SEED] == events[2][1][c.MD_SEED] == 42
    assert events[2][1][c.MD_EPISODE] == 1


def test_jog_input_moves_the_commanded_target(sim):
    delta = codec.encode_ee_delta(np.array([0.1, 0, 0, 0, 0, 30], np.float32))
    node, _ = run(sim, [*ticks(1), (c.EE_DELTA, delta), *ticks(3)], episode_time_s=5)
    actions = [codec.decode_joints(d) for d, _ in node.of(c.APPLIED_ACTION)]
    assert not np.allclose(actions[0], actions[-1])


def test_unknown_inputs_are_ignored(sim):
    node, _ = run(sim, [("camera", pa.array([1])), *ticks(1)], episode_time_s=5)
    assert len(node.of(c.STATE)) == 1


def test_control_is_accepted_from_several_senders(sim):
    stop = codec.encode_control(c.CONTROL_STOP)
    node, _ = run(sim, [*ticks(2), ("control.recorder", stop), *ticks(3)], num_episodes=5)
    assert node.of(c.EPISODE)[-1][1][c.MD_END_REASON] == c.END_STOP
    assert len(node.of(c.STATE)) == 2


def test_reset_starts_a_fresh_scene_with_the_next_seed(sim):
    inputs = [*ticks(2), (c.CONTROL, codec.encode_control(c.CONTROL_RESET)), *ticks(2)]
    node, _ = run(sim, inputs, num_episodes=1, episode_time_s=5, seed=42)
    starts = [codec.decode_episode(d, m) for d, m in node.of(c.EPISODE)]
    starts = [e for e in starts if isinstance(e, codec.EpisodeStart)]
    assert [e.seed for e in starts] == [42, 43]


def test_ee_target_moves_the_tcp_there_through_the_sims_ik(sim):
    sim.reset(0)
    target = sim.ee_pose()[:3] + np.array([0.03, -0.02, -0.02])
    command = np.r_[target, 90.0, 20.0, 40.0].astype(np.float32)
    inputs = [*ticks(1), (c.EE_TARGET, codec.encode_ee_target(command)), *ticks(45)]
    node, sim_node = run(sim, inputs, episode_time_s=5)
    assert sim_node.stats.ik_failures == 0
    ee = codec.decode_ee_state(node.of(c.EE_STATE)[-1][0])
    assert np.linalg.norm(ee.position - target) < 0.015  # position servos sag a few mm
    first = codec.decode_ee_state(node.of(c.EE_STATE)[0][0])
    assert np.allclose(first.delta_position, 0) and np.allclose(first.delta_quat, [1, 0, 0, 0])
    moved = [codec.decode_ee_state(d).delta_position for d, _ in node.of(c.EE_STATE)[1:]]
    assert max(np.linalg.norm(d) for d in moved) > 1e-4


def test_an_unreachable_ee_target_is_counted_and_the_arm_holds(sim):
    far = np.array([0.9, 0.0, 0.3, 90.0, 0.0, 40.0], np.float32)
    inputs = [*ticks(1), (c.EE_TARGET, codec.encode_ee_target(far)), *ticks(2)]
    node, sim_node = run(sim, inputs, episode_time_s=5)
    assert sim_node.stats.ik_failures == 1
    actions = [codec.decode_joints(d) for d, _ in node.of(c.APPLIED_ACTION)]
    np.testing.assert_allclose(actions[-1], actions[0], atol=1e-4)


def ack(frame: int) -> tuple[str, pa.Array]:
    return ("ack.recorder", codec.encode_ack(frame))


def test_the_sim_holds_while_a_lossless_consumer_is_behind_and_says_so(sim):
    window = c.CREDIT_WINDOW
    inputs = [*ticks(window + 5), ack(2), *ticks(5)]
    node, sim_node = run(sim, inputs, wired=("ack.recorder",), episode_time_s=10)
    # frames 0..window flow, then the sim holds until frame 2 is taken: 3 more frames
    frames = [m[c.MD_FRAME] for _, m in node.of(c.STATE)]
    assert frames == list(range(window + 1 + 3))
    assert sim_node.stats.held_ticks == 4 + 2


def test_a_consumer_that_closes_no_longer_holds_the_sim(sim):
    closed = {"type": "INPUT_CLOSED", "id": "ack.recorder"}
    inputs = [*ticks(c.CREDIT_WINDOW + 3), closed, *ticks(3)]
    node, _ = run(sim, inputs, wired=("ack.recorder",), episode_time_s=10)
    assert len(node.of(c.STATE)) == c.CREDIT_WINDOW + 1 + 3


def test_a_peer_of_another_contract_version_stops_the_sim_at_once(sim):
    old = {"type": "INPUT", "id": c.ACTION, "value": codec.encode_joints(HOME_POSE),
           "metadata": {c.MD_CONTRACT: "1"}}  # fmt: skip
    node, sim_node = run(sim, [*ticks(2), old, *ticks(3)], episode_time_s=5)
    assert sim_node.exit_status == 2 and len(node.of(c.STATE)) == 2


def for_frame(frame: int, pan: float) -> dict:
    """An action meant for ``frame`` (as a lockstep policy stamps it)."""
    action = HOME_POSE.copy()
    action[0] = pan
    md = {**CONTRACT, **codec.CommandStamp(for_frame=frame).to_metadata()}
    return {"type": "INPUT", "id": c.ACTION, "value": codec.encode_joints(action), "metadata": md}


def test_lockstep_waits_for_each_frames_command_whatever_the_ticks(sim):
    ticks_only, _ = run(sim, ticks(10), mode=c.LOCKSTEP, episode_time_s=5)
    assert [m[c.MD_FRAME] for _, m in ticks_only.of(c.STATE)] == [0]  # frame 0 waits
    assert not ticks_only.of(c.APPLIED_ACTION)
    # commands for frames 0..4, some ahead of their frame, ticks anywhere or nowhere
    inputs = [*ticks(1), for_frame(0, 10.0), for_frame(2, 30.0), for_frame(1, 20.0)]
    inputs += [for_frame(3, 40.0), *ticks(3), for_frame(4, 50.0)]
    node, _ = run(sim, inputs, mode=c.LOCKSTEP, episode_time_s=5)
    applied = [
        (m[c.MD_FRAME], float(codec.decode_joints(d)[0])) for d, m in node.of(c.APPLIED_ACTION)
    ]
    assert applied == [(0, 10.0), (1, 20.0), (2, 30.0), (3, 40.0), (4, 50.0)]
    assert [m[c.MD_FRAME] for _, m in node.of(c.STATE)] == [0, 1, 2, 3, 4, 5]  # 5 waits
    again, _ = run(sim, [for_frame(f, 10.0 * (f + 1)) for f in range(5)], mode=c.LOCKSTEP,
                   episode_time_s=5)  # fmt: skip
    states = [codec.decode_joints(d) for d, _ in node.of(c.STATE)]
    np.testing.assert_array_equal(states, [codec.decode_joints(d) for d, _ in again.of(c.STATE)])


def test_lockstep_drops_stale_commands_and_realtime_ignores_for_frame(sim):
    inputs = [for_frame(0, 10.0), for_frame(0, 99.0), for_frame(1, 20.0)]
    node, _ = run(sim, inputs, mode=c.LOCKSTEP, episode_time_s=5)
    assert [float(codec.decode_joints(d)[0]) for d, _ in node.of(c.APPLIED_ACTION)] == [10.0, 20.0]
    node, _ = run(sim, [*ticks(1), for_frame(7, 33.0), *ticks(1)], episode_time_s=5)
    assert float(codec.decode_joints(node.of(c.APPLIED_ACTION)[-1][0])[0]) == 33.0
