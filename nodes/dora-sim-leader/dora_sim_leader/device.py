"""The leader arm as LeRobot reads it, with every failure sorted into what the node can do about it.

``SOLeader.get_action()`` reads all six ``Present_Position`` registers in one sync read and
normalises them with the arm's calibration (degrees for the arm, 0-100 for the gripper): exactly
so101 units. Failures come back as:

* :class:`NotReady` — no port, no calibration file, or the arm did not answer the handshake: try
  again later; the message tells the user what to fix.
* :class:`ReadFailed` — a bad checksum or a timeout on every retry: the bus is alive but noisy.
* :class:`Disconnected` — the port itself failed (unplugged): reconnect from scratch.
"""

from __future__ import annotations

import contextlib
import logging
import os
import termios
import time
from dataclasses import dataclass

import numpy as np
from lerobot.teleoperators.so_leader import SOLeader, SOLeaderTeleopConfig

from dora_sim import contract as c
from dora_sim_leader import ports
from dora_sim_leader.calibration import missing_calibration_message
from dora_sim_leader.config import LeaderConfig

log = logging.getLogger("dora-sim-leader")

# The contract's hard bounds of a joint vector (so101 units); LeRobot can exceed them only with a
# calibration whose range does not contain the arm's actual travel.
LOWER_BOUNDS = np.array([-c.ARM_DEG_BOUND] * c.GRIPPER_INDEX + [c.GRIPPER_RANGE[0]], np.float32)
UPPER_BOUNDS = np.array([c.ARM_DEG_BOUND] * c.GRIPPER_INDEX + [c.GRIPPER_RANGE[1]], np.float32)


class NotReady(Exception):
    """The arm cannot be used yet; ``str(err)`` is the user-facing explanation.

    ``cheap`` failures (a missing port or calibration file) cost nothing to re-check, so the node
    polls for them quickly; a failed handshake is retried with backoff.
    """

    def __init__(self, message: str, cheap: bool) -> None:
        super().__init__(message)
        self.cheap = cheap


class ReadFailed(Exception):
    """Every attempt of one reading failed with a communication error (checksum, timeout)."""


class Disconnected(Exception):
    """The serial port failed: the arm was unplugged or lost power to its USB adapter."""


@dataclass
class ReadCounters:
    reads: int = 0  # readings delivered
    comm_errors: int = 0  # failed sync reads (bad checksum, timeout), each retried
    recovered: int = 0  # readings that needed at least one retry
    failed: int = 0  # readings abandoned after all retries
    clipped: int = 0  # readings outside the contract's bounds (a calibration problem), clipped
    stale_flushes: int = 0  # leftover replies of failed transactions discarded before a read


def so_leader(config: LeaderConfig) -> SOLeader:
    """LeRobot's SO-101 leader on the configured port and calibration, reading in degrees.

    Its own sync-read retries are off: the node retries itself, emptying stale replies first
    (LeRobot's immediate retry would read them as its answer), and counts every failure.
    """
    return SOLeader(
        SOLeaderTeleopConfig(
            port=config.port,
            id=config.id,
            calibration_dir=config.calibration_dir,
            use_degrees=True,
            num_read_retries=0,
        )
    )


class LeaderDevice:
    """One connection to the arm through LeRobot's ``SOLeader``; rebuilt on every reconnect."""

    def __init__(self, config: LeaderConfig) -> None:
        self.config = config
        self.teleop: SOLeader | None = None
        self.counters = ReadCounters()

    @property
    def connected(self) -> bool:
        return self.teleop is not None

    def connect(self) -> None:
        """Open the port, check the motors, make their registers match the calibration file."""
        if not self.config.port:
            raise NotReady(ports.port_unset_message(), cheap=True)
        if not self.config.calibration_path.is_file():
            raise NotReady(missing_calibration_message(self.config), cheap=True)
        if not os.path.exists(self.config.port):
            raise NotReady(ports.port_missing_message(self.config.port), cheap=True)
        teleop = so_leader(self.config)
        try:
            teleop.connect(calibrate=False)  # calibrating needs a human: see `calibrate`
            if not teleop.is_calibrated:
                # What LeRobot does when the user presses ENTER at "use provided calibration file".
                log.info(
                    "writing %s to the motors (their registers differed)",
                    self.config.calibration_path,
                )
                teleop.bus.write_calibration(teleop.calibration)
        except Exception as err:
            _close_quietly(teleop)
            raise NotReady(
                ports.connect_failure_message(self.config.port, err), cheap=False
            ) from err
        self.teleop = teleop

    def read(self) -> np.ndarray:
        """One reading in so101 units (float32[6]), retried on checksum errors and timeouts."""
        if self.teleop is None:
            raise Disconnected("not connected")
        last: Exception | None = None
        for attempt in range(1 + self.config.read_retries):
            try:
                self._discard_stale_replies()
                action = self.teleop.get_action()
            except ConnectionError as err:  # LeRobot's sync_read: the SDK reported a comm error
                self.counters.comm_errors += 1
                last = err
                continue
            except (OSError, termios.error) as err:  # pyserial/termios: the device is gone
                raise Disconnected(f"serial port I/O failed: {err}") from err
            self.counters.reads += 1
            self.counters.recovered += int(attempt > 0)
            return self._to_contract(action)
        self.counters.failed += 1
        raise ReadFailed(str(last).strip())

    def _discard_stale_replies(self) -> None:
        """Empty the receive buffer before a sync read.

        scservo_sdk never does: after a transaction fails half-way (a corrupted reply, or replies
        that come after the timeout) the rest of its replies stay queued, and LeRobot's next sync
        read takes them as its answer. Once a whole set is left over, every later reading is the
        previous one, for good. The virtual arm's corrupted-packet tests caught this.
        """
        serial_port = self.teleop.bus.port_handler.ser
        if serial_port.in_waiting:
            serial_port.reset_input_buffer()
            self.counters.stale_flushes += 1

    def _to_contract(self, action: dict[str, float]) -> np.ndarray:
        values = np.array([action[name] for name in c.MOTOR_FEATURE_NAMES], dtype=np.float32)
        bounded = np.clip(values, LOWER_BOUNDS, UPPER_BOUNDS)
        self.counters.clipped += int(not np.array_equal(bounded, values))
        return bounded

    def close(self) -> None:
        if self.teleop is not None:
            _close_quietly(self.teleop)
            self.teleop = None


def _close_quietly(teleop: SOLeader) -> None:
    """Close the port without touching the motors: they may be gone, and a leader has no torque."""
    with contextlib.suppress(Exception):
        if teleop.bus.is_connected:
            teleop.bus.disconnect(disable_torque=False)


def timed_read(device: LeaderDevice) -> tuple[np.ndarray, int, float]:
    """(reading, wall-clock ns when the read started, seconds the bus read took)."""
    read_at_ns = time.time_ns()
    start = time.perf_counter()
    values = device.read()
    return values, read_at_ns, time.perf_counter() - start
