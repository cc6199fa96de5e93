"""LeRobot's action/observation dicts <-> the contract's joint vector, and keyboard_ee actions.

A real ``so101_follower`` (``use_degrees=True``) names its joints ``shoulder_pan.pos`` …
``gripper.pos`` in the contract's units, so the dict is only a relabelling of the contract's
float32[6]; the conversion to the engine's radians stays at the simulator's own boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np

from dora_sim import contract as c

# Exactly what a real so101_follower declares as its joint features (and actions).
JOINT_FEATURES: Final[dict[str, type]] = dict.fromkeys(c.MOTOR_FEATURE_NAMES, float)
# LeRobot's keyboard_ee teleoperator: unit steps along the base frame's axes, and a gripper
# command 0 (close), 1 (stay), 2 (open).
EE_KEYS: Final = ("delta_x", "delta_y", "delta_z")
EE_GRIPPER_KEY: Final = "gripper"


def is_joint_action(action: Mapping[str, float]) -> bool:
    return all(name in action for name in c.MOTOR_FEATURE_NAMES)


def is_ee_action(action: Mapping[str, float]) -> bool:
    return all(name in action for name in EE_KEYS)


def to_vector(action: Mapping[str, float]) -> np.ndarray:
    """``{"shoulder_pan.pos": …}`` -> float32[6] in contract order."""
    return np.array([float(action[name]) for name in c.MOTOR_FEATURE_NAMES], dtype=np.float32)


def to_features(values: np.ndarray) -> dict[str, float]:
    """float32[6] in contract order -> ``{"shoulder_pan.pos": …}``."""
    return {name: float(v) for name, v in zip(c.MOTOR_FEATURE_NAMES, values, strict=True)}


def ee_delta(
    action: Mapping[str, float],
    gripper_now: float,
    *,
    ee_speed_m_s: float,
    gripper_speed: float,
    fps: int,
) -> np.ndarray:
    """A keyboard_ee action as one tick of the contract's Cartesian jog (``ee_delta``): a velocity
    of ``ee_speed_m_s`` along each pressed axis, the wrist held, and the gripper target moved
    from ``gripper_now`` by ``gripper_speed`` per second while open/close is held."""
    steps = np.clip([float(action[name]) for name in EE_KEYS], -1.0, 1.0)
    command = float(action.get(EE_GRIPPER_KEY, 1.0)) - 1.0  # -1 close, 0 stay, +1 open
    lo, hi = c.GRIPPER_RANGE
    gripper = float(np.clip(gripper_now + command * gripper_speed / fps, lo, hi))
    return np.array([*(steps * ee_speed_m_s), 0.0, 0.0, gripper], dtype=np.float32)
