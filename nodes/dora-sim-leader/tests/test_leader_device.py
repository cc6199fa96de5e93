"""The leader device (LeRobot's SOLeader inside) under faults, against the virtual arm."""

from __future__ import annotations

import os
import pty
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from dora_sim_leader import ports
from dora_sim_leader.config import LeaderConfig
from dora_sim_leader.device import Disconnected, LeaderDevice, NotReady, ReadFailed
from dora_sim_leader.virtual import physical
from dora_sim_leader.virtual.motion import Hold, Wave

if TYPE_CHECKING:
    from leader_helpers import ArmProcess

pytest_plugins = ["leader_helpers"]  # fixtures: calibration_dir, lenient_bus, start_arm


def make_device(port: str, directory: Path, leader_id: str = "virtual_arm") -> LeaderDevice:
    config = LeaderConfig(
        port=port, id=leader_id, calibration_dir=directory, rate_hz=60, read_retries=2
    )
    return LeaderDevice(config)


def connected_device(arm: ArmProcess, directory: Path) -> LeaderDevice:
    physical.write_calibration(directory / "virtual_arm.json")
    device = make_device(str(arm.link), directory)
    device.connect()
    return device


def expected_between(arm: ArmProcess, t0: float, t1: float) -> np.ndarray:
    """Poses the arm passed through while a reading was in flight (its reply came in between)."""
    return np.stack([arm.motion.pose(t) for t in np.arange(t0, t1 + 5e-4, 5e-4)])


def test_unset_port_says_how_to_find_it(calibration_dir: Path) -> None:
    with pytest.raises(NotReady) as err:
        make_device("", calibration_dir).connect()
    assert "LEADER_PORT is not set" in str(err.value)
    assert "lerobot-find-port" in str(err.value)
    assert err.value.cheap


def test_missing_calibration_says_how_to_calibrate(calibration_dir: Path) -> None:
    physical.write_calibration(calibration_dir / "other_arm.json")
    with pytest.raises(NotReady) as err:
        make_device("/dev/ttyACM0", calibration_dir, "my_leader").connect()
    message = str(err.value)
    assert "my_leader" in message and str(calibration_dir) in message
    assert "other_arm" in message  # the ids that do exist
    assert "dora-sim-leader calibrate" in message and "lerobot-calibrate" in message


def test_wrong_port_lists_candidates(calibration_dir: Path) -> None:
    physical.write_calibration(calibration_dir / "virtual_arm.json")
    with pytest.raises(NotReady) as err:
        make_device("/dev/ttyNOPE0", calibration_dir).connect()
    message = str(err.value)
    assert "'/dev/ttyNOPE0' does not exist" in message
    assert "Serial ports on this machine" in message or "No serial ports found" in message
    assert "lerobot-find-port" in message and err.value.cheap


def test_silent_device_is_reported_not_fatal(lenient_bus, calibration_dir: Path) -> None:
    physical.write_calibration(calibration_dir / "virtual_arm.json")
    master, slave = pty.openpty()  # a serial device where nothing answers
    try:
        with pytest.raises(NotReady) as err:
            make_device(os.ttyname(slave), calibration_dir).connect()
    finally:
        os.close(master)
        os.close(slave)
    assert "did not answer" in str(err.value) and not err.value.cheap


def test_first_connect_writes_the_calibration_and_readings_follow_the_arm(
    lenient_bus,
    start_arm,
    calibration_dir: Path,
) -> None:
    arm = start_arm(Wave())
    device = connected_device(arm, calibration_dir)
    for _ in range(30):
        t0 = arm.elapsed()
        values = device.read()
        poses = expected_between(arm, t0, arm.elapsed())
        # One tick of quantisation: 360/4095 deg, 100/1328 gripper units.
        assert np.min(np.max(np.abs(poses - values), axis=1)) < 0.1
    device.close()


def test_corrupted_and_lost_replies_are_retried_and_counted(
    lenient_bus, start_arm, calibration_dir: Path
) -> None:
    arm = start_arm(Wave())
    device = connected_device(arm, calibration_dir)
    arm.set_faults(corrupt_rate=0.03, drop_rate=0.005)
    failed = 0
    for _ in range(200):
        t0 = arm.elapsed()
        try:
            values = device.read()
        except ReadFailed:
            failed += 1
            continue
        # Never a stale reply of a failed attempt: see LeaderDevice._discard_stale_replies.
        poses = expected_between(arm, t0, arm.elapsed())
        assert np.min(np.max(np.abs(poses - values), axis=1)) < 0.1
    counters = device.counters
    assert arm.counters().corrupted > 0 and counters.comm_errors > 0 and counters.recovered > 0
    assert counters.reads + failed == 200 and counters.failed == failed
    assert failed < 10  # 3 attempts per reading
    device.close()


def test_unplug_is_detected_and_the_arm_reconnects(
    lenient_bus, start_arm, calibration_dir: Path
) -> None:
    arm = start_arm(Hold(physical.homing_pose()))
    device = connected_device(arm, calibration_dir)
    device.read()
    arm.unplug_for(0.6)
    time.sleep(0.1)
    with pytest.raises(Disconnected):
        device.read()
    device.close()
    with pytest.raises(NotReady, match="does not exist") as err:
        device.connect()
    assert err.value.cheap
    deadline = time.monotonic() + 5
    while not device.connected:
        try:
            device.connect()
        except NotReady:
            assert time.monotonic() < deadline, "the arm never came back"
            time.sleep(0.05)
    np.testing.assert_allclose(device.read(), physical.homing_pose(), atol=0.1)
    device.close()


def test_powered_off_motors_fail_reads_without_raising_disconnect(
    lenient_bus, start_arm, calibration_dir: Path
) -> None:
    arm = start_arm(Hold(physical.homing_pose()))
    device = connected_device(arm, calibration_dir)
    arm.set_faults(drop_rate=1.0)  # the USB adapter is there, the servos are silent
    with pytest.raises(ReadFailed, match="no status packet"):
        device.read()
    assert device.counters.comm_errors == 3 and device.counters.failed == 1
    device.close()


def test_permission_denied_suggests_the_dialout_group() -> None:
    """LeRobot wraps pyserial's error: the hint must be found down the exception chain."""
    from serial import SerialException

    try:
        try:
            raise SerialException("[Errno 13] could not open port /dev/ttyACM0: Permission denied")
        except SerialException as cause:
            raise ConnectionError("Could not connect on port '/dev/ttyACM0'.") from cause
    except ConnectionError as err:
        message = ports.connect_failure_message("/dev/ttyACM0", err)
    assert "dialout" in message and "/dev/ttyACM0" in message
