"""The ``dora_sim_so101`` robot through LeRobot's public robot API, in process (no CLI).

The CLIs themselves (lerobot-record, lerobot-teleoperate) are run in ``tests/lerobot_cli``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from lerobot.robots import RobotConfig, make_robot_from_config
from lerobot.robots.so_follower import SO101Follower, SO101FollowerConfig
from lerobot.utils.import_utils import register_third_party_plugins

from dora_sim import contract as c
from lerobot_robot_dora_sim import DoraSimSO101, DoraSimSO101Config, SimCameraConfig
from lerobot_robot_dora_sim.announcements import check_lerobot_record, parse
from lerobot_robot_dora_sim.pace import PaceMonitor
from lerobot_robot_dora_sim.simulation import build_simulator

SMALL = {"front": SimCameraConfig(24, 32), "wrist": SimCameraConfig(24, 32)}


def make(tmp_path: Path, **overrides) -> DoraSimSO101:
    """The robot as LeRobot's CLIs build it: plugin import, registered config, factory."""
    register_third_party_plugins()
    config_class = RobotConfig.get_choice_class("dora_sim_so101")
    config = config_class(calibration_dir=tmp_path, **{"cameras": SMALL, **overrides})
    return make_robot_from_config(config)


@pytest.fixture
def robot(tmp_path: Path):
    robot = make(tmp_path)
    robot.connect()
    yield robot
    if robot.is_connected:
        robot.disconnect()


def hold(robot: DoraSimSO101, target: dict[str, float], ticks: int) -> dict:
    for _ in range(ticks):
        robot.get_observation()
        robot.send_action(target)
    return robot.get_observation()


def test_features_are_a_real_so101_followers(tmp_path: Path) -> None:
    real = SO101Follower(SO101FollowerConfig(port="/dev/null", calibration_dir=tmp_path))
    sim = make(tmp_path)
    assert isinstance(sim, DoraSimSO101)
    # robot_type of the dataset: the contract's, as the dora recorder writes it (LeRobot 0.6's own
    # SO follower class says "so_follower" for SO-100 and SO-101 alike)
    assert sim.name == c.ROBOT_TYPE == "so101_follower"
    assert sim.action_features == real.action_features
    assert list(sim.observation_features) == [*real.observation_features, "front", "wrist"]
    assert sim.observation_features["front"] == (24, 32, 3)


def test_observation_does_not_move_time_and_each_action_is_one_tick(robot) -> None:
    first, again = robot.get_observation(), robot.get_observation()
    assert robot.sim.sim_time == 0.0
    np.testing.assert_array_equal(first["front"], again["front"])
    assert first["front"] is not again["front"]  # LeRobot writes frames asynchronously
    assert first["wrist"].shape == (24, 32, 3) and first["wrist"].dtype == np.uint8
    for k in range(1, 4):
        robot.send_action({name: first[name] for name in c.MOTOR_FEATURE_NAMES})
        assert robot.sim.sim_time == pytest.approx(k / 30)


def test_actions_in_follower_units_reach_the_joints(robot) -> None:
    target = {"shoulder_pan.pos": 20.0, "shoulder_lift.pos": -30.0, "elbow_flex.pos": 25.0,
              "wrist_flex.pos": 60.0, "wrist_roll.pos": -45.0, "gripper.pos": 80.0}  # fmt: skip
    obs = hold(robot, target, 60)
    for name, value in target.items():
        assert obs[name] == pytest.approx(value, abs=3.0), name


def test_targets_beyond_the_joint_limits_are_clipped_and_returned(robot) -> None:
    obs = robot.get_observation()
    action = {name: obs[name] for name in c.MOTOR_FEATURE_NAMES} | {"shoulder_pan.pos": 170.0}
    sent = robot.send_action(action)
    assert sent["shoulder_pan.pos"] == pytest.approx(np.rad2deg(1.91986), abs=1e-3)
    assert robot.clipped_actions == 1


def test_malformed_action_holds_the_last_target(robot, caplog) -> None:
    obs = robot.get_observation()
    good = {name: obs[name] for name in c.MOTOR_FEATURE_NAMES} | {"gripper.pos": 70.0}
    robot.send_action(good)
    with caplog.at_level(logging.ERROR):
        sent = robot.send_action(good | {"elbow_flex.pos": float("nan")})
    assert sent == pytest.approx(good, abs=1e-4)
    assert robot.rejected_actions == 1 and "elbow_flex" in caplog.text
    with pytest.raises(ValueError, match=r"shoulder_pan\.pos.*delta_x"):
        robot.send_action({"x": 1.0})


def test_keyboard_ee_actions_jog_the_gripper(tmp_path: Path) -> None:
    robot = make(tmp_path, reset_arm=True)  # start at home, where the jog has room
    robot.connect()
    start = robot.sim.ee_pose()[:3]
    opening = robot.get_observation()["gripper.pos"]
    for _ in range(15):  # 0.5 s forward and opening
        robot.get_observation()
        robot.send_action({"delta_x": 1.0, "delta_y": 0.0, "delta_z": 0.0, "gripper": 2.0})
    hold(robot, {"delta_x": 0.0, "delta_y": 0.0, "delta_z": 0.0}, 15)
    moved = robot.sim.ee_pose()[:3] - start
    assert moved[0] == pytest.approx(0.05, abs=0.015)  # 0.1 m/s for 0.5 s
    assert abs(moved[1]) < 0.01
    assert robot.sim.target_contract()[c.GRIPPER_INDEX] > opening + 40
    robot.disconnect()


def test_record_announcements_reset_the_scene_with_seed_plus_episode(robot, caplog) -> None:
    reference = build_simulator(task="pick-cube", fps=30, cameras={}, render_profile="fast",
                                simulator="mujoco", reset_arm=False)  # fmt: skip
    reference.reset(robot.config.seed + 3)
    with caplog.at_level(logging.INFO):
        logging.getLogger().info("Recording episode 3")  # as lerobot-record's log_say does
        obs = robot.get_observation()
        cube = robot.sim.object_poses()["cube"]
        np.testing.assert_allclose(cube, reference.object_poses()["cube"])
        for _ in range(4):
            robot.send_action({name: obs[name] for name in c.MOTOR_FEATURE_NAMES})
            robot.get_observation()
        logging.getLogger().info("Reset the environment")
        robot.get_observation()
    assert "episode 3 (seed 3) ended: no success on its last frame" in caplog.text
    assert "5 frames = 0.17 s of sim time" in caplog.text
    reference.close()


def test_announcements_are_parsed_exactly() -> None:
    assert parse("Recording episode 12").episode == 12
    assert parse("Reset the environment").kind == "reset"
    assert parse("Recording episode 12 of 50") is None
    assert parse("something else") is None


def test_the_installed_lerobot_record_still_announces_its_episodes() -> None:
    """The start-up check passes on this LeRobot (and fails loudly after an upgrade that changed
    the announcements: the lerobot-record CLI test then sees episodes share one scene)."""
    check_lerobot_record()


def test_pace_monitor_warns_once_about_a_loop_faster_than_fps() -> None:
    now = [0.0]
    warnings: list[str] = []
    pace = PaceMonitor(30, warnings.append, clock=lambda: now[0])
    for _ in range(200):  # 60 Hz
        now[0] += 1 / 60
        pace.step()
    assert len(warnings) == 1 and "60 Hz" in warnings[0] and "--fps=30" in warnings[0]
    slow = PaceMonitor(30, warnings.append, clock=lambda: now[0])
    for _ in range(200):  # 20 Hz: slower than real time is fine, sim time stays true
        now[0] += 1 / 20
        slow.step()
    assert len(warnings) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"task": "stack-cups"},
            "unknown task 'stack-cups'; known tasks: pick-cube, table-cleanup",
        ),
        ({"cameras": {"top": SimCameraConfig()}}, "unknown camera"),
        (
            {"cameras": {"front": SimCameraConfig(240, 320), "wrist": SimCameraConfig(480, 640)}},
            "same size",
        ),
        ({"simulator": "isaac"}, "unknown simulator 'isaac'"),
        ({"render_profile": "ultra"}, "unknown render profile"),
    ],
)
def test_bad_configuration_fails_when_the_robot_is_made(tmp_path, overrides, message) -> None:
    with pytest.raises(ValueError, match=message):
        make(tmp_path, **overrides)


def test_config_is_lerobot_registered_and_typed() -> None:
    register_third_party_plugins()
    assert RobotConfig.get_choice_class("dora_sim_so101") is DoraSimSO101Config
    assert DoraSimSO101Config().cameras == {"front": SimCameraConfig(), "wrist": SimCameraConfig()}
