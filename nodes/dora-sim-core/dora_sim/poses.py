"""Quaternion helpers (wxyz, as MuJoCo and the contract lay them out), plain numpy."""

from __future__ import annotations

import numpy as np


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a * b`` (rotation b, then a)."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return np.array(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ]
    )


def quat_conjugate(q: np.ndarray) -> np.ndarray:
    return np.array([q[0], -q[1], -q[2], -q[3]])


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """3x3 rotation matrix of a unit quaternion; its columns are the rotated x, y, z axes."""
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def yaw_of(q: np.ndarray) -> float:
    """Heading (rad) of a body's x axis about world z."""
    w, x, y, z = q
    return float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))


def jaw_yaw(tcp_quat: np.ndarray) -> float:
    """World heading (rad) of the TCP's jaw closing axis (its y axis), folded into (-90°, 90°]."""
    axis = quat_to_matrix(tcp_quat)[:, 1]
    return wrap_half_turn(float(np.arctan2(axis[1], axis[0])))


def wrap_half_turn(angle: float) -> float:
    """Angle modulo 180° into (-90°, 90°]: a jaw axis points both ways."""
    return float(-((-angle + np.pi / 2) % np.pi - np.pi / 2))


def wrap_quarter_turn(angle: float) -> float:
    """Angle modulo 90° into (-45°, 45°]: a cube looks the same every quarter turn."""
    return float(-((-angle + np.pi / 4) % (np.pi / 2) - np.pi / 4))
