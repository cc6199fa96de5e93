"""Damped-least-squares inverse kinematics for the SO-101's tool centre point.

A 5-DOF arm cannot reach every 6-D pose, so the solver takes a position and, optionally, the
direction the jaws should point along (the approach axis, the gripper site's x axis, e.g.
straight down for a top grasp). The point it moves is the contract's tool centre point (TCP):
midway between the open jaw pads, a fixed offset from the gripper site (:func:`find_tcp`).
It works on its own scratch ``MjData`` and never touches the simulation's state.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from dora_sim_mujoco.scene import EE_SITE

ARM_JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll")
JAW_PADS = ("fixed_jaw_pad", "moving_jaw_pad")


@dataclass(frozen=True)
class TCP:
    """The tool centre point in the gripper site's frame."""

    offset: np.ndarray  # position, m
    rotation: np.ndarray  # 3x3: columns = TCP x (approach), y (jaw closing axis), z


def find_tcp(model: mujoco.MjModel, gripper_open: float) -> TCP:
    """Midway between the jaw pads with the gripper at ``gripper_open`` (rad), in site frame.

    The TCP's x axis is the site's (the approach axis); its y axis is the fixed-to-moving pad
    direction, made perpendicular to x.
    """
    data = mujoco.MjData(model)
    data.qpos[model.joint("gripper").qposadr[0]] = gripper_open
    mujoco.mj_kinematics(model, data)
    site = model.site(EE_SITE).id
    origin, frame = data.site_xpos[site], data.site_xmat[site].reshape(3, 3)
    fixed, moving = (data.geom_xpos[model.geom(name).id] for name in JAW_PADS)
    offset = frame.T @ ((fixed + moving) / 2 - origin)
    jaw = frame.T @ (moving - fixed)
    jaw[0] = 0.0  # perpendicular to the approach axis
    y = jaw / np.linalg.norm(jaw)
    x = np.array([1.0, 0.0, 0.0])
    return TCP(offset, np.column_stack([x, y, np.cross(x, y)]))


@dataclass(frozen=True)
class IKResult:
    qpos: np.ndarray  # arm joint angles (rad), in ARM_JOINTS order
    position_error: float  # metres
    approach_error: float  # radians between wanted and reached jaw direction (0 if unused)
    iterations: int

    def converged(self, pos_tol: float = 2e-3, angle_tol: float = 0.05) -> bool:
        return self.position_error <= pos_tol and self.approach_error <= angle_tol


class IKSolver:
    def __init__(
        self,
        model: mujoco.MjModel,
        tcp: TCP,
        damping: float = 1e-3,
        max_iterations: int = 30,
    ):
        self.model = model
        self.data = mujoco.MjData(model)
        self.tcp = tcp
        self.damping = damping
        self.max_iterations = max_iterations
        self.site = model.site(EE_SITE).id
        self.body = int(model.site_bodyid[self.site])
        joints = [model.joint(name) for name in ARM_JOINTS]
        self.qadr = np.array([j.qposadr[0] for j in joints])
        self.dofadr = np.array([j.dofadr[0] for j in joints])
        self.limits = np.array([j.range for j in joints])
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))

    def tcp_frame(self, arm_qpos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forward kinematics: TCP position and orientation (3x3) for arm angles."""
        self.data.qpos[self.qadr] = arm_qpos
        mujoco.mj_kinematics(self.model, self.data)
        return tcp_pose(self.data, self.site, self.tcp)

    def site_pose(self, arm_qpos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forward kinematics: (position, approach direction) of the TCP for arm angles."""
        position, frame = self.tcp_frame(arm_qpos)
        return position, frame[:, 0].copy()

    def solve(
        self,
        arm_qpos: np.ndarray,
        target_pos: np.ndarray,
        approach: np.ndarray | None = None,
        active: tuple[int, ...] = (0, 1, 2, 3),
        approach_weight: float = 0.1,
    ) -> IKResult:
        """Move the ``active`` joints (indices into ARM_JOINTS) from ``arm_qpos`` to the target.

        ``approach_weight`` trades jaw direction against position: 0.1 makes 1 rad of direction
        error cost as much as 10 cm of position error; lower it where the direction cannot be met.
        """
        q = np.clip(np.asarray(arm_qpos, dtype=np.float64).copy(), *self.limits.T)
        cols = self.dofadr[list(active)]
        want = None if approach is None else np.asarray(approach) / np.linalg.norm(approach)
        pos_err = ang_err = np.inf
        for iteration in range(1, self.max_iterations + 1):  # noqa: B007 (reported)
            pos, axis = self.site_pose(q)
            e_pos = np.asarray(target_pos) - pos
            pos_err = float(np.linalg.norm(e_pos))
            if want is None:
                error, ang_err = e_pos, 0.0
            else:
                e_rot = np.cross(axis, want)
                ang_err = float(np.arccos(np.clip(axis @ want, -1.0, 1.0)))
                error = np.concatenate([e_pos, approach_weight * e_rot])
            if pos_err < 5e-4 and ang_err < 5e-3:
                break
            mujoco.mj_comPos(self.model, self.data)
            mujoco.mj_jac(self.model, self.data, self._jacp, self._jacr, pos, self.body)
            jac = (
                self._jacp[:, cols]
                if want is None
                else np.vstack([self._jacp[:, cols], approach_weight * self._jacr[:, cols]])
            )
            step = jac.T @ np.linalg.solve(jac @ jac.T + self.damping * np.eye(len(error)), error)
            q[list(active)] += step
            q = np.clip(q, *self.limits.T)
        return IKResult(q, pos_err, ang_err, iteration)


def tcp_pose(data: mujoco.MjData, site: int, tcp: TCP) -> tuple[np.ndarray, np.ndarray]:
    """TCP position and orientation (3x3) in the world, from a posed ``data``."""
    frame = data.site_xmat[site].reshape(3, 3)
    return data.site_xpos[site] + frame @ tcp.offset, frame @ tcp.rotation
