"""The virtual arms' bodies: where each joint's mechanical range sits on its servo's encoder.

A real SO-101 is assembled with arbitrary horn positions, so each servo's absolute encoder
reading at the calibrated middle differs. :data:`REFERENCE_CALIBRATION` (the virtual leader) and
:data:`FOLLOWER_CALIBRATION` (the virtual follower, a different body) are what
``lerobot-calibrate`` records on them when the arm is posed at :func:`homing_pose` and swept
through its ranges; with them, LeRobot's degrees equal the poses the virtual arms take. Values
are plausible for hand-assembled arms (ranges of roughly ±95-110°), not copied from any one unit.
Every function takes the body's calibration and defaults to the leader's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from dora_sim import contract as c
from dora_sim_leader.virtual.servo import RESOLUTION

MAX_TICK: Final = RESOLUTION - 1  # 4095, the denominator of LeRobot's degrees formula
HALF_TURN: Final = MAX_TICK // 2  # 2047: Present_Position at the homing pose after calibration


@dataclass(frozen=True)
class JointCalibration:
    """LeRobot's ``MotorCalibration`` fields for one motor."""

    id: int
    drive_mode: int
    homing_offset: int
    range_min: int
    range_max: int

    @property
    def mid(self) -> float:
        return (self.range_min + self.range_max) / 2


REFERENCE_CALIBRATION: Final = {
    "shoulder_pan": JointCalibration(1, 0, -1470, 758, 3292),
    "shoulder_lift": JointCalibration(2, 0, 157, 830, 3202),
    "elbow_flex": JointCalibration(3, 0, 1105, 899, 3110),
    "wrist_flex": JointCalibration(4, 0, -1419, 860, 3211),
    "wrist_roll": JointCalibration(5, 0, 1543, 0, MAX_TICK),  # full turn: not recorded, set
    "gripper": JointCalibration(6, 0, 1425, 2031, 3359),
}
FOLLOWER_CALIBRATION: Final = {
    "shoulder_pan": JointCalibration(1, 0, 712, 790, 3310),
    "shoulder_lift": JointCalibration(2, 0, -1361, 820, 3180),
    "elbow_flex": JointCalibration(3, 0, 1622, 870, 3090),
    "wrist_flex": JointCalibration(4, 0, -305, 840, 3230),
    "wrist_roll": JointCalibration(5, 0, -1127, 0, MAX_TICK),
    "gripper": JointCalibration(6, 0, 1184, 2010, 3480),
}
FULL_TURN_JOINT: Final = "wrist_roll"

Calibration = Mapping[str, JointCalibration]


def contract_to_present(
    values: np.ndarray, calibration: Calibration = REFERENCE_CALIBRATION
) -> list[int]:
    """Joint values in so101 units -> Present_Position ticks under ``calibration``.

    Inverse of LeRobot's normalisation (degrees mode for the arm, RANGE_0_100 for the gripper),
    rounded to the nearest tick and held inside each joint's mechanical range.
    """
    ticks = []
    for name, value in zip(c.JOINT_NAMES, np.asarray(values, dtype=np.float64), strict=True):
        cal = calibration[name]
        if name == c.JOINT_NAMES[c.GRIPPER_INDEX]:
            raw = cal.range_min + value / 100.0 * (cal.range_max - cal.range_min)
        else:
            raw = value * MAX_TICK / 360.0 + cal.mid
        ticks.append(int(np.clip(round(raw), cal.range_min, cal.range_max)))
    return ticks


def present_to_contract(
    ticks: list[int], calibration: Calibration = REFERENCE_CALIBRATION
) -> np.ndarray:
    """Present_Position ticks -> so101 units by LeRobot's formulas under ``calibration``."""
    out = np.empty(c.NUM_JOINTS, dtype=np.float64)
    for i, (name, raw) in enumerate(zip(c.JOINT_NAMES, ticks, strict=True)):
        cal = calibration[name]
        if i == c.GRIPPER_INDEX:
            bounded = min(cal.range_max, max(cal.range_min, raw))
            out[i] = (bounded - cal.range_min) / (cal.range_max - cal.range_min) * 100.0
        else:
            out[i] = (raw - cal.mid) * 360.0 / MAX_TICK
    return out


def present_to_actual(
    name: str, present: int, calibration: Calibration = REFERENCE_CALIBRATION
) -> int:
    """The absolute encoder reading that shows ``present`` under the body's homing offset."""
    return (present + calibration[name].homing_offset) % RESOLUTION


def pose_to_actual(
    values: np.ndarray, calibration: Calibration = REFERENCE_CALIBRATION
) -> list[int]:
    """Joint values in so101 units -> each servo's absolute encoder reading on this body."""
    present = contract_to_present(values, calibration)
    return [
        present_to_actual(name, ticks, calibration)
        for name, ticks in zip(c.JOINT_NAMES, present, strict=True)
    ]


def homing_pose(calibration: Calibration = REFERENCE_CALIBRATION) -> np.ndarray:
    """The pose (so101 units) a user holds when ``lerobot-calibrate`` asks for the middle."""
    return present_to_contract([HALF_TURN] * c.NUM_JOINTS, calibration)


def range_pose(
    joint: str, end: str, calibration: Calibration = REFERENCE_CALIBRATION
) -> np.ndarray:
    """:func:`homing_pose` with ``joint`` moved to its ``"min"`` or ``"max"`` mechanical stop."""
    cal = calibration[joint]
    ticks = [HALF_TURN] * c.NUM_JOINTS
    ticks[c.JOINT_NAMES.index(joint)] = cal.range_min if end == "min" else cal.range_max
    return present_to_contract(ticks, calibration)


def calibration_json(calibration: Calibration = REFERENCE_CALIBRATION) -> str:
    """The body's calibration in the JSON layout LeRobot writes (``draccus.dump``, indent 4)."""
    data = {name: vars(cal) for name, cal in calibration.items()}
    return json.dumps(data, indent=4)


def write_calibration(path: Path, calibration: Calibration = REFERENCE_CALIBRATION) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(calibration_json(calibration))
