"""LeRobot's own SOFollower and Feetech bus code against the virtual follower."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from dora_sim import contract as c
from dora_sim_leader.virtual import physical
from dora_sim_leader.virtual.motion import calibration_sweep
from dora_sim_leader.virtual.roles import FOLLOWER

pytest_plugins = ["follower_helpers"]  # fixtures: calibration_dir, lenient_bus, start_follower

TICK = 1 / 30
ONE_TICK_DEG = 360 / 4095  # LeRobot's degrees per encoder tick
SETTLED_S = 0.5  # ten time constants of the position loop at LeRobot's P_Coefficient (16)


def follower(arm, directory: Path, max_relative_target: float | None = None, **kwargs):
    from lerobot.robots.so_follower import SOFollower, SOFollowerRobotConfig

    config = SOFollowerRobotConfig(
        port=str(arm.link),
        id=kwargs.pop("robot_id", FOLLOWER.calibration_id),
        calibration_dir=directory,
        max_relative_target=max_relative_target,
        use_degrees=True,
        **kwargs,
    )
    return SOFollower(config)


def connected(arm, directory: Path, max_relative_target: float | None = None):
    """Connected, with the file's calibration in the motors (as the follower node does it)."""
    robot = follower(arm, directory, max_relative_target)
    robot.bus.connect()
    robot.bus.write_calibration(robot.calibration)
    robot.bus.disconnect(disable_torque=False)
    robot.connect(calibrate=False)
    return robot


def joints(values: dict[str, float]) -> np.ndarray:
    return np.array([values[f"{name}.pos"] for name in c.JOINT_NAMES])


def action(pose: np.ndarray) -> dict[str, float]:
    return {f"{name}.pos": float(v) for name, v in zip(c.JOINT_NAMES, pose, strict=True)}


def test_lerobot_calibration_flow_recovers_the_followers_calibration(
    lenient_bus, start_follower, calibration_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SOFollower.calibrate(): torque off, the hand sweeps the limp joints, ENTER as users do."""
    import lerobot.motors.motors_bus as motors_bus

    sweep = calibration_sweep(
        hold_s=2.0, move_s=0.1, dwell_s=0.3, calibration=physical.FOLLOWER_CALIBRATION
    )
    arm = start_follower(motion=sweep)
    robot = follower(arm, calibration_dir.parent / "fresh", robot_id="fresh_follower")
    robot.connect(calibrate=False)
    assert all(arm.torque())  # configure() turned torque on: the hand cannot move the joints
    monkeypatch.setattr("builtins.input", lambda prompt="": "")  # "middle pose: press ENTER"
    done_at = float(sweep.times[-1]) + 0.1
    monkeypatch.setattr(motors_bus, "enter_pressed", lambda: arm.elapsed() > done_at)
    assert arm.elapsed() < 2.0, "the arm must still be in the middle pose when ENTER is pressed"
    robot.calibrate()
    saved = json.loads(robot.calibration_fpath.read_text())
    assert saved == json.loads(physical.calibration_json(physical.FOLLOWER_CALIBRATION))
    assert robot.is_calibrated
    robot.disconnect()


def test_readings_are_the_arms_pose_in_degrees(
    lenient_bus, start_follower, calibration_dir: Path, rest_pose: np.ndarray
) -> None:
    arm = start_follower(rest_pose)
    robot = follower(arm, calibration_dir)
    robot.connect(calibrate=False)
    assert not robot.is_calibrated  # factory registers
    robot.disconnect()
    robot = connected(arm, calibration_dir)
    assert robot.is_calibrated
    read = joints(robot.get_observation())
    np.testing.assert_allclose(read, rest_pose, atol=ONE_TICK_DEG)
    np.testing.assert_allclose(read, arm.pose(), atol=ONE_TICK_DEG)
    robot.disconnect()


def test_goals_move_the_servos_and_torque_holds_them(
    lenient_bus, start_follower, calibration_dir: Path, rest_pose: np.ndarray
) -> None:
    arm = start_follower(rest_pose)
    robot = connected(arm, calibration_dir)
    assert all(arm.torque())
    np.testing.assert_allclose(arm.pose(), rest_pose, atol=ONE_TICK_DEG)  # no jump at torque on
    goal = rest_pose + np.array([20.0, -15.0, 10.0, -25.0, 30.0, 40.0])
    sent = robot.send_action(action(goal))
    np.testing.assert_allclose(joints(sent), goal)  # no cap configured: sent as asked
    time.sleep(0.05)
    halfway = arm.pose()
    assert np.all(np.abs(halfway - goal) > 1.0), "a servo does not jump to its goal"
    time.sleep(SETTLED_S)
    np.testing.assert_allclose(joints(robot.get_observation()), goal, atol=2 * ONE_TICK_DEG)
    robot.disconnect()


def test_max_relative_target_caps_every_step(
    lenient_bus, start_follower, calibration_dir: Path, rest_pose: np.ndarray
) -> None:
    cap = 5.0
    arm = start_follower(rest_pose)
    robot = connected(arm, calibration_dir, max_relative_target=cap)
    far = rest_pose + np.array([40.0, -40.0, 30.0, -30.0, 50.0, 50.0])
    previous = joints(robot.get_observation())
    steps = 0
    while not np.allclose(previous, far, atol=2 * ONE_TICK_DEG) and steps < 60:
        sent = joints(robot.send_action(action(far)))
        present = joints(robot.get_observation())
        # Each goal is at most `cap` from where the joint was when LeRobot read it, which lies
        # between the reading before and the one after (the servo moves toward its goal).
        assert np.all(np.abs(sent - present) <= cap + 2 * ONE_TICK_DEG), (sent, present)
        time.sleep(TICK)
        previous = joints(robot.get_observation())
        assert np.all(np.abs(previous - present) <= cap + 2 * ONE_TICK_DEG)
        steps += 1
    assert steps >= 50 / cap - 1, "the largest step (50) needs at least 10 capped ticks"
    np.testing.assert_allclose(previous, far, atol=2 * ONE_TICK_DEG)
    robot.disconnect()


def test_torque_goes_off_on_disconnect_and_the_arm_stays(
    lenient_bus, start_follower, calibration_dir: Path, rest_pose: np.ndarray
) -> None:
    arm = start_follower(rest_pose)
    robot = connected(arm, calibration_dir)
    goal = rest_pose + 10.0
    robot.send_action(action(goal))
    time.sleep(SETTLED_S)
    robot.disconnect()  # SOFollowerConfig.disable_torque_on_disconnect, True by default
    assert not any(arm.torque())
    time.sleep(0.2)
    np.testing.assert_allclose(arm.pose(), goal, atol=2 * ONE_TICK_DEG)
