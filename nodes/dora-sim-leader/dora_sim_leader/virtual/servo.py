"""Register model of one Feetech STS3215 servo, as far as LeRobot's bus code can observe it.

Addresses follow LeRobot 0.4.4's ``STS_SMS_SERIES_CONTROL_TABLE``. The position semantics are the
servo's: ``Present_Position = (actual - Homing_Offset) mod 4096`` where ``actual`` is the absolute
magnetic-encoder reading set by the (virtual) physical joint, and ``Homing_Offset`` is stored in
sign-magnitude with the sign in bit 11. Torque, goal tracking and EPROM locking are not modelled:
a leader arm is back-driven by hand with torque off.
"""

from __future__ import annotations

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


def decode_sign_magnitude(value: int, sign_bit: int) -> int:
    magnitude = value & ((1 << sign_bit) - 1)
    return -magnitude if value >> sign_bit & 1 else magnitude


def encode_sign_magnitude(value: int, sign_bit: int) -> int:
    return (1 << sign_bit) | -value if value < 0 else value


class Servo:
    """One STS3215 on the bus: a 256-byte register file plus the joint's absolute encoder."""

    def __init__(self, servo_id: int) -> None:
        self.memory = bytearray(MEMORY_SIZE)
        self.actual = RESOLUTION // 2  # absolute encoder reading, 0..4095
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
        self.memory[ADDR_P_COEFFICIENT] = 32
        self.memory[ADDR_LOCK] = 1
        self.memory[ADDR_PRESENT_VOLTAGE] = 50  # 5.0 V
        self.memory[ADDR_PRESENT_TEMPERATURE] = 30  # °C

    @property
    def servo_id(self) -> int:
        return self.memory[ADDR_ID]

    @property
    def homing_offset(self) -> int:
        return decode_sign_magnitude(self._load(ADDR_HOMING_OFFSET, 2), HOMING_SIGN_BIT)

    @property
    def present_position(self) -> int:
        return (self.actual - self.homing_offset) % RESOLUTION

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
        for offset, byte in enumerate(data):
            if address + offset not in READ_ONLY:
                self.memory[address + offset] = byte
        return True

    def _load(self, address: int, length: int) -> int:
        return int.from_bytes(self.memory[address : address + length], "little")

    def _store(self, address: int, length: int, value: int) -> None:
        self.memory[address : address + length] = value.to_bytes(length, "little")
