"""The scene's cameras: where they sit and what they look at (no MuJoCo needed to read them)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRIPPER_BODY = "gripper"


@dataclass(frozen=True)
class CameraSpec:
    """A camera: fixed in the world (``body=None``) or riding on a body of the arm."""

    name: str
    pos: tuple[float, float, float]
    xyaxes: tuple[float, float, float, float, float, float]
    fovy: float
    body: str | None = None


def _look_at(pos: np.ndarray, target: np.ndarray) -> tuple[float, ...]:
    """xyaxes of a camera at ``pos`` looking at ``target`` with the world z axis up."""
    forward = (target - pos) / np.linalg.norm(target - pos)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return (*right, *up)


def _front_camera() -> CameraSpec:
    pos = np.array([0.62, 0.0, 0.42])
    return CameraSpec("front", tuple(pos), _look_at(pos, np.array([0.2, 0.0, 0.02])), 55.0)


# The wrist camera sits on the gripper's motor, looking along the jaws (gripper body frame: the
# jaws point along -z, the moving jaw opens towards +x).
CAMERAS: dict[str, CameraSpec] = {
    "front": _front_camera(),
    "wrist": CameraSpec(
        "wrist", (0.0, -0.05, -0.02), (1.0, 0.0, 0.0, 0.0, 0.95, 0.3), 75.0, GRIPPER_BODY
    ),
}
