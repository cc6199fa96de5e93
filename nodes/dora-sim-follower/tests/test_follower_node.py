"""The follower node (LeRobot's SOFollower inside) against the virtual follower, driven in real
time through dora's MockNode: frames, safety limits and faults."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pytest

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.episode import EpisodeConfig, EpisodeMachine
from dora_sim.link import NodeLink
from dora_sim_follower.config import FollowerConfig, episode_config
from dora_sim_follower.device import FollowerDevice
from dora_sim_follower.node import FollowerNode
from dora_sim_follower.status import ARM_STATUS, FollowerStatus
from dora_sim_leader.device import NotReady
from dora_sim_leader.virtual.roles import FOLLOWER

if TYPE_CHECKING:
    from follower_helpers import ScriptedNode

pytest_plugins = ["follower_helpers"]  # fixtures: calibration_dir, lenient_bus, start_follower

FPS = 30
CAP = 10.0
ONE_TICK_DEG = 360 / 4095
CONTRACT_MD = {c.MD_CONTRACT: c.CONTRACT_VERSION}


def config_for(link: Path | str, directory: Path, **overrides: Any) -> FollowerConfig:
    fields = dict(
        port=str(link),
        id=FOLLOWER.calibration_id,
        calibration_dir=directory,
        max_relative_target=CAP,
        cameras="",
        fps=FPS,
        task="Pick up the cube and lift it",
        hand_success=False,
        read_retries=2,
    )
    return FollowerConfig(**{**fields, **overrides})


def action(pose: np.ndarray, t: float) -> tuple[float, tuple[str, Any, dict]]:
    return t, (c.ACTION, codec.encode_joints(np.asarray(pose, np.float32)), CONTRACT_MD)


def control(command: str, t: float) -> tuple[float, tuple[str, Any, dict]]:
    return t, (c.CONTROL, codec.encode_control(command), CONTRACT_MD)


@dataclass
class Session:
    mock: ScriptedNode
    device: FollowerDevice

    def values(self, output: str) -> np.ndarray:
        return np.array([np.asarray(v) for v, _ in self.mock.of(output)])

    def metadata(self, output: str) -> list[dict[str, Any]]:
        return [md for _, md in self.mock.of(output)]

    def episodes(self) -> list[codec.EpisodeStart | codec.EpisodeEnd]:
        return [codec.decode_episode(v, md) for v, md in self.mock.of(c.EPISODE)]

    def arm_status(self) -> FollowerStatus:
        return FollowerStatus.from_json(codec.decode_text(self.mock.of(ARM_STATUS)[-1][0], "s"))


@pytest.fixture
def run_follower(lenient_bus, calibration_dir: Path) -> Callable[..., Session]:
    """``run_follower(arm, duration, script, **config) -> Session``: the node run to its end."""
    from follower_helpers import ScriptedNode

    def run(arm, duration: float, script: list = (), **overrides: Any) -> Session:
        config = config_for(arm.link, calibration_dir, **overrides)
        device = FollowerDevice(config, {})
        machine = EpisodeMachine(episode_config(EpisodeConfig(num_episodes=0)), FPS)
        mock = ScriptedNode(duration, list(script), FPS)
        FollowerNode(NodeLink(mock), device, machine, config, time.monotonic()).run()
        return Session(mock, device)

    return run


def test_frames_follow_the_timer_with_the_contracts_counters(
    start_follower, run_follower, rest_pose: np.ndarray
) -> None:
    arm = start_follower(rest_pose)
    session = run_follower(arm, 2.0, [action(rest_pose + 3, 0.5)])
    states = session.metadata(c.STATE)
    assert len(states) >= 0.8 * 2.0 * FPS  # one per tick (but the first: it connects the arm)
    frames = [md[c.MD_FRAME] for md in states]
    assert frames == list(range(len(frames)))
    assert [md[c.MD_EPISODE_FRAME] for md in states] == list(range(len(states)))
    # The wall clock, honestly, beside the nominal sim_time = episode_frame / fps.
    read_s = np.array([md[c.MD_READ_AT] for md in states]) / 1e9
    wall_time = np.array([md[c.MD_WALL_TIME] for md in states])
    np.testing.assert_allclose(wall_time, read_s - read_s[0], atol=1e-6)
    assert [md[c.MD_SIM_TIME] for md in states] == [k / FPS for k in range(len(states))]
    applied = session.metadata(c.APPLIED_ACTION)
    assert [md[c.MD_FRAME] for md in applied] == frames
    order = [oid for oid, _, md in session.mock.sent if oid in (c.STATE, c.APPLIED_ACTION)]
    assert order[:2] == [c.APPLIED_ACTION, c.STATE]  # a mirroring sim gets the action first
    start = session.episodes()[0]
    assert isinstance(start, codec.EpisodeStart) and start.frame == frames[0]
    assert all(md[c.MD_CONTRACT] == c.CONTRACT_VERSION for md in states)
    # Before the first action the arm holds where it was; then it goes to the action.
    np.testing.assert_allclose(session.values(c.APPLIED_ACTION)[0], rest_pose, atol=ONE_TICK_DEG)
    np.testing.assert_allclose(session.values(c.STATE)[-1], rest_pose + 3, atol=2 * ONE_TICK_DEG)
    assert not any(arm.torque())  # the session ended: torque off


def test_each_tick_moves_at_most_the_max_relative_target(
    start_follower, run_follower, rest_pose: np.ndarray
) -> None:
    far = rest_pose + np.array([60.0, -50.0, 45.0, -40.0, 70.0, 60.0])
    arm = start_follower(rest_pose)
    session = run_follower(arm, 3.0, [action(far, 0.3)])
    states, applied = session.values(c.STATE), session.values(c.APPLIED_ACTION)
    # The goal written at frame k is capped around the position LeRobot read in send_action,
    # which lies between frame k's reading and frame k+1's (the joint moves toward its goal).
    np.testing.assert_array_less(np.abs(applied[:-1] - states[1:]), CAP + 2 * ONE_TICK_DEG)
    assert session.arm_status().capped >= 70 / CAP - 1
    np.testing.assert_allclose(states[-1], far, atol=2 * ONE_TICK_DEG)  # and it gets there
    loop = codec.SimStatus.from_json(codec.decode_text(session.mock.of(c.STATUS)[-1][0], "s"))
    assert loop.clipped_actions == session.arm_status().capped


def test_a_nan_action_is_rejected_and_the_arm_holds(
    start_follower, run_follower, rest_pose: np.ndarray
) -> None:
    good = rest_pose + 5
    nan = np.array([np.nan, 0, 0, 0, 0, 50], np.float32)
    out_of_range = np.array([0, 0, 0, 0, 0, 250], np.float32)  # gripper beyond 100
    arm = start_follower(rest_pose)
    session = run_follower(
        arm,
        2.5,
        [
            action(good, 0.3),
            (1.0, (c.ACTION, pa.array(nan), CONTRACT_MD)),
            (1.3, (c.ACTION, pa.array(out_of_range), CONTRACT_MD)),
        ],
    )
    applied = session.values(c.APPLIED_ACTION)
    assert np.all(np.isfinite(applied))
    late = [
        value
        for value, md in session.mock.of(c.APPLIED_ACTION)
        if md[c.MD_WALL_TIME] > 0.6  # settled on the good action, then the bad ones came
    ]
    np.testing.assert_allclose(np.array(late), np.tile(good, (len(late), 1)), atol=1e-4)
    np.testing.assert_allclose(arm.pose(), good, atol=2 * ONE_TICK_DEG)  # the arm held
    assert session.arm_status().rejected_messages == 2


def test_an_unplugged_arm_is_reported_discarded_and_reconnected(
    start_follower, run_follower, rest_pose: np.ndarray
) -> None:
    arm = start_follower(rest_pose)
    unplugged = {}

    def unplug() -> None:
        unplugged["pose"] = arm.pose()
        unplugged["at"] = time.time_ns()
        arm.unplug_for(1.5)

    def replugged() -> None:
        unplugged["pose_back"] = arm.pose()
        unplugged["torque"] = arm.torque()
        unplugged["back"] = time.time_ns()

    target = rest_pose + np.array([25.0, 0, 0, 0, 0, 0])
    session = run_follower(
        arm, 5.0, [action(rest_pose + 2, 0.3), (1.2, unplug), (2.75, replugged), action(target, 3)]
    )
    # While unplugged the servos kept their torque and goal: the arm held its pose.
    assert all(unplugged["torque"])
    np.testing.assert_allclose(unplugged["pose_back"], unplugged["pose"], atol=2 * ONE_TICK_DEG)
    reads = [md[c.MD_READ_AT] for md in session.metadata(c.STATE)]
    assert not [t for t in reads if unplugged["at"] + 0.1e9 < t < unplugged["back"]]
    back = [t for t in reads if t > unplugged["back"]]
    assert back and (back[0] - unplugged["back"]) / 1e9 < 1.0  # reconnected within a second
    events = session.episodes()
    ends = [e for e in events if isinstance(e, codec.EpisodeEnd)]
    assert ends[0].reason == c.END_RERECORD  # discarded: its frames stopped with the arm
    starts = [e for e in events if isinstance(e, codec.EpisodeStart)]
    assert len(starts) == 2 and starts[1].frame == ends[0].frame  # recorded again once back
    loop = codec.SimStatus.from_json(codec.decode_text(session.mock.of(c.STATUS)[-1][0], "s"))
    assert loop.late_ticks > 1.2 * FPS  # the time away: ticks without frames, said
    status = session.arm_status()
    assert (status.disconnects, status.reconnects) == (1, 1)
    # After the return it resumes toward the latest action, capped per tick.
    states = session.values(c.STATE)
    assert np.max(np.abs(np.diff(states[-40:, 0]))) <= CAP + 2 * ONE_TICK_DEG
    np.testing.assert_allclose(states[-1], target, atol=2 * ONE_TICK_DEG)


def test_corrupted_replies_are_retried_and_never_read_wrong(
    start_follower, run_follower, rest_pose: np.ndarray
) -> None:
    arm = start_follower(rest_pose)
    session = run_follower(
        arm,
        3.0,
        [
            action(rest_pose, 0.2),
            (0.5, lambda: arm.set_faults(corrupt_rate=0.05)),
            (2.5, lambda: arm.set_faults(corrupt_rate=0.0)),
        ],
    )
    states = session.values(c.STATE)
    assert len(states) > 0.8 * 3.0 * FPS
    np.testing.assert_allclose(states, np.tile(rest_pose, (len(states), 1)), atol=ONE_TICK_DEG)
    status = session.arm_status()
    assert status.comm_errors > 0 and status.recovered > 0
    assert arm.counters().corrupted > 0


def test_torque_goes_off_when_the_node_fails(
    start_follower, calibration_dir: Path, lenient_bus, rest_pose: np.ndarray
) -> None:
    from follower_helpers import ScriptedNode

    arm = start_follower(rest_pose)
    config = config_for(arm.link, calibration_dir)
    device = FollowerDevice(config, {})
    machine = EpisodeMachine(episode_config(EpisodeConfig(num_episodes=0)), FPS)
    seen = {}

    def crash() -> None:
        seen["torque"] = arm.torque()
        raise RuntimeError("a bug in the node")

    mock = ScriptedNode(3.0, [(1.0, crash)], FPS)
    with pytest.raises(RuntimeError, match="a bug"):
        FollowerNode(NodeLink(mock), device, machine, config, time.monotonic()).run()
    assert all(seen["torque"])  # it was on while the node ran
    assert not any(arm.torque())


def test_hand_success_ends_the_episode_as_a_success(
    start_follower, run_follower, rest_pose: np.ndarray
) -> None:
    arm = start_follower(rest_pose)
    session = run_follower(arm, 2.0, [control(c.CONTROL_FINISH, 1.0)], hand_success=True)
    end = next(e for e in session.episodes() if isinstance(e, codec.EpisodeEnd))
    assert (end.success, end.reason) == (True, c.END_SUCCESS)
    assert end.num_frames > 0.5 * FPS and end.sim_time == end.num_frames / FPS
    assert end.wall_time == pytest.approx(end.sim_time, rel=0.25)  # its real duration
    rewards = [md[c.MD_REWARD] for md in session.metadata(c.STATE) if md[c.MD_EPISODE] == 0]
    assert rewards[-1] == 1.0 and rewards.count(1.0) == 1


def test_missing_port_or_calibration_say_what_to_do(calibration_dir: Path) -> None:
    with pytest.raises(NotReady) as err:
        FollowerDevice(config_for("", calibration_dir), {}).connect()
    assert "FOLLOWER_PORT is not set" in str(err.value) and "lerobot-find-port" in str(err.value)
    with pytest.raises(NotReady) as err:
        FollowerDevice(config_for("/dev/ttyNOPE0", calibration_dir, id="my_arm"), {}).connect()
    message = str(err.value)
    assert "lerobot-calibrate --robot.type=so101_follower --robot.port=/dev/ttyNOPE0" in message
    assert FOLLOWER.calibration_id in message  # the ids that do exist there
    with pytest.raises(NotReady) as err:
        FollowerDevice(config_for("/dev/ttyNOPE0", calibration_dir), {}).connect()
    assert "'/dev/ttyNOPE0' does not exist" in str(err.value) and err.value.cheap


def test_an_action_for_a_later_frame_waits_for_that_frame(
    start_follower, run_follower, rest_pose: np.ndarray
) -> None:
    """``for_frame``: sent early, applied at its frame; one older than the applied is dropped."""

    def for_frame(pose: np.ndarray, frame: int, t: float) -> tuple[float, tuple]:
        md = {**CONTRACT_MD, **codec.CommandStamp(for_frame=frame).to_metadata()}
        return t, (c.ACTION, codec.encode_joints(np.asarray(pose, np.float32)), md)

    early, later, stale = rest_pose + 2, rest_pose + 4, rest_pose - 4
    arm = start_follower(rest_pose)
    # The stale one comes at 1.8 s, for frame 15: even at half rate frame 20 is past by then.
    session = run_follower(
        arm, 2.5, [for_frame(early, 10, 0.1), for_frame(later, 20, 0.2), for_frame(stale, 15, 1.8)]
    )
    applied = {md[c.MD_FRAME]: v for v, md in session.mock.of(c.APPLIED_ACTION)}
    np.testing.assert_allclose(applied[9], rest_pose, atol=ONE_TICK_DEG)  # held, not yet due
    np.testing.assert_allclose(applied[10], early, atol=1e-4)
    np.testing.assert_allclose(applied[19], early, atol=1e-4)
    np.testing.assert_allclose(applied[20], later, atol=1e-4)
    np.testing.assert_allclose(applied[max(applied)], later, atol=1e-4)  # the stale one: dropped
    status = session.arm_status()
    assert (status.late_commands, status.dropped_commands) == (0, 1)
