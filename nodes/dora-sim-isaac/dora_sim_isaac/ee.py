"""End-effector pose and per-step deltas: the seed demo's ``get_ee_state()`` / ``info["ee_state"]``.

Plain numpy, batched over environments: positions (N, 3), quaternions wxyz (N, 4). The deltas are
taken between two consecutive observations (two steps, or a reset and the first step); right
after a reset they are zero.
"""

from __future__ import annotations

import numpy as np


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of wxyz quaternions (broadcast over leading dimensions)."""
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def quat_conjugate(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


class EETracker:
    """Keeps the last end-effector pose and the change since the one before."""

    def __init__(self) -> None:
        self.pos = np.zeros((1, 3))
        self.quat = np.tile([1.0, 0.0, 0.0, 0.0], (1, 1))
        self.pos_delta = np.zeros((1, 3))
        self.quat_delta = self.quat.copy()

    def reset(self, poses: np.ndarray) -> None:
        """Start over from ``poses`` (N, 7): deltas are zero (identity rotation)."""
        poses = np.asarray(poses, dtype=np.float64)
        self.pos, self.quat = poses[:, :3].copy(), poses[:, 3:7].copy()
        self.pos_delta = np.zeros_like(self.pos)
        self.quat_delta = np.tile([1.0, 0.0, 0.0, 0.0], (len(poses), 1))

    def update(self, poses: np.ndarray, env_ids: np.ndarray | None = None) -> None:
        """New poses (N, 7) after a step; ``env_ids`` that were just reset get zero deltas."""
        poses = np.asarray(poses, dtype=np.float64)
        pos, quat = poses[:, :3], poses[:, 3:7]
        self.pos_delta = pos - self.pos
        # The rotation that takes the previous orientation to the new one (world frame).
        self.quat_delta = quat_multiply(quat, quat_conjugate(self.quat))
        if env_ids is not None and len(env_ids):
            self.pos_delta[env_ids] = 0.0
            self.quat_delta[env_ids] = [1.0, 0.0, 0.0, 0.0]
        self.pos, self.quat = pos.copy(), quat.copy()

    def state(self) -> dict[str, np.ndarray]:
        """``ee_pos``, ``ee_quat`` (wxyz), ``ee_pos_delta``, ``ee_quat_delta``, each (N, k)."""
        return {
            "ee_pos": self.pos.astype(np.float32),
            "ee_quat": self.quat.astype(np.float32),
            "ee_pos_delta": self.pos_delta.astype(np.float32),
            "ee_quat_delta": self.quat_delta.astype(np.float32),
        }
