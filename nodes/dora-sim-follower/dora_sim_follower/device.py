"""The follower arm as LeRobot drives it, with every failure sorted into what the node can do.

``SOFollower.get_observation()`` reads the six ``Present_Position`` registers in one sync read
(degrees for the arm, 0-100 for the gripper: so101 units) and the newest frame of each camera;
``send_action()`` caps each joint's goal to ``max_relative_target`` from the present position,
then writes the six ``Goal_Position`` registers in one sync write. Failures come back as the
leader's fault types (:mod:`dora_sim_leader.device`): :class:`NotReady` (no port, no
calibration, no answer: try again later), :class:`ReadFailed` (checksums or timeouts on every
retry) and :class:`Disconnected` (the port itself failed).

Safety lives here, next to the bus: a target must pass the contract's validation (finite, in
range) before it is written; after connecting, each servo's goal is set to where it stands, so
torque never pulls it toward a goal left over from an earlier session; :meth:`close` turns
torque off (LeRobot's ``disable_torque_on_disconnect``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from lerobot.cameras import CameraConfig
from lerobot.robots.so_follower import SOFollower, SOFollowerRobotConfig

from dora_sim import codec
from dora_sim import contract as c
from dora_sim_follower import messages
from dora_sim_follower.cameras import GraphCamera
from dora_sim_follower.config import FollowerConfig
from dora_sim_leader.device import (
    LOWER_BOUNDS,
    UPPER_BOUNDS,
    Disconnected,
    NotReady,
    ReadFailed,
)

log = logging.getLogger("dora-sim-follower")

T = TypeVar("T")
MOTORS = c.JOINT_NAMES  # LeRobot's motor names are the contract's joint names
GOAL = "Goal_Position"
PRESENT = "Present_Position"


@dataclass
class BusCounters:
    reads: int = 0  # observations delivered
    writes: int = 0  # targets written
    comm_errors: int = 0  # failed bus transactions (bad checksum, timeout), each retried
    recovered: int = 0  # transactions that needed at least one retry
    failed: int = 0  # transactions abandoned after all retries
    camera_errors: int = 0  # observations lost because a camera had no fresh frame
    clipped: int = 0  # readings outside the contract's bounds (a calibration problem), clipped
    capped: int = 0  # targets max_relative_target held back (at least one joint)
    stale_flushes: int = 0  # leftover replies of failed transactions discarded


@dataclass(frozen=True)
class Observation:
    joints: np.ndarray  # float32[6], so101 units
    images: dict[str, np.ndarray] = field(default_factory=dict)  # camera -> HWC uint8 RGB
    read_at_ns: int = 0  # wall clock when the bus read began
    bus_s: float = 0.0  # how long the observation took (bus and cameras, retries included)


def robot_config(config: FollowerConfig, cameras: dict[str, CameraConfig]) -> SOFollowerRobotConfig:
    """LeRobot's SO-101 follower config on the configured port, calibration and cameras, in
    degrees (ValueError for a camera config without fps, width or height).

    Its own sync-read retries are off: the device retries itself, emptying stale replies first
    (LeRobot's immediate retry would read them as its answer), and counts every failure.
    """
    return SOFollowerRobotConfig(
        port=config.port,
        id=config.id,
        calibration_dir=config.calibration_dir,
        max_relative_target=config.max_relative_target,
        cameras=cameras,
        use_degrees=True,
        num_read_retries=0,
    )


class FollowerDevice:
    """One connection to the arm through LeRobot's ``SOFollower``; rebuilt on every reconnect."""

    def __init__(self, config: FollowerConfig, cameras: dict[str, CameraConfig]) -> None:
        self.config = config
        self.robot_config = robot_config(config, cameras)  # checked now, not at the first connect
        self.robot: SOFollower | None = None
        self.counters = BusCounters()

    @property
    def connected(self) -> bool:
        return self.robot is not None

    def connect(self) -> np.ndarray:
        """Open the port, check the motors, make their registers match the calibration file,
        start the cameras, torque on holding the present pose; returns that pose."""
        if not self.config.port:
            raise NotReady(messages.port_unset_message(), cheap=True)
        if not self.config.calibration_path.is_file():
            raise NotReady(messages.missing_calibration_message(self.config), cheap=True)
        if not os.path.exists(self.config.port):
            raise NotReady(messages.port_missing_message(self.config.port), cheap=True)
        robot = SOFollower(self.robot_config)
        try:
            write_calibration_if_needed(robot)
            robot.connect(calibrate=False)  # calibrating needs a human: lerobot-calibrate
            # Raw ticks: LeRobot's degrees -> ticks rounds down, which could move a joint a tick.
            present = robot.bus.sync_read(PRESENT, normalize=False)
            robot.bus.sync_write(GOAL, present, normalize=False)
            hold = robot.bus.sync_read(PRESENT)
        except Exception as err:
            close_quietly(robot)
            raise NotReady(
                messages.connect_failure_message(self.config.port, err), cheap=False
            ) from err
        self.robot = robot
        return self._to_contract(hold)

    def observe(self) -> Observation:
        """Joints (so101 units) and the newest frame of each camera."""
        robot = self._robot()
        read_at_ns = time.time_ns()
        start = time.perf_counter()
        try:
            obs = self._transact(robot.get_observation)
        except (TimeoutError, RuntimeError) as err:  # LeRobot's read_latest: no fresh frame
            self.counters.camera_errors += 1
            raise ReadFailed(f"camera: {err}") from err
        self.counters.reads += 1
        joints = self._to_contract({name: obs[f"{name}.pos"] for name in MOTORS})
        images = {name: obs[name] for name in robot.cameras}
        return Observation(joints, images, read_at_ns, time.perf_counter() - start)

    def act(self, target: np.ndarray) -> np.ndarray:
        """Send a joint target (so101 units); returns what was written after LeRobot's
        ``max_relative_target`` cap. The target must be a valid contract joint vector."""
        target = codec.validate_joints(target, "follower target")  # never a NaN on the bus
        robot = self._robot()
        action = {f"{name}.pos": float(v) for name, v in zip(MOTORS, target, strict=True)}
        sent = self._transact(lambda: robot.send_action(action))
        self.counters.writes += 1
        written = np.array([sent[f"{name}.pos"] for name in MOTORS], dtype=np.float32)
        self.counters.capped += int(not np.allclose(written, target, atol=1e-4))
        return written

    def push_frame(self, camera: str, image: np.ndarray) -> bool:
        """Hand a frame from the dataflow to the graph camera ``camera``; False if there is no
        such camera (ValueError for a frame of another size)."""
        cam = self.robot.cameras.get(camera) if self.robot is not None else None
        if not isinstance(cam, GraphCamera):
            return False
        cam.push(image)
        return True

    def close(self) -> None:
        """Torque off (when the port still works) and release the port and cameras."""
        if self.robot is not None:
            close_quietly(self.robot)
            self.robot = None

    # --- helpers -------------------------------------------------------------------------------
    def _robot(self) -> SOFollower:
        if self.robot is None:
            raise Disconnected("not connected")
        return self.robot

    def _transact(self, operation: Callable[[], T]) -> T:
        """Run a bus operation, retried on checksum errors and timeouts."""
        robot = self._robot()
        last: Exception | None = None
        for attempt in range(1 + self.config.read_retries):
            try:
                if discard_stale_replies(robot):
                    self.counters.stale_flushes += 1
                result = operation()
            except TimeoutError:
                raise  # a camera's (an OSError, but not the port's): the caller's to judge
            except ConnectionError as err:  # LeRobot's sync read/write: the SDK reported an error
                self.counters.comm_errors += 1
                last = err
                continue
            except (OSError, termios.error) as err:  # pyserial/termios: the device is gone
                raise Disconnected(f"serial port I/O failed: {err}") from err
            self.counters.recovered += int(attempt > 0)
            return result
        self.counters.failed += 1
        raise ReadFailed(str(last).strip())

    def _to_contract(self, values: dict[str, Any]) -> np.ndarray:
        joints = np.array([values[name] for name in MOTORS], dtype=np.float32)
        bounded = np.clip(joints, LOWER_BOUNDS, UPPER_BOUNDS)
        self.counters.clipped += int(not np.array_equal(bounded, joints))
        return bounded


def write_calibration_if_needed(robot: SOFollower) -> None:
    """Make the motors' calibration registers match the file, torque off, before LeRobot's
    ``connect`` turns torque on: a homing offset changed under torque moves the joint.

    What LeRobot does when the user presses ENTER at "use provided calibration file"."""
    bus = robot.bus
    bus.connect()
    try:
        if not bus.is_calibrated:
            log.info("writing %s to the motors (their registers differed)", robot.calibration_fpath)
            bus.disable_torque()
            bus.write_calibration(robot.calibration)
    finally:
        bus.disconnect(disable_torque=False)


def discard_stale_replies(robot: SOFollower) -> bool:
    """Empty the receive buffer before a transaction; True if there was something in it.

    scservo_sdk never does: after a transaction fails half-way (a corrupted reply, or replies
    that come after the timeout) the rest of its replies stay queued, and LeRobot's next sync
    read takes them as its answer (the leader node found this; see docs/leader.md).
    """
    serial_port = robot.bus.port_handler.ser
    if serial_port.in_waiting:
        serial_port.reset_input_buffer()
        return True
    return False


def close_quietly(robot: SOFollower) -> None:
    """Torque off and close. A port that is gone cannot take the torque command; that is said
    in the log (the motors then hold their last goal until they lose power)."""
    bus = robot.bus
    if bus.is_connected:
        try:
            # Also resets the SDK's "port in use" flag a transaction cut short (Ctrl+C) leaves.
            bus.disconnect(disable_torque=True)
        except Exception as err:
            log.warning("could not turn the follower's torque off (%s): the servos hold their"
                        " last goal until they lose power", err)  # fmt: skip
            with contextlib.suppress(Exception):
                bus.port_handler.closePort()
    for camera in robot.cameras.values():
        with contextlib.suppress(Exception):
            if camera.is_connected:
                camera.disconnect()
