"""LeRobot's own SO-101 leader and Feetech bus code against the virtual arm."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dora_sim import contract as c
from dora_sim_leader.virtual import physical
from dora_sim_leader.virtual.motion import Hold, calibration_sweep

pytest_plugins = ["leader_helpers"]  # fixtures: calibration_dir, lenient_bus, start_arm


def connect(arm, directory: Path, leader_id: str = "virtual_arm"):
    from lerobot.teleoperators.so_leader import SOLeader, SOLeaderTeleopConfig

    config = SOLeaderTeleopConfig(
        port=str(arm.link), id=leader_id, calibration_dir=directory, use_degrees=True
    )
    teleop = SOLeader(config)
    teleop.connect(calibrate=False)
    return teleop


def test_lerobot_calibration_flow_recovers_the_arms_calibration(
    lenient_bus,
    start_arm,
    calibration_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SOLeader.calibrate(), prompts answered as a user would while the arm does the sweep."""
    import lerobot.motors.motors_bus as motors_bus

    sweep = calibration_sweep(hold_s=1.5, move_s=0.1, dwell_s=0.3)
    arm = start_arm(sweep)
    teleop = connect(arm, calibration_dir, "fresh_arm")
    assert teleop.calibration == {}  # no file yet: the full flow runs
    monkeypatch.setattr("builtins.input", lambda prompt="": "")  # "middle pose: press ENTER"
    done_at = float(sweep.times[-1]) + 0.1
    monkeypatch.setattr(motors_bus, "enter_pressed", lambda: arm.elapsed() > done_at)
    assert arm.elapsed() < 1.5, "the arm must still be in the middle pose when ENTER is pressed"
    teleop.calibrate()
    saved = json.loads((calibration_dir / "fresh_arm.json").read_text())
    assert saved == json.loads(physical.calibration_json())
    assert teleop.is_calibrated  # the motors hold what the file says
    teleop.disconnect()


def test_calibration_registers_round_trip(lenient_bus, start_arm, calibration_dir: Path) -> None:
    from lerobot.motors import MotorCalibration

    arm = start_arm(Hold(physical.homing_pose()))
    physical.write_calibration(calibration_dir / "virtual_arm.json")
    teleop = connect(arm, calibration_dir)
    assert not teleop.is_calibrated  # factory registers
    custom = {
        name: MotorCalibration(
            cal.id, 0, cal.homing_offset - 37 * cal.id, cal.range_min + 5, cal.range_max - 5
        )
        for name, cal in physical.REFERENCE_CALIBRATION.items()
    }
    teleop.bus.write_calibration(custom)
    assert teleop.bus.read_calibration() == custom
    # The servo now reports Present_Position against the new homing offset: 37·id ticks higher.
    raw = teleop.bus.sync_read("Present_Position", normalize=False)
    for name, value in raw.items():
        assert value == physical.HALF_TURN + 37 * physical.REFERENCE_CALIBRATION[name].id
    teleop.disconnect()


def lerobot_formula(name: str, raw: int) -> float:
    """LeRobot 0.4.4's normalisation, restated: degrees = (raw - mid)·360/4095; gripper 0-100."""
    cal = physical.REFERENCE_CALIBRATION[name]
    if name == "gripper":
        clamped = min(cal.range_max, max(cal.range_min, raw))
        return (clamped - cal.range_min) / (cal.range_max - cal.range_min) * 100
    return (raw - (cal.range_min + cal.range_max) / 2) * 360 / 4095


def test_normalized_readings_follow_lerobots_formulas(
    lenient_bus, start_arm, calibration_dir: Path
) -> None:
    rng = np.random.default_rng(7)
    hold = Hold(physical.homing_pose())
    arm = start_arm(hold)
    physical.write_calibration(calibration_dir / "virtual_arm.json")
    teleop = connect(arm, calibration_dir)
    teleop.bus.write_calibration(teleop.calibration)
    for _ in range(25):
        ticks = [
            int(rng.integers(cal.range_min, cal.range_max + 1))
            for cal in physical.REFERENCE_CALIBRATION.values()
        ]
        arm.motion = Hold(physical.present_to_contract(ticks))
        raw = teleop.bus.sync_read("Present_Position", normalize=False)
        assert [raw[name] for name in c.JOINT_NAMES] == ticks
        action = teleop.get_action()
        for name, tick in zip(c.JOINT_NAMES, ticks, strict=True):
            assert action[f"{name}.pos"] == pytest.approx(lerobot_formula(name, tick), abs=1e-9)
    teleop.disconnect()


def test_broadcast_ping_and_sync_write(lenient_bus, start_arm, calibration_dir: Path) -> None:
    arm = start_arm(Hold(physical.homing_pose()))
    physical.write_calibration(calibration_dir / "virtual_arm.json")
    teleop = connect(arm, calibration_dir)
    assert teleop.bus.broadcast_ping() == {i: 777 for i in range(1, 7)}
    goals = {name: 1000 + 10 * i for i, name in enumerate(c.JOINT_NAMES)}
    teleop.bus.sync_write("Goal_Position", goals, normalize=False)
    assert teleop.bus.sync_read("Goal_Position", normalize=False) == goals
    teleop.disconnect()
