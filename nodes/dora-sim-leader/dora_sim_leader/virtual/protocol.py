"""Feetech SCS/STS serial protocol (the "protocol 0" framing LeRobot's FeetechMotorsBus speaks).

Instruction: ``FF FF id len inst p1..pN chk`` with ``len = N + 2``;
status reply: ``FF FF id len err p1..pN chk``; ``chk = ~(id + len + inst|err + sum(p)) & 0xFF``.
Multi-byte register values are little-endian (``scservo_sdk`` with ``protocol_end=0``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

HEADER: Final = b"\xff\xff"
BROADCAST_ID: Final = 0xFE
MAX_ID: Final = 0xFC

INST_PING: Final = 0x01
INST_READ: Final = 0x02
INST_WRITE: Final = 0x03
INST_SYNC_READ: Final = 0x82
INST_SYNC_WRITE: Final = 0x83

# Longest packet scservo_sdk will send or accept (TXPACKET_MAX_LEN / RXPACKET_MAX_LEN).
MAX_PACKET_LEN: Final = 250


def checksum(body: bytes) -> int:
    """Checksum over id, length, instruction (or error) and parameters: all but header and chk."""
    return ~sum(body) & 0xFF


@dataclass(frozen=True)
class Instruction:
    servo_id: int
    instruction: int
    params: bytes


def encode_instruction(servo_id: int, instruction: int, params: bytes = b"") -> bytes:
    body = bytes([servo_id, len(params) + 2, instruction]) + params
    return HEADER + body + bytes([checksum(body)])


def encode_status(servo_id: int, error: int = 0, params: bytes = b"") -> bytes:
    body = bytes([servo_id, len(params) + 2, error]) + params
    return HEADER + body + bytes([checksum(body)])


class InstructionParser:
    """Incremental parser of the host's byte stream.

    Like a servo, it resynchronises on the next ``FF FF`` after garbage and silently drops packets
    with a bad checksum (the host then times out and retries).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.bad_checksums = 0

    def feed(self, data: bytes) -> list[Instruction]:
        self._buffer.extend(data)
        packets: list[Instruction] = []
        while True:
            start = self._buffer.find(HEADER)
            if start < 0:
                # Keep a trailing 0xFF: it may be the first half of the next header.
                del self._buffer[: max(0, len(self._buffer) - 1)]
                return packets
            del self._buffer[:start]
            if len(self._buffer) < 4:
                return packets
            servo_id, length = self._buffer[2], self._buffer[3]
            if servo_id == 0xFF or length < 2 or length + 4 > MAX_PACKET_LEN:
                del self._buffer[0]  # not a real header: resynchronise one byte later
                continue
            total = length + 4
            if len(self._buffer) < total:
                return packets
            packet = bytes(self._buffer[:total])
            del self._buffer[:total]
            if packet[-1] != checksum(packet[2:-1]):
                self.bad_checksums += 1
                continue
            packets.append(Instruction(servo_id, packet[4], packet[5:-1]))

    def clear(self) -> None:
        self._buffer.clear()
