"""Damped-least-squares inverse kinematics for the SO-101's gripper site.

A 5-DOF arm cannot reach every 6-D pose, so the solver takes a position and, optionally, the
direction the jaws should point along (the site's x axis, e.g. straight down for a top grasp).
It works on its own scratch ``MjData`` and never touches the simulation's state.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from dora_sim_mujoco.scene import EE_SITE

ARM_JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll")


@dataclass(frozen=True)
class IKResult:
    qpos: np.ndarray  # arm joint angles (rad), in ARM_JOINTS order
    position_error: float  # metres
    approach_error: float  # radians between wanted and reached jaw direction (0 if unused)
    iterations: int

    def converged(self, pos_tol: float = 2e-3, angle_tol: float = 0.05) -> bool:
        return self.position_error <= pos_tol and self.approach_error <= angle_tol


class IKSolver:
    def __init__(self, model: mujoco.MjModel, damping: float = 1e-3, max_iterations: int = 30):
        self.model = model
        self.data = mujoco.MjData(model)
        self.damping = damping
        self.max_iterations = max_iterations
        self.site = model.site(EE_SITE).id
        joints = [model.joint(name) for name in ARM_JOINTS]
        self.qadr = np.array([j.qposadr[0] for j in joints])
        self.dofadr = np.array([j.dofadr[0] for j in joints])
        self.limits = np.array([j.range for j in joints])
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))

    def site_pose(self, arm_qpos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forward kinematics: (position, jaw direction) of the gripper site for arm angles."""
        self.data.qpos[self.qadr] = arm_qpos
        mujoco.mj_kinematics(self.model, self.data)
        xmat = self.data.site_xmat[self.site].reshape(3, 3)
        return self.data.site_xpos[self.site].copy(), xmat[:, 0].copy()

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
            mujoco.mj_jacSite(self.model, self.data, self._jacp, self._jacr, self.site)
            jac = (
                self._jacp[:, cols]
                if want is None
                else np.vstack([self._jacp[:, cols], approach_weight * self._jacr[:, cols]])
            )
            step = jac.T @ np.linalg.solve(jac @ jac.T + self.damping * np.eye(len(error)), error)
            q[list(active)] += step
            q = np.clip(q, *self.limits.T)
        return IKResult(q, pos_err, ang_err, iteration)
