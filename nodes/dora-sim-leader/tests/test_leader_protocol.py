"""The virtual arm's protocol and registers, checked against scservo_sdk and LeRobot's tables."""

from __future__ import annotations

import numpy as np
import pytest
import scservo_sdk as scs
from lerobot.motors.encoding_utils import decode_sign_magnitude, encode_sign_magnitude
from lerobot.motors.feetech.tables import MODEL_NUMBER_TABLE, STS_SMS_SERIES_CONTROL_TABLE

from dora_sim import contract as c
from dora_sim_leader.virtual import physical, protocol, servo


class CapturePort:
    """Just enough of scservo_sdk's PortHandler to capture the bytes its txPacket writes."""

    is_using = False

    def __init__(self) -> None:
        self.written = b""

    def clearPort(self) -> None:
        pass

    def writePort(self, packet: list[int]) -> int:
        self.written = bytes(packet)
        return len(packet)


def sdk_bytes(servo_id: int, instruction: int, params: list[int]) -> bytes:
    packet = [0] * (len(params) + 6)
    packet[scs.PKT_ID], packet[scs.PKT_LENGTH] = servo_id, len(params) + 2
    packet[scs.PKT_INSTRUCTION] = instruction
    packet[scs.PKT_PARAMETER0 : scs.PKT_PARAMETER0 + len(params)] = params
    port = CapturePort()
    assert scs.PacketHandler(0).txPacket(port, packet) == scs.COMM_SUCCESS
    return port.written


@pytest.mark.parametrize(
    ("servo_id", "instruction", "params"),
    [
        (1, protocol.INST_PING, []),
        (3, protocol.INST_READ, [56, 2]),
        (6, protocol.INST_WRITE, [31, 0x2E, 0x08]),
        (protocol.BROADCAST_ID, protocol.INST_SYNC_READ, [56, 2, 1, 2, 3, 4, 5, 6]),
        (protocol.BROADCAST_ID, protocol.INST_SYNC_WRITE, [42, 2, 1, 0x00, 0x08, 2, 0xFF, 0x07]),
    ],
)
def test_instruction_bytes_match_the_sdk(
    servo_id: int, instruction: int, params: list[int]
) -> None:
    wire = sdk_bytes(servo_id, instruction, params)
    assert protocol.encode_instruction(servo_id, instruction, bytes(params)) == wire
    [parsed] = protocol.InstructionParser().feed(wire)
    assert (parsed.servo_id, parsed.instruction, list(parsed.params)) == (
        servo_id,
        instruction,
        params,
    )


def test_parser_resynchronises_and_drops_bad_checksums() -> None:
    good = protocol.encode_instruction(2, protocol.INST_READ, bytes([56, 2]))
    bad = good[:-1] + bytes([good[-1] ^ 0x55])
    parser = protocol.InstructionParser()
    stream = b"\x00\xff\x13" + bad + good + good[:3]
    assert [p.servo_id for p in parser.feed(stream)] == [2]
    assert parser.bad_checksums == 1
    assert [p.servo_id for p in parser.feed(good[3:])] == [2]  # a packet split across reads


def test_status_packet_is_accepted_by_the_sdk() -> None:
    reply = protocol.encode_status(4, 0, bytes([0x34, 0x12]))

    class ReplayPort(CapturePort):
        def readPort(self, length: int) -> list[int]:
            chunk, self.rest = self.rest[:length], self.rest[length:]
            return list(chunk)

        def isPacketTimeout(self) -> bool:
            return True

    port = ReplayPort()
    port.rest = reply
    packet, result = scs.PacketHandler(0).rxPacket(port)
    assert result == scs.COMM_SUCCESS
    assert scs.SCS_MAKEWORD(packet[5], packet[6]) == 0x1234


def test_register_addresses_match_lerobots_control_table() -> None:
    table = STS_SMS_SERIES_CONTROL_TABLE
    assert table["Model_Number"] == (servo.ADDR_MODEL_NUMBER, 2)
    assert table["ID"] == (servo.ADDR_ID, 1)
    assert table["Min_Position_Limit"] == (servo.ADDR_MIN_POSITION, 2)
    assert table["Max_Position_Limit"] == (servo.ADDR_MAX_POSITION, 2)
    assert table["Homing_Offset"] == (servo.ADDR_HOMING_OFFSET, 2)
    assert table["Present_Position"] == (servo.ADDR_PRESENT_POSITION, 2)
    assert table["Lock"] == (servo.ADDR_LOCK, 1)
    assert MODEL_NUMBER_TABLE["sts3215"] == servo.MODEL_NUMBER


@pytest.mark.parametrize("value", [-2047, -1470, -1, 0, 1, 157, 2047])
def test_sign_magnitude_matches_lerobot(value: int) -> None:
    encoded = servo.encode_sign_magnitude(value, servo.HOMING_SIGN_BIT)
    assert encoded == encode_sign_magnitude(value, servo.HOMING_SIGN_BIT)
    assert servo.decode_sign_magnitude(encoded, servo.HOMING_SIGN_BIT) == value
    assert decode_sign_magnitude(encoded, servo.HOMING_SIGN_BIT) == value


def test_present_position_is_actual_minus_homing_offset_modulo_a_turn() -> None:
    motor = servo.Servo(1)
    motor.actual = 100
    motor.write(
        servo.ADDR_HOMING_OFFSET, servo.encode_sign_magnitude(-1470, 11).to_bytes(2, "little")
    )
    assert motor.present_position == 1570
    motor.write(servo.ADDR_HOMING_OFFSET, (200).to_bytes(2, "little"))
    assert motor.present_position == 4096 - 100
    assert motor.read(servo.ADDR_PRESENT_POSITION, 2) == (3996).to_bytes(2, "little")


def test_read_only_registers_ignore_writes() -> None:
    motor = servo.Servo(1)
    motor.write(servo.ADDR_MODEL_NUMBER, b"\x00\x00")
    assert motor.read(servo.ADDR_MODEL_NUMBER, 2) == servo.MODEL_NUMBER.to_bytes(2, "little")
    assert motor.read(250, 10) is None


def test_reference_pose_round_trip_is_exact_to_the_tick() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        ticks = [
            int(rng.integers(cal.range_min, cal.range_max + 1))
            for cal in physical.REFERENCE_CALIBRATION.values()
        ]
        assert physical.contract_to_present(physical.present_to_contract(ticks)) == ticks
    assert (
        physical.contract_to_present(physical.homing_pose()) == [physical.HALF_TURN] * c.NUM_JOINTS
    )
