"""The MuJoCo SO-101 simulation, free of dora: physics, task, IK jog, cameras, observations.

The dora node (:mod:`dora_sim_mujoco.main`) drives one :class:`Simulator`; the benchmark's floor
measurement and the tests drive it directly.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np

from dora_sim import contract as c
from dora_sim.poses import wrap_half_turn
from dora_sim.units import contract_to_sim, gripper_to_sim, sim_to_contract
from dora_sim_mujoco.ik import ARM_JOINTS, IKSolver, find_tcp, tcp_pose
from dora_sim_mujoco.randomization_config import SCHEMA, RandomizationConfig
from dora_sim_mujoco.randomizer import Randomizer
from dora_sim_mujoco.scene import EE_SITE, build_spec, compile_scene, substeps_per_tick
from dora_sim_mujoco.tasks import Task, make_task

# Gripper above the middle of the workspace, jaws down, half open (so101 units).
HOME_POSE = np.array([0.0, -12.0, 7.0, 90.0, 0.0, 30.0], dtype=np.float32)
# An EE_TARGET's approach direction is a soft goal (a 5-DOF arm cannot meet every one): 1 rad of
# direction error costs as much as 5 cm of position error.
APPROACH_WEIGHT = 0.05
EE_TARGET_TOLERANCE_M = 0.02  # farther from the target than this, IK has failed


@dataclass(frozen=True)
class SimConfig:
    task: str = "pick-cube"
    fps: int = c.DEFAULT_FPS
    cameras: tuple[str, ...] = ("front", "wrist")
    height: int = 240
    width: int = 320
    profile: str = "fast"
    home_pose: np.ndarray = field(default_factory=lambda: HOME_POSE.copy())
    reset_arm: bool = True  # put the arm back to the home pose at every episode start
    randomization: RandomizationConfig | None = None  # domain randomization profile (None: off)


class Simulator:
    def __init__(self, config: SimConfig, task: Task | None = None):
        self.config = config
        self.task = task or make_task(config.task)
        self.model = compile_scene(
            build_spec(self.task, config.cameras, config.profile, config.randomization),
            config.fps,
        )
        self.data = mujoco.MjData(self.model)
        self.substeps = substeps_per_tick(self.model, config.fps)
        joints = [self.model.joint(name) for name in (*ARM_JOINTS, "gripper")]
        self.qadr = np.array([j.qposadr[0] for j in joints])
        self.ctrl_range = self.model.actuator_ctrlrange[:6].copy()
        self.gripper_range = (float(self.ctrl_range[5, 0]), float(self.ctrl_range[5, 1]))
        self.tcp = find_tcp(self.model, gripper_to_sim(c.TCP_GRIPPER, self.gripper_range))
        self.ik = IKSolver(self.model, self.tcp)
        self.site = self.model.site(EE_SITE).id
        self.target = np.zeros(6)  # current joint target, simulator radians
        self.randomizer: Randomizer | None = None
        if config.randomization is not None:
            self.randomizer = Randomizer(
                self.model, config.randomization, self.task.bodies, (config.height, config.width)
            )
        # targets of the last ticks, for a randomized action latency
        self.sent: deque[np.ndarray] = deque(maxlen=int(SCHEMA["latency"]["ticks"].high) + 1)
        self.renderer: mujoco.Renderer | None = None
        if config.cameras:
            self.renderer = mujoco.Renderer(self.model, config.height, config.width)

    # --- episode -----------------------------------------------------------------------------
    def reset(self, seed: int) -> None:
        """New scene for an episode: the task (of a suite), the randomized look and physics and
        the objects' places from ``seed``; the arm at home (if configured)."""
        arm = self.data.qpos[self.qadr].copy()
        mujoco.mj_resetData(self.model, self.data)
        home = contract_to_sim(self.config.home_pose, self.gripper_range)
        start = home if self.config.reset_arm else arm
        self.data.qpos[self.qadr] = start
        self.data.ctrl[:6] = start
        self.target = start.copy()
        self.sent.extend([start] * self.sent.maxlen)  # a delayed command finds the start pose
        self.task.select(seed)
        if self.randomizer is not None:
            self.randomizer.reset(seed)  # before placing: objects rest on their sampled size
        self.task.reset(self.model, self.data, np.random.default_rng(seed))
        mujoco.mj_forward(self.model, self.data)

    def randomization(self) -> dict[str, Any] | None:
        """This episode's sampled randomization (None when off): stored with the dataset."""
        return None if self.randomizer is None else self.randomizer.record()

    # --- actions -----------------------------------------------------------------------------
    def set_action(self, action: np.ndarray) -> bool:
        """Joint target in so101 units; returns True if it had to be clipped to the joint limits."""
        target = contract_to_sim(action, self.gripper_range)
        clipped = np.clip(target, self.ctrl_range[:, 0], self.ctrl_range[:, 1])
        self.target = clipped
        return bool(np.any(np.abs(clipped - target) > 1e-9))

    def set_ee_target(self, target: np.ndarray) -> bool:
        """Joint target putting the TCP at an EE_TARGET (position, approach pitch, jaw yaw).

        Position and approach are solved on pan/lift/elbow/wrist-flex, warm-started from the
        current target; wrist roll then turns the jaw axis to the yaw (mod 180°, the nearer way
        within the joint's range), and the position is solved again around the new roll.
        Returns False, keeping the previous target, when the TCP would end farther than
        EE_TARGET_TOLERANCE_M from the target.
        """
        position = np.asarray(target[:3], dtype=np.float64)
        pitch, yaw = np.deg2rad(float(target[3])), np.deg2rad(float(target[4]))
        heading = np.arctan2(position[1], position[0])
        approach = np.array(
            [np.cos(pitch) * np.cos(heading), np.cos(pitch) * np.sin(heading), -np.sin(pitch)]
        )
        q = self.target[:5].copy()
        roll_low, roll_high = self.ik.limits[4]
        for _ in range(3):
            q = self.ik.solve(q, position, approach=approach, approach_weight=APPROACH_WEIGHT).qpos
            _, frame = self.ik.tcp_frame(q)
            jaw = frame[:, 1]
            turn = wrap_half_turn(yaw - float(np.arctan2(jaw[1], jaw[0])))
            # the jaw axis looks the same after half a turn: pick the roll within the joint range
            for roll in sorted((q[4] + turn, q[4] + turn - np.pi, q[4] + turn + np.pi),
                               key=lambda r: abs(r - q[4])):  # fmt: skip
                if roll_low <= roll <= roll_high:
                    q[4] = roll
                    break
        reached, _ = self.ik.tcp_frame(q)
        if np.linalg.norm(reached - position) > EE_TARGET_TOLERANCE_M:
            return False
        gripper = gripper_to_sim(float(target[5]), self.gripper_range)
        self.target = np.clip(np.r_[q, gripper], self.ctrl_range[:, 0], self.ctrl_range[:, 1])
        return True

    def jog(self, delta: np.ndarray) -> bool:
        """Integrate one tick of a Cartesian jog (contract EE_DELTA) into the joint target by IK.

        Position is solved on pan/lift/elbow from the current target; wrist pitch and roll follow
        their rates directly. Returns False (target kept) when IK cannot reach the new point.
        """
        dt = 1.0 / self.config.fps
        target = self.target.copy()
        target[3] += np.deg2rad(delta[3]) * dt
        target[4] += np.deg2rad(delta[4]) * dt
        target[5] = gripper_to_sim(float(delta[5]), self.gripper_range)
        ok = True
        if np.any(delta[:3] != 0):
            pos, _ = self.ik.site_pose(target[:5])
            result = self.ik.solve(target[:5], pos + delta[:3] * dt, active=(0, 1, 2))
            ok = result.converged(pos_tol=2e-3)
            if ok:
                target[:5] = result.qpos
        self.target = np.clip(target, self.ctrl_range[:, 0], self.ctrl_range[:, 1])
        return ok

    def target_contract(self) -> np.ndarray:
        return sim_to_contract(self.target, self.gripper_range).astype(np.float32)

    # --- stepping & observing ------------------------------------------------------------------
    def step(self) -> None:
        """Advance exactly one tick (1/fps s) of sim time toward the current target (or, with
        a randomized latency of n ticks, toward the target of n ticks ago)."""
        self.sent.append(self.target.copy())
        latency = 0 if self.randomizer is None else self.randomizer.latency
        self.data.ctrl[:6] = self.sent[max(0, len(self.sent) - 1 - latency)]
        mujoco.mj_step(self.model, self.data, nstep=self.substeps)
        if self.randomizer is not None:
            self.randomizer.step(self.data)

    def state(self) -> np.ndarray:
        return sim_to_contract(self.data.qpos[self.qadr], self.gripper_range).astype(np.float32)

    def render(self, camera: str, out: np.ndarray | None = None) -> np.ndarray:
        assert self.renderer is not None, "no cameras configured"
        self.renderer.update_scene(self.data, camera=camera)
        image = self.renderer.render(out=out)
        if self.randomizer is not None:
            self.randomizer.add_noise(image)
        return image

    def ee_pose(self) -> np.ndarray:
        """TCP position + quaternion wxyz (x axis: approach, y axis: jaw closing direction)."""
        position, frame = tcp_pose(self.data, self.site, self.tcp)
        quat = np.empty(4)
        mujoco.mju_mat2Quat(quat, frame.reshape(-1))
        return np.concatenate([position, quat])

    def object_poses(self) -> dict[str, np.ndarray]:
        poses = {}
        for name in self.task.object_names():
            body = self.model.body(name).id
            poses[name] = np.concatenate([self.data.xpos[body], self.data.xquat[body]])
        return poses

    def success(self) -> bool:
        return self.task.success(self.model, self.data)

    @property
    def sim_time(self) -> float:
        return float(self.data.time)

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None
