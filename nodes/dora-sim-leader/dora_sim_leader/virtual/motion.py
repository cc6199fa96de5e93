"""Joint motions the virtual arm can play: a pose in so101 units as a function of time."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Protocol

import numpy as np

from dora_sim import contract as c
from dora_sim_leader.virtual import physical
from dora_sim_leader.virtual.dataset import DatasetInfo, episode_actions


class Motion(Protocol):
    def pose(self, t: float) -> np.ndarray:
        """Joint values (so101 units, float64[6]) ``t`` seconds after the arm was switched on."""
        ...


class Hold:
    def __init__(self, pose: np.ndarray) -> None:
        self._pose = np.asarray(pose, dtype=np.float64)

    def pose(self, t: float) -> np.ndarray:
        return self._pose.copy()


class Wave:
    """Every joint on its own sine, incommensurate periods: smooth, varied, never repeating soon.

    Amplitudes stay well inside the MuJoCo model's joint limits so the sim never clips a target.
    """

    # Shoulder lifted back 30°: the whole sweep keeps the gripper >= 3 cm above the table, so the
    # follower can track it (around the zero pose the fingertips hit the table and stall).
    CENTER = np.array([0.0, -30.0, 0.0, 0.0, 0.0, 50.0])
    AMPLITUDE = np.array([40.0, 30.0, 30.0, 30.0, 60.0, 40.0])
    PERIOD_S = np.array([6.0, 7.0, 5.0, 4.0, 8.0, 3.0])

    def __init__(self, speed: float = 1.0) -> None:
        self.speed = speed

    def pose(self, t: float) -> np.ndarray:
        return self.CENTER + self.AMPLITUDE * np.sin(2 * math.pi * self.speed * t / self.PERIOD_S)


class Keyframes:
    """Piecewise-linear motion through ``(time_s, pose)`` keyframes; after the last one it holds
    that pose, or with ``loop`` starts over (the last pose should then equal the first)."""

    def __init__(self, keyframes: list[tuple[float, np.ndarray]], loop: bool = False) -> None:
        self.times = np.array([t for t, _ in keyframes], dtype=np.float64)
        self.poses = np.stack([np.asarray(p, dtype=np.float64) for _, p in keyframes])
        self.loop = loop

    def pose(self, t: float) -> np.ndarray:
        if self.loop:
            t %= self.times[-1]
        return np.array([np.interp(t, self.times, self.poses[:, j]) for j in range(c.NUM_JOINTS)])


def calibration_sweep(
    hold_s: float = 5.0,
    move_s: float = 1.0,
    dwell_s: float = 0.25,
    loop: bool = False,
    calibration: physical.Calibration = physical.REFERENCE_CALIBRATION,
) -> Keyframes:
    """What a user does for ``lerobot-calibrate``: hold the middle pose, then move each joint
    (but the full-turn wrist roll) to both mechanical stops, one at a time, and back, resting
    ``dwell_s`` at each so that the host's sampling surely sees it. ``calibration``: the body."""
    mid = physical.homing_pose(calibration)
    keys: list[tuple[float, np.ndarray]] = [(0.0, mid), (hold_s, mid)]
    t = hold_s
    for joint in c.JOINT_NAMES:
        if joint == physical.FULL_TURN_JOINT:
            continue
        ends = (physical.range_pose(joint, end, calibration) for end in ("min", "max"))
        for pose in (*ends, mid):
            t += move_s
            keys.append((t, pose))
            t += dwell_s
            keys.append((t, pose))
    return Keyframes(keys, loop)


class DatasetPlayback:
    """The ``action`` column of a LeRobot v3 dataset, played at the dataset's fps, looped."""

    def __init__(self, root: Path, episode: int | None = None) -> None:
        self.fps = DatasetInfo.load(root).fps
        self.actions = episode_actions(root, episode)

    def pose(self, t: float) -> np.ndarray:
        return self.actions[int(t * self.fps) % len(self.actions)].copy()
