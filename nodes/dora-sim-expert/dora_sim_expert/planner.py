"""Scripted expert: solves each task from privileged scene state, through the joint-action contract.

Each tick it moves a Cartesian goal toward the current waypoint at a bounded speed (so episodes
look like smooth teleoperation, not teleports), solves IK for it, and returns a joint target in
so101 units — exactly what a leader arm would send.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dora_sim.codec import Scene
from dora_sim.units import contract_to_sim, gripper_to_sim, sim_to_contract
from dora_sim_mujoco.ik import IKSolver

DOWN = np.array([0.0, 0.0, -1.0])
GRIPPER_OPEN = 40.0
GRIPPER_CLOSED = 0.0


@dataclass
class Waypoint:
    """Go to ``pos`` (gripper site, world frame) with the gripper at ``gripper`` (0-100)."""

    name: str
    pos: np.ndarray
    gripper: float
    speed: float = 0.25  # m/s of the commanded point
    settle_s: float = 0.0  # dwell after arriving (e.g. to let the jaws close)
    tolerance: float = 0.01  # how close the real gripper must get (m)
    timeout_s: float = 4.0
    holding: bool = False  # an object must be in the jaws when this waypoint is reached


def _holding(scene: Scene) -> bool:
    """Whether some object is lifted off the table right at the gripper."""
    return any(
        pose[2] > 0.03 and np.linalg.norm(pose[:3] - scene.ee[:3]) < 0.04
        for name, pose in scene.objects.items()
        if name != "bin"
    )


def _yaw(quat_wxyz: np.ndarray) -> float:
    w, x, y, z = quat_wxyz
    return float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))


def _wrap_quarter(angle: float) -> float:
    """Angle modulo 90° into (-45°, 45°]: a cube looks the same every quarter turn."""
    return float((angle + np.pi / 4) % (np.pi / 2) - np.pi / 4)


class Expert:
    """Task-agnostic waypoint follower; task plans come from :func:`plan_for`.

    With ``miss_rate`` > 0, that fraction of episodes aims its first grasp ``miss_m`` off in a
    random horizontal direction (seeded by the episode index) and then recovers: the grasp lifts
    nothing and the expert plans again from the true pose: demos of what to do after a missed
    grasp. The miss is in the demos too; ACT trained with 30 % of them did worse (docs/policy.md).
    """

    def __init__(self, ik: IKSolver, fps: int, miss_rate: float = 0.0, miss_m: float = 0.02):
        self.ik = ik
        self.fps = fps
        self.miss_rate = miss_rate
        self.miss_m = miss_m
        self.model = ik.model
        self.fixed_pad = self.model.geom("fixed_jaw_pad").id
        self.moving_pad = self.model.geom("moving_jaw_pad").id
        self.episode = -1
        self.plan: list[Waypoint] = []
        self.goal = np.zeros(3)
        self.q = np.zeros(5)  # commanded arm joints (rad)
        self.gripper = GRIPPER_OPEN
        self.roll_target: float | None = None
        self.bias = np.zeros(3)
        self.elapsed = 0
        self.settled = 0

    def start(self, episode: int, scene: Scene, state: np.ndarray) -> None:
        self.episode = episode
        self.q = contract_to_sim(state)[:5]
        self.goal = scene.ee[:3].copy()
        self.gripper = float(state[5])
        self.roll_target = None
        self.bias = np.zeros(3)
        self.plan = plan_for(self._misjudged(scene, episode), self)
        self.elapsed = self.settled = 0

    def _misjudged(self, scene: Scene, episode: int) -> Scene:
        """The scene as this episode's first plan sees it: objects shifted when it should miss."""
        rng = np.random.default_rng([episode, 0x5EED])
        if rng.random() >= self.miss_rate:
            return scene
        angle = rng.uniform(0.0, 2 * np.pi)
        shift = self.miss_m * np.array([np.cos(angle), np.sin(angle), 0.0])
        objects = {
            name: pose if name == "bin" else np.r_[pose[:3] + shift, pose[3:]]
            for name, pose in scene.objects.items()
        }
        return Scene(scene.ee, objects)

    def jaw_axis(self, q: np.ndarray) -> np.ndarray:
        """Horizontal unit vector from the fixed to the (open) moving jaw pad at arm angles q."""
        gripper = self.model.joint("gripper").qposadr[0]
        self.ik.data.qpos[gripper] = gripper_to_sim(GRIPPER_OPEN)
        self.ik.site_pose(q)
        d = self.ik.data.geom_xpos[self.moving_pad] - self.ik.data.geom_xpos[self.fixed_pad]
        d[2] = 0.0
        return d / max(np.linalg.norm(d), 1e-9)

    def grasp(self, center: np.ndarray, yaw: float | None = None) -> np.ndarray:
        """Site position that centres the object between the open jaw pads.

        The jaw direction depends on the pose (pan, roll), so pose and grasp point are solved
        together; with ``yaw`` the wrist is also turned so the jaws meet two faces of a box.
        Centred, the grasp tolerates ~5 mm of error either way; against the fixed pad (the old
        grasp) 5 mm towards it failed half the time — demos a policy imitates need that slack.
        """
        q = self.q.copy()
        target = center.copy()
        data = self.ik.data
        for _ in range(4):
            q = self.ik.solve(q, target, approach=DOWN, approach_weight=0.05).qpos
            if yaw is not None:
                axis = self.jaw_axis(q)
                q[4] += _wrap_quarter(yaw - float(np.arctan2(axis[1], axis[0])))
            self.jaw_axis(q)  # open jaws posed at q
            middle = (data.geom_xpos[self.fixed_pad] + data.geom_xpos[self.moving_pad]) / 2
            offset = middle - data.site_xpos[self.ik.site]
            target = center - np.array([offset[0], offset[1], 0.0])
        self.roll_target = float(q[4]) if yaw is not None else None
        return target

    def act(self, scene: Scene, state: np.ndarray) -> np.ndarray:
        """Next joint target (so101 units) for this tick."""
        if not self.plan:
            return self._action()
        wp = self.plan[0]
        step = wp.speed / self.fps
        delta = wp.pos - self.goal
        dist = float(np.linalg.norm(delta))
        self.goal = wp.pos.copy() if dist <= step else self.goal + delta / dist * step
        gap = wp.gripper - self.gripper
        self.gripper += float(np.clip(gap, -300.0 / self.fps, 300.0 / self.fps))
        # Position servos sag under gravity (kp 17.8): an integral term on the measured gripper
        # position removes the steady offset, as a human closing the loop by eye would.
        error = self.goal - scene.ee[:3]
        if np.linalg.norm(error) < 0.03:
            self.bias = np.clip(self.bias + 0.15 * error, -0.03, 0.03)
        target = self.goal + self.bias
        result = self.ik.solve(self.q, target, approach=DOWN, approach_weight=0.05)
        self.q = result.qpos
        if self.roll_target is not None:
            self.q[4] += float(np.clip(self.roll_target - self.q[4], -0.15, 0.15))
        self.elapsed += 1
        arrived = dist <= step and np.linalg.norm(scene.ee[:3] - wp.pos) <= wp.tolerance
        if arrived or self.elapsed > wp.timeout_s * self.fps:
            self.settled += 1
            if self.settled >= wp.settle_s * self.fps:
                self.plan.pop(0)
                self.elapsed = self.settled = 0
                dropped = wp.holding and not _holding(scene)
                if dropped or (self.plan and self.plan[0].name == "replan"):
                    self.plan = plan_for(scene, self)  # next object, or try this one again
                    # A missed grasp may have pushed the jaws against the object and wound the
                    # correction up to its limit; carried over, it would hold the arm off target.
                    self.bias = np.zeros(3)
        return self._action()

    def _action(self) -> np.ndarray:
        joints = np.r_[self.q, gripper_to_sim(self.gripper)]
        return sim_to_contract(joints).astype(np.float32)


def plan_for(scene: Scene, expert: Expert) -> list[Waypoint]:
    if "cube" in scene.objects:
        return _pick_cube(scene, expert)
    if "bin" in scene.objects:
        return _table_cleanup(scene, expert)
    raise ValueError(f"no expert plan for a scene with objects {sorted(scene.objects)}")


def _pick_cube(scene: Scene, expert: Expert) -> list[Waypoint]:
    cube = scene.objects["cube"]
    grasp = expert.grasp(cube[:3], _yaw(cube[3:]))
    above = grasp + [0, 0, 0.06]
    return [
        Waypoint("above", above, GRIPPER_OPEN, speed=0.3, settle_s=0.2),
        Waypoint("descend", grasp, GRIPPER_OPEN, speed=0.12, tolerance=0.006, timeout_s=1.5),
        Waypoint("close", grasp, GRIPPER_CLOSED, speed=0.05, settle_s=0.5, tolerance=0.02),
        Waypoint("lift", grasp + [0, 0, 0.12], GRIPPER_CLOSED, speed=0.12, holding=True),
        Waypoint("hold", grasp + [0, 0, 0.12], GRIPPER_CLOSED, settle_s=10.0),
    ]


def _table_cleanup(scene: Scene, expert: Expert) -> list[Waypoint]:
    bin_pos = scene.objects["bin"][:3]
    from dora_sim_mujoco.tasks import TableCleanup

    spec = TableCleanup
    pending = [
        pose for name, pose in scene.objects.items()
        if name.startswith("apple")
        and not (np.all(np.abs(pose[:2] - bin_pos[:2]) < spec.bin_inner) and pose[2] < 0.06)
    ]  # fmt: skip
    if not pending:
        return [Waypoint("rest", np.array([0.2, 0.0, 0.12]), GRIPPER_OPEN, settle_s=10.0)]
    apple = min(pending, key=lambda p: np.linalg.norm(p[:2] - scene.ee[:2]))[:3]
    grasp = expert.grasp(apple)
    grasp[2] = apple[2]
    drop = bin_pos + [0.0, 0.0, 0.09]
    return [
        Waypoint("above", grasp + [0, 0, 0.06], GRIPPER_OPEN, speed=0.3, settle_s=0.1),
        Waypoint("descend", grasp, GRIPPER_OPEN, speed=0.12, tolerance=0.006, timeout_s=1.5),
        Waypoint("close", grasp, GRIPPER_CLOSED, speed=0.05, settle_s=0.4, tolerance=0.02),
        Waypoint("lift", grasp + [0, 0, 0.09], GRIPPER_CLOSED, speed=0.15, holding=True),
        Waypoint("carry", drop, GRIPPER_CLOSED, speed=0.25, tolerance=0.02),
        Waypoint("release", drop, GRIPPER_OPEN, speed=0.05, settle_s=0.3, tolerance=0.03),
        Waypoint("replan", drop + [0, 0, 0.02], GRIPPER_OPEN, speed=0.2, tolerance=0.03),
    ]
