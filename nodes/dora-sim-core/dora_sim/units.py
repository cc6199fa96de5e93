"""Conversions between contract (so101) units and simulator joint radians.

Plain numpy so the simulator, teleop and expert nodes stay free of torch and lerobot.

Arm joints: degrees <-> radians, both zero at the calibrated mid-range (the "new calibration"
model's zero pose). The gripper is never in degrees: 0-100 maps linearly onto the simulator's
gripper joint range, 0 = closed at the low end.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from dora_sim import contract as c

# The TheRobotStudio so101_new_calib model's gripper actuator range (rad): closed .. open.
SO101_GRIPPER_RANGE_RAD: Final = (-0.17453, 1.74533)
# Arm joint limits of that model (rad), in contract order; the simulator clips targets to them.
SO101_ARM_LIMITS_RAD: Final = np.array(
    [
        [-1.91986, 1.91986],
        [-1.74533, 1.74533],
        [-1.69, 1.69],
        [-1.65806, 1.65806],
        [-2.74385, 2.84121],
    ]
)
# Per-joint direction of the model relative to LeRobot's degrees (+1: same direction).
SO101_ARM_SIGNS: Final = np.ones(5)


def gripper_to_sim(
    gripper: float, gripper_range_rad: tuple[float, float] = SO101_GRIPPER_RANGE_RAD
) -> float:
    """Gripper 0-100 (0 = closed) -> the simulator's gripper joint angle (rad)."""
    lo, hi = gripper_range_rad
    return lo + gripper / 100.0 * (hi - lo)


def contract_to_sim(
    values: np.ndarray,
    gripper_range_rad: tuple[float, float] = SO101_GRIPPER_RANGE_RAD,
    signs: np.ndarray = SO101_ARM_SIGNS,
) -> np.ndarray:
    """so101 units (deg x5, gripper 0-100) -> simulator joint radians (float64[6])."""
    values = np.asarray(values, dtype=np.float64)
    out = np.empty(c.NUM_JOINTS, dtype=np.float64)
    out[: c.GRIPPER_INDEX] = np.deg2rad(values[: c.GRIPPER_INDEX]) * signs
    out[c.GRIPPER_INDEX] = gripper_to_sim(values[c.GRIPPER_INDEX], gripper_range_rad)
    return out


def sim_to_contract(
    radians: np.ndarray,
    gripper_range_rad: tuple[float, float] = SO101_GRIPPER_RANGE_RAD,
    signs: np.ndarray = SO101_ARM_SIGNS,
) -> np.ndarray:
    """Simulator joint radians -> so101 units (float64[6]); the gripper is clamped to 0-100."""
    radians = np.asarray(radians, dtype=np.float64)
    out = np.empty(c.NUM_JOINTS, dtype=np.float64)
    out[: c.GRIPPER_INDEX] = np.rad2deg(radians[: c.GRIPPER_INDEX] * signs)
    lo, hi = gripper_range_rad
    out[c.GRIPPER_INDEX] = np.clip((radians[c.GRIPPER_INDEX] - lo) / (hi - lo) * 100.0, 0, 100)
    return out
