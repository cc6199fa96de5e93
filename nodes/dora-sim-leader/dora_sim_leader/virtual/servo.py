"""Register model of one Feetech STS3215 servo, as far as LeRobot's bus code can observe it.

Addresses follow LeRobot's ``STS_SMS_SERIES_CONTROL_TABLE`` (the same in 0.4.4 and 0.6.1). The
position semantics are the servo's: ``Present_Position = (actual - Homing_Offset) mod 4096`` where
``actual`` is the absolute magnetic-encoder reading of the (virtual) physical joint, and
``Homing_Offset`` is stored in sign-magnitude with the sign in bit 11.

With ``Torque_Enable`` off the joint is wherever a hand puts it (a leader arm; a follower being
calibrated). With it on, the position loop drives the joint toward ``Goal_Position`` (sign bit 15,
held inside ``Min/Max_Position_Limit``): a first-order lag whose time constant scales with
``P_Coefficient``, capped at the STS3215's no-load speed. When torque comes on, the goal is set
to the present position, so the joint holds where it is instead of jumping to a stale goal.
Load, current, velocity readings and EPROM locking are not modelled.
"""

from __future__ import annotations

import math
from typing import Final

MODEL_NUMBER: Final = 777  # STS3215
RESOLUTION: Final = 4096
FIRMWARE: Final = (3, 10)

ADDR_FIRMWARE_MAJOR: Final = 0
ADDR_FIRMWARE_MINOR: Final = 1
ADDR_MODEL_NUMBER: Final = 3
ADDR_ID: Final = 5
ADDR_BAUD_RATE: Final = 6
ADDR_RETURN_DELAY: Final = 7
ADDR_RESPONSE_LEVEL: Final = 8
ADDR_MIN_POSITION: Final = 9
ADDR_MAX_POSITION: Final = 11
ADDR_MAX_TORQUE: Final = 16
ADDR_P_COEFFICIENT: Final = 21
ADDR_HOMING_OFFSET: Final = 31
ADDR_OPERATING_MODE: Final = 33
ADDR_TORQUE_ENABLE: Final = 40
ADDR_ACCELERATION: Final = 41
ADDR_GOAL_POSITION: Final = 42
ADDR_LOCK: Final = 55
ADDR_PRESENT_POSITION: Final = 56
ADDR_PRESENT_VOLTAGE: Final = 62
ADDR_PRESENT_TEMPERATURE: Final = 63
ADDR_MOVING: Final = 66
ADDR_MAX_ACCELERATION: Final = 85

MEMORY_SIZE: Final = 256
# Read-only registers: the firmware version and model number, and the live SRAM status block.
READ_ONLY: Final = frozenset({0, 1, 2, 3, 4, *range(56, 71)})

HOMING_SIGN_BIT: Final = 11
POSITION_SIGN_BIT: Final = 15

TORQUE_ON: Final = 1
FACTORY_P_COEFFICIENT: Final = 32
# The position loop's time constant at the factory P_Coefficient; LeRobot's SOFollower writes 16,
# which doubles it (50 ms: the follower trails a fast leader by a couple of ticks, as real ones do).
TIME_CONSTANT_S: Final = 0.025
# STS3215 datasheet: 0.222 s per 60 degrees without load at 7.4 V, i.e. ~270 deg/s.
NO_LOAD_SPEED: Final = RESOLUTION * (60 / 360) / 0.222  # ticks per second
MAX_STEP_S: Final = 0.005  # integration step of the position loop
MOVING_THRESHOLD: Final = 1.0  # ticks from the goal beyond which ``Moving`` reads 1


def decode_sign_magnitude(value: int, sign_bit: int) -> int:
    magnitude = value & ((1 << sign_bit) - 1)
    return -magnitude if value >> sign_bit & 1 else magnitude


def encode_sign_magnitude(value: int, sign_bit: int) -> int:
    return (1 << sign_bit) | -value if value < 0 else value


class Servo:
    """One STS3215 on the bus: a 256-byte register file plus the joint's absolute encoder."""

    def __init__(self, servo_id: int) -> None:
        self.memory = bytearray(MEMORY_SIZE)
        self.position = float(RESOLUTION // 2)  # absolute encoder, continuous (ticks)
        self.moving = False
        self._factory_defaults(servo_id)

    def _factory_defaults(self, servo_id: int) -> None:
        self.memory[ADDR_FIRMWARE_MAJOR], self.memory[ADDR_FIRMWARE_MINOR] = FIRMWARE
        self._store(ADDR_MODEL_NUMBER, 2, MODEL_NUMBER)
        self.memory[ADDR_ID] = servo_id
        self.memory[ADDR_BAUD_RATE] = 0  # 1 Mbaud
        self.memory[ADDR_RETURN_DELAY] = 250  # 500 µs, the factory value LeRobot lowers to 0
        self.memory[ADDR_RESPONSE_LEVEL] = 1
        self._store(ADDR_MIN_POSITION, 2, 0)
        self._store(ADDR_MAX_POSITION, 2, RESOLUTION - 1)
        self._store(ADDR_MAX_TORQUE, 2, 1000)
        self.memory[ADDR_P_COEFFICIENT] = FACTORY_P_COEFFICIENT
        self.memory[ADDR_LOCK] = 1
        self.memory[ADDR_PRESENT_VOLTAGE] = 50  # 5.0 V
        self.memory[ADDR_PRESENT_TEMPERATURE] = 30  # °C

    @property
    def servo_id(self) -> int:
        return self.memory[ADDR_ID]

    @property
    def actual(self) -> int:
        """Absolute encoder reading, 0..4095."""
        return round(self.position) % RESOLUTION

    @actual.setter
    def actual(self, ticks: int) -> None:
        self.position = float(ticks)

    @property
    def homing_offset(self) -> int:
        return decode_sign_magnitude(self._load(ADDR_HOMING_OFFSET, 2), HOMING_SIGN_BIT)

    @property
    def present_position(self) -> int:
        return (self.actual - self.homing_offset) % RESOLUTION

    @property
    def torque_enabled(self) -> bool:
        return self.memory[ADDR_TORQUE_ENABLE] == TORQUE_ON

    @property
    def goal_position(self) -> int:
        """The goal in Present_Position's frame, held inside the position limits (if set)."""
        goal = decode_sign_magnitude(self._load(ADDR_GOAL_POSITION, 2), POSITION_SIGN_BIT)
        low, high = self._load(ADDR_MIN_POSITION, 2), self._load(ADDR_MAX_POSITION, 2)
        return min(max(goal, low), high) if low < high else goal

    def advance(self, dt: float) -> None:
        """Run the position loop for ``dt`` seconds (nothing moves it while torque is off)."""
        if not self.torque_enabled:
            self.moving = False
            return
        tau = TIME_CONSTANT_S * FACTORY_P_COEFFICIENT / max(1, self.memory[ADDR_P_COEFFICIENT])
        error = 0.0
        while dt > 0:
            step_s = min(dt, MAX_STEP_S)
            present = (self.position - self.homing_offset) % RESOLUTION
            error = self.goal_position - present
            step = error * (1.0 - math.exp(-step_s / tau))
            limit = NO_LOAD_SPEED * step_s
            self.position = (self.position + min(max(step, -limit), limit)) % RESOLUTION
            dt -= step_s
        self.moving = abs(error) > MOVING_THRESHOLD

    def read(self, address: int, length: int) -> bytes | None:
        """Register bytes, or None for an access beyond the register file (the servo stays mute)."""
        if address + length > MEMORY_SIZE:
            return None
        self._store(
            ADDR_PRESENT_POSITION,
            2,
            encode_sign_magnitude(self.present_position, POSITION_SIGN_BIT),
        )
        self.memory[ADDR_MOVING] = int(self.moving)
        return bytes(self.memory[address : address + length])

    def write(self, address: int, data: bytes) -> bool:
        """Store ``data``; read-only bytes are left unchanged. False if out of range."""
        if address + len(data) > MEMORY_SIZE:
            return False
        torque_was_on = self.torque_enabled
        for offset, byte in enumerate(data):
            if address + offset not in READ_ONLY:
                self.memory[address + offset] = byte
        if self.torque_enabled and not torque_was_on:  # hold here, never jump to a stale goal
            goal = encode_sign_magnitude(self.present_position, POSITION_SIGN_BIT)
            self._store(ADDR_GOAL_POSITION, 2, goal)
        return True

    def _load(self, address: int, length: int) -> int:
        return int.from_bytes(self.memory[address : address + length], "little")

    def _store(self, address: int, length: int, value: int) -> None:
        self.memory[address : address + length] = value.to_bytes(length, "little")
