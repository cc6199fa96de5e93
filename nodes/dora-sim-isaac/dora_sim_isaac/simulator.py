"""The Isaac Lab SO-101 simulation behind the dora node: one env, the shared ``Simulator`` protocol.

Implements :class:`dora_sim.sim_node.Simulator` over a one-env
:class:`~dora_sim_isaac.isaac_env.ContractEnv`, so the node's dora glue is the MuJoCo node's
(:mod:`dora_sim.sim_node`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from dora_sim.units import gripper_to_sim, sim_to_contract
from dora_sim_isaac.config import IsaacConfig
from dora_sim_isaac.ee import EETracker
from dora_sim_isaac.isaac_env import ContractEnv
from dora_sim_isaac.kinematics import Chain

log = logging.getLogger("dora-sim-isaac")

# Damping of the least-squares jog step (m): keeps the step bounded near singular poses.
JOG_DAMPING = 0.01
# A jog step is accepted when the linearised motion misses the requested one by at most this (m).
JOG_TOLERANCE = 1e-3


@dataclass(frozen=True)
class TaskText:
    description: str


class IsaacSimulator:
    def __init__(self, config: IsaacConfig, env: ContractEnv):
        self.config = config
        self.task = TaskText(config.description)
        self.env = env
        self.target = env.joint_radians()[0]  # current joint target, radians, contract order
        self.ee = EETracker()
        self.ee.reset(env.ee_poses())
        # The arm's chain (ISAAC_KINEMATICS) solves Cartesian targets; without one they are refused.
        self.chain = Chain.load(config.kinematics) if config.kinematics else None
        self.warned_no_chain = False

    # --- episode -------------------------------------------------------------------------------
    def reset(self, seed: int) -> None:
        """New scene from the task's reset events, seeded; the target is the reset pose."""
        self.env.reset(seed=seed)
        self.target = self.env.joint_radians()[0]
        self.ee.reset(self.env.ee_poses())

    # --- actions -------------------------------------------------------------------------------
    def set_action(self, action: np.ndarray) -> bool:
        targets, clipped = self.env.to_radians(action[None, :])
        self.target = targets[0]
        return bool(clipped[0])

    def set_ee_target(self, target: np.ndarray) -> bool:
        """Joint target putting the TCP at an EE_TARGET (position, approach pitch, jaw yaw), solved
        on the arm's chain from the current target as the MuJoCo node solves it (the arm's base
        at the env origin); False (previous target kept) when it cannot be reached."""
        if self.chain is None:
            if not self.warned_no_chain:
                self.warned_no_chain = True
                log.warning("ee_target refused: no arm chain for this task (set ISAAC_KINEMATICS;"
                            " docs/isaac.md)")  # fmt: skip
            return False
        arm = self.chain.solve_target(self.target[:5], target)
        if arm is None:
            return False
        gripper = gripper_to_sim(float(target[5]), self.env.gripper_range)
        self.target = np.clip(np.r_[arm, gripper], self.env.limits[:, 0], self.env.limits[:, 1])
        return True

    def jog(self, delta: np.ndarray) -> bool:
        """One tick of a Cartesian jog (contract EE_DELTA), like the MuJoCo node's.

        The position moves on pan/lift/elbow by one damped least-squares step over the PhysX
        Jacobian of the end-effector body; wrist pitch and roll follow their rates; the gripper
        takes its absolute target. Returns False (position kept) when the step cannot follow.
        """
        dt = 1.0 / self.config.fps
        target = self.target.copy()
        target[3] += np.deg2rad(delta[3]) * dt
        target[4] += np.deg2rad(delta[4]) * dt
        target[5] = gripper_to_sim(float(delta[5]), self.env.gripper_range)
        ok = True
        if np.any(delta[:3] != 0):
            wanted = np.asarray(delta[:3], dtype=np.float64) * dt
            jac = self.env.arm_jacobian()[0][:, :3]
            step = jac.T @ np.linalg.solve(jac @ jac.T + JOG_DAMPING**2 * np.eye(3), wanted)
            ok = bool(np.linalg.norm(jac @ step - wanted) <= JOG_TOLERANCE)
            if ok:
                target[:3] += step
        self.target = np.clip(target, self.env.limits[:, 0], self.env.limits[:, 1])
        return ok

    def target_contract(self) -> np.ndarray:
        return sim_to_contract(self.target, self.env.gripper_range).astype(np.float32)

    # --- stepping & observing ------------------------------------------------------------------
    def step(self) -> None:
        """Advance exactly one tick (``sim.dt * decimation`` = 1/FPS) toward the target."""
        self.env.step(self.target[None, :])
        self.ee.update(self.env.ee_poses())

    def state(self) -> np.ndarray:
        return self.env.joint_state()[0]

    def render(self, camera: str, out: np.ndarray | None = None) -> np.ndarray:
        """The camera's latest frame, copied from the sim device straight into ``out``."""
        import torch

        rgb = self.env.image(camera)[0]
        if out is None:
            return rgb.to("cpu", copy=True).numpy()
        torch.from_numpy(out).copy_(rgb)
        return out

    def ee_pose(self) -> np.ndarray:
        return self.env.ee_poses()[0]

    def object_poses(self) -> dict[str, np.ndarray]:
        return {name: poses[0] for name, poses in self.env.object_poses().items()}

    def success(self) -> bool:
        return bool(self.env.success()[0])

    def get_ee_state(self) -> dict[str, np.ndarray]:
        """The seed demo's end-effector state: pose and the change over the last step."""
        return self.ee.state()

    def close(self) -> None:
        self.env.close()
