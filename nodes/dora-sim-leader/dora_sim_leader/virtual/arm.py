"""A virtual SO-101: six STS3215 servos behind a pty, with faults.

It answers the protocol subset LeRobot's ``FeetechMotorsBus`` uses (ping, broadcast ping, read,
write, sync read, sync write) so LeRobot's real bus code runs against it. As a leader it plays a
motion (the hand moving the arm, torque off); as a follower its servos track the goals LeRobot's
``SOFollower`` writes while their torque is on, and a hand motion, if any, moves them while it
is off (calibration). Each body has its own calibration (:mod:`physical`).
"""

from __future__ import annotations

import logging
import random
import select
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dora_sim import contract as c
from dora_sim_leader.virtual import physical, protocol
from dora_sim_leader.virtual.motion import Motion
from dora_sim_leader.virtual.port import PtyPort
from dora_sim_leader.virtual.servo import ADDR_RESPONSE_LEVEL, RESOLUTION, Servo

log = logging.getLogger("dora-sim-virtual-arm")

POLL_S = 0.005


@dataclass
class Faults:
    """Injected faults: reply packets with a wrong checksum or never sent, and unplug schedules."""

    corrupt_rate: float = 0.0
    drop_rate: float = 0.0
    unplug_after_s: float | None = None  # first unplug, seconds after start
    unplug_for_s: float = 2.0
    unplug_every_s: float | None = None  # repeat period; None = once
    seed: int = 0


@dataclass
class ArmCounters:
    instructions: int = 0
    replies: int = 0
    corrupted: int = 0
    dropped: int = 0
    unplugs: int = 0
    bad_checksums: int = 0
    sync_reads: int = 0


class VirtualArm:
    def __init__(
        self,
        link: Path,
        motion: Motion | None,
        faults: Faults | None = None,
        calibration: physical.Calibration = physical.REFERENCE_CALIBRATION,
        pose: np.ndarray | None = None,
    ) -> None:
        """``motion``: the hand moving the joints whose torque is off (None: they stay put);
        ``pose``: where the joints are when the arm is switched on (so101 units)."""
        self.port = PtyPort(link)
        self.motion = motion
        self.faults = faults or Faults()
        self.calibration = calibration
        self.servos = [Servo(calibration[name].id) for name in c.JOINT_NAMES]
        if pose is not None:
            actual = physical.pose_to_actual(pose, calibration)
            for servo, ticks in zip(self.servos, actual, strict=True):
                servo.actual = ticks
        self.counters = ArmCounters()
        self._parser = protocol.InstructionParser()
        self._rng = random.Random(self.faults.seed)
        self.started_at = time.monotonic()  # motion time 0 (system-wide clock: other processes
        self.start_time_ns = time.time_ns()  # can use it), and the same instant on the wall clock
        self._moved_at = 0.0  # motion time of the last joint update
        self._replug_at: float | None = None
        self._next_unplug = self.faults.unplug_after_s
        self._unplug_request: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._joints_lock = threading.Lock()  # the serving thread vs. observers (pose, torque)

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def device(self) -> str:
        return self.port.device

    @property
    def link(self) -> Path:
        return self.port.link

    def start(self) -> VirtualArm:
        """Plug in and serve the bus on a background thread (tests, benchmarks)."""
        self.port.plug()
        self._thread = threading.Thread(target=self.serve, name="virtual-arm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.port.unplug()

    def unplug_for(self, seconds: float) -> None:
        """Ask the serving loop to pull the cable now and plug it back after ``seconds``."""
        self._unplug_request = seconds

    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    # --- the bus -------------------------------------------------------------------------------
    def serve(self) -> None:
        """Answer the host until :meth:`stop`; owns the port (plugs, unplugs, reads, writes)."""
        self.port.plug()
        while not self._stop.is_set():
            self._run_schedule()
            if self.port.master is None:
                self._stop.wait(POLL_S)
                continue
            ready, _, _ = select.select([self.port.master], [], [], POLL_S)
            if ready:
                data = self.port.read()
                if data:
                    self._answer(self._parser.feed(data))

    def _run_schedule(self) -> None:
        now = self.elapsed()
        if self._unplug_request is not None:
            self._pull(now, self._unplug_request)
            self._unplug_request = None
        elif self._next_unplug is not None and now >= self._next_unplug and self.port.plugged:
            self._pull(now, self.faults.unplug_for_s)
            every = self.faults.unplug_every_s
            self._next_unplug = self._next_unplug + every if every else None
        if self._replug_at is not None and now >= self._replug_at:
            self._replug_at = None
            self.port.plug()
            log.warning("plugged back in at %s", self.port.link)

    def _pull(self, now: float, seconds: float) -> None:
        log.warning("unplugged for %.1f s", seconds)
        self.port.unplug()
        self._parser.clear()
        self.counters.unplugs += 1
        self._replug_at = now + seconds

    def _answer(self, instructions: list[protocol.Instruction]) -> None:
        self.counters.bad_checksums = self._parser.bad_checksums
        if not instructions:
            return
        out = bytearray()
        with self._joints_lock:
            self._move_joints()
            for instruction in instructions:
                self.counters.instructions += 1
                for reply in self._handle(instruction):
                    out += self._inject(reply)
        if out:
            self.port.write(bytes(out))

    def _move_joints(self) -> None:
        """Bring every joint up to now: the position loop where torque is on, else the hand."""
        now = self.elapsed()
        dt, self._moved_at = now - self._moved_at, now
        hand = (
            None
            if self.motion is None
            else physical.pose_to_actual(self.motion.pose(now), self.calibration)
        )
        for i, servo in enumerate(self.servos):
            if servo.torque_enabled or hand is None:
                servo.advance(dt)
            else:
                servo.moving = hand[i] != servo.actual
                servo.actual = hand[i]

    def pose(self) -> np.ndarray:
        """Where the joints are now (so101 units, by LeRobot's formulas under this body's
        calibration, whatever the servos' homing registers hold)."""
        with self._joints_lock:
            self._move_joints()
            actual = [servo.actual for servo in self.servos]
        present = [
            (ticks - self.calibration[name].homing_offset) % RESOLUTION
            for name, ticks in zip(c.JOINT_NAMES, actual, strict=True)
        ]
        return physical.present_to_contract(present, self.calibration)

    def torque(self) -> list[bool]:
        """Torque_Enable of each servo, in joint order."""
        with self._joints_lock:
            return [servo.torque_enabled for servo in self.servos]

    def _servo(self, servo_id: int) -> Servo | None:
        return next((s for s in self.servos if s.servo_id == servo_id), None)

    def _handle(self, ins: protocol.Instruction) -> list[bytes]:
        params = ins.params
        if ins.instruction == protocol.INST_SYNC_READ and len(params) >= 2:
            self.counters.sync_reads += 1
            address, length = params[0], params[1]
            replies = []
            for servo_id in params[2:]:
                servo = self._servo(servo_id)
                data = servo.read(address, length) if servo else None
                if data is not None:
                    replies.append(protocol.encode_status(servo_id, 0, data))
            return replies
        if ins.instruction == protocol.INST_SYNC_WRITE and len(params) >= 2:
            address, length = params[0], params[1]
            for offset in range(2, len(params) - length, length + 1):
                servo = self._servo(params[offset])
                if servo is not None:
                    servo.write(address, params[offset + 1 : offset + 1 + length])
            return []
        broadcast = ins.servo_id == protocol.BROADCAST_ID
        targets = (
            sorted(self.servos, key=lambda s: s.servo_id)
            if broadcast
            else [s for s in [self._servo(ins.servo_id)] if s is not None]
        )
        replies = []
        for servo in targets:
            reply = self._single(servo, ins)
            if reply is not None and (not broadcast or ins.instruction == protocol.INST_PING):
                replies.append(reply)
        return replies

    @staticmethod
    def _single(servo: Servo, ins: protocol.Instruction) -> bytes | None:
        """Execute a ping/read/write on one servo; its status packet, or None if it stays mute."""
        servo_id, params = servo.servo_id, ins.params
        if ins.instruction == protocol.INST_PING:
            return protocol.encode_status(servo_id)
        if ins.instruction == protocol.INST_READ and len(params) == 2:
            data = servo.read(params[0], params[1])
            return None if data is None else protocol.encode_status(servo_id, 0, data)
        if ins.instruction == protocol.INST_WRITE and len(params) >= 2:
            if not servo.write(params[0], params[1:]):
                return None
            # Status return level 0: the servo answers only ping and read.
            return protocol.encode_status(servo_id) if servo.memory[ADDR_RESPONSE_LEVEL] else None
        return None  # REG_WRITE, ACTION, RESET, …: outside the subset LeRobot uses

    def _inject(self, reply: bytes) -> bytes:
        self.counters.replies += 1
        if self.faults.drop_rate and self._rng.random() < self.faults.drop_rate:
            self.counters.dropped += 1
            return b""
        if self.faults.corrupt_rate and self._rng.random() < self.faults.corrupt_rate:
            self.counters.corrupted += 1
            return reply[:-1] + bytes([reply[-1] ^ 0xFF])
        return reply
