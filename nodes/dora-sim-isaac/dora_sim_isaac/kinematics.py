"""The SO-101 arm's kinematic chain in plain numpy: forward kinematics, Jacobian and the contract's
Cartesian target (EE_TARGET) solved by damped least squares, as the MuJoCo node solves it.

Isaac Lab gives Jacobians at the simulated state only; solving a target needs the kinematics at
other joint angles, so the node carries the chain itself. ``assets/so101_kinematics.json`` is
written by ``scripts/isaac_convert_so101.py`` from the same MuJoCo model as the USD (each arm
body's pose in its parent at zero angle, its joint axis and range) together with the tool centre
point (TCP) that ``dora_sim_mujoco.ik.find_tcp`` finds on it, so both simulators put the TCP at
the same place for the same target. Frames: the arm's base at the env origin (the task spawns it
there), quaternions wxyz.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dora_sim.poses import quat_to_matrix, wrap_half_turn

DEFAULT_FILE = Path(__file__).parent / "assets" / "so101_kinematics.json"
APPROACH_WEIGHT = 0.05  # as the MuJoCo node: 1 rad of approach error costs as much as 5 cm
TOLERANCE_M = 0.02  # a solution farther than this from the target is a failure (MuJoCo's value)
DAMPING = 1e-3
ITERATIONS = 30


@dataclass(frozen=True)
class Link:
    name: str  # the body moved by this joint
    pos: np.ndarray  # in the parent body, m
    rot: np.ndarray  # 3x3, in the parent body at zero joint angle
    axis: np.ndarray  # joint axis in this body's frame


class Chain:
    """The five arm joints (pan, lift, elbow, wrist flex, wrist roll) up to the gripper body."""

    def __init__(self, links: list[Link], limits: np.ndarray, tcp: np.ndarray):
        self.links, self.limits = links, limits
        self.tcp_pos, self.tcp_rot = tcp[:3], quat_to_matrix(tcp[3:])

    @classmethod
    def load(cls, path: Path = DEFAULT_FILE) -> Chain:
        data = json.loads(Path(path).read_text())
        links = [
            Link(
                j["body"],
                np.array(j["pos"]),
                quat_to_matrix(np.array(j["quat"])),
                np.array(j["axis"]),
            )
            for j in data["joints"]
        ]
        limits = np.array([j["range"] for j in data["joints"]])
        return cls(links, limits, np.array(data["tcp"]))

    def frames(self, q: np.ndarray) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray,
                                            np.ndarray]:  # fmt: skip
        """Joint (origin, world axis) per joint, then the TCP position and rotation (3x3)."""
        pos, rot = np.zeros(3), np.eye(3)
        joints = []
        for link, angle in zip(self.links, q, strict=True):
            pos, rot = pos + rot @ link.pos, rot @ link.rot
            axis = rot @ link.axis
            joints.append((pos, axis))
            rot = rot @ axis_angle(link.axis, angle)
        return joints, pos + rot @ self.tcp_pos, rot @ self.tcp_rot

    def tcp(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        _, position, frame = self.frames(q)
        return position, frame

    def jacobian(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """TCP position, frame, linear (3x5) and angular (3x5) Jacobians at ``q``."""
        joints, position, frame = self.frames(q)
        linear = np.column_stack([np.cross(axis, position - origin) for origin, axis in joints])
        angular = np.column_stack([axis for _, axis in joints])
        return position, frame, linear, angular

    def solve(self, q: np.ndarray, position: np.ndarray, approach: np.ndarray) -> np.ndarray:
        """Pan, lift, elbow and wrist flex that bring the TCP to ``position`` with its x axis
        along ``approach`` (weighted), from ``q``; wrist roll is kept."""
        q = np.clip(np.asarray(q, dtype=np.float64).copy(), *self.limits.T)
        want = approach / np.linalg.norm(approach)
        active = [0, 1, 2, 3]
        for _ in range(ITERATIONS):
            pos, frame, linear, angular = self.jacobian(q)
            e_pos = position - pos
            axis = frame[:, 0]
            if np.linalg.norm(e_pos) < 5e-4 and np.arccos(np.clip(axis @ want, -1, 1)) < 5e-3:
                break
            error = np.concatenate([e_pos, APPROACH_WEIGHT * np.cross(axis, want)])
            jac = np.vstack([linear[:, active], APPROACH_WEIGHT * angular[:, active]])
            step = jac.T @ np.linalg.solve(jac @ jac.T + DAMPING * np.eye(6), error)
            q[active] += step
            q = np.clip(q, *self.limits.T)
        return q

    def solve_target(self, q: np.ndarray, target: np.ndarray) -> np.ndarray | None:
        """Arm angles for an EE_TARGET (x, y, z, approach pitch°, jaw yaw°, gripper) from ``q``
        (the MuJoCo node's algorithm); None when the TCP would end > TOLERANCE_M away."""
        position = np.asarray(target[:3], dtype=np.float64)
        pitch, yaw = np.deg2rad(float(target[3])), np.deg2rad(float(target[4]))
        heading = np.arctan2(position[1], position[0])
        approach = np.array(
            [np.cos(pitch) * np.cos(heading), np.cos(pitch) * np.sin(heading), -np.sin(pitch)]
        )
        q = np.asarray(q, dtype=np.float64).copy()
        roll_low, roll_high = self.limits[4]
        for _ in range(3):
            q = self.solve(q, position, approach)
            jaw = self.tcp(q)[1][:, 1]
            turn = wrap_half_turn(yaw - float(np.arctan2(jaw[1], jaw[0])))
            # the jaw axis looks the same after half a turn: the roll within the joint's range
            for roll in sorted((q[4] + turn, q[4] + turn - np.pi, q[4] + turn + np.pi),
                               key=lambda r: abs(r - q[4])):  # fmt: skip
                if roll_low <= roll <= roll_high:
                    q[4] = roll
                    break
        if np.linalg.norm(self.tcp(q)[0] - position) > TOLERANCE_M:
            return None
        return q


def axis_angle(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation matrix of ``angle`` about the unit ``axis`` (Rodrigues)."""
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k
