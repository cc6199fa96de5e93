"""Scripted expert: solves each task from privileged scene state, through the Cartesian contract.

Each tick it moves a goal for the tool centre point (TCP, midway between the open jaw pads)
toward the current waypoint at a bounded speed (so episodes look like smooth teleoperation, not
teleports) and returns an ``ee_target`` (position, approach pitch, jaw yaw, gripper). The
simulator resolves it with its own IK, so the expert knows no engine and no arm model: it plans
from the ``scene`` poses, the measured TCP (``ee_state``) and the shared task specifications.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dora_sim import tasks
from dora_sim.codec import EEState
from dora_sim.poses import jaw_yaw, wrap_half_turn, wrap_quarter_turn, yaw_of
from dora_sim.tasks import CUBE

GRIPPER_OPEN = 50.0
GRIPPER_CLOSED = 0.0
PITCH_DOWN_DEG = 90.0  # approach straight down
MAX_YAW_STEP = 0.15  # rad per tick the jaw axis is turned (the old wrist-roll rate limit)
REST = np.array([0.2, 0.0, 0.12])  # where the TCP waits once the task is done
# Pushed by the rear pad, the cube's centre trails the TCP by 4 mm (a corner first) to 10 mm
# (a face first): the push ends this far past the target.
PUSH_OVERSHOOT = 0.007
LIFTED_Z = 0.05  # TCP height (m) above which jaws that should hold something must hold it


@dataclass
class Waypoint:
    """Go to ``pos`` (TCP, world frame) with the gripper at ``gripper`` (0-100)."""

    name: str
    pos: np.ndarray
    gripper: float
    speed: float = 0.25  # m/s of the commanded point
    settle_s: float = 0.0  # dwell after arriving (e.g. to let the jaws close)
    tolerance: float = 0.01  # how close the real TCP must get (m)
    timeout_s: float = 4.0
    holding: bool = False  # an object must be in the jaws when this waypoint is reached
    gripper_rate: float = 300.0  # how fast the gripper command moves (units of 0-100 per s)


Objects = dict[str, np.ndarray]  # object name -> pose (xyz + quaternion wxyz)


def _holding(objects: Objects, tcp: np.ndarray) -> bool:
    """Whether some object is lifted off the table right between the jaws."""
    return any(
        pose[2] > 0.03 and np.linalg.norm(pose[:3] - tcp) < 0.04
        for name, pose in objects.items()
        if name not in tasks.FIXTURES
    )


class Expert:
    """Task-agnostic waypoint follower; task plans come from :func:`plan_for`.

    With ``miss_rate`` > 0, that fraction of episodes aims its first grasp ``miss_m`` off in a
    random horizontal direction (seeded by the episode index) and then recovers: the grasp lifts
    nothing and the expert plans again from the true pose: demos of what to do after a missed
    grasp. The miss is in the demos too; ACT trained with 30 % of them did worse (docs/policy.md).
    """

    def __init__(self, fps: int, miss_rate: float = 0.0, miss_m: float = 0.02):
        self.fps = fps
        self.miss_rate = miss_rate
        self.miss_m = miss_m
        self.episode = -1
        self.plan: list[Waypoint] = []
        self.goal = np.zeros(3)  # commanded TCP position
        self.tcp = np.zeros(3)  # measured TCP position (the latest ee_state)
        self.yaw = 0.0  # commanded jaw yaw (rad)
        self.yaw_target: float | None = None
        self.gripper = GRIPPER_OPEN
        self.bias = np.zeros(3)
        self.elapsed = 0
        self.settled = 0

    def start(self, episode: int, objects: Objects, ee: EEState, gripper: float) -> None:
        self.episode = episode
        self.goal = np.asarray(ee.position, dtype=np.float64).copy()
        self.tcp = self.goal.copy()
        self.yaw = jaw_yaw(ee.quat)
        self.yaw_target = None
        self.gripper = gripper
        self.bias = np.zeros(3)
        self.plan = plan_for(self._misjudged(objects, episode), self)
        self.elapsed = self.settled = 0

    def _misjudged(self, objects: Objects, episode: int) -> Objects:
        """The scene as this episode's first plan sees it: objects shifted when it should miss."""
        rng = np.random.default_rng([episode, 0x5EED])
        if rng.random() >= self.miss_rate:
            return objects
        angle = rng.uniform(0.0, 2 * np.pi)
        shift = self.miss_m * np.array([np.cos(angle), np.sin(angle), 0.0])
        return {
            name: pose if name in tasks.FIXTURES else np.r_[pose[:3] + shift, pose[3:]]
            for name, pose in objects.items()
        }

    def grasp(self, center: np.ndarray, yaw: float | None = None) -> np.ndarray:
        """TCP position for a grasp of an object at ``center``; with ``yaw`` (the object's
        heading), the jaws are also turned to close on two faces of a box (the nearer way).

        The TCP sits midway between the open pads, so the object is centred between them: the
        grasp tolerates ~5 mm of error either way, which demos a policy imitates need.
        """
        self.yaw_target = None if yaw is None else self.yaw + wrap_quarter_turn(yaw - self.yaw)
        return np.asarray(center[:3], dtype=np.float64).copy()

    def point_jaws(self, heading: float) -> None:
        """Turn the jaw axis along ``heading`` (rad; either way round, the nearer)."""
        self.yaw_target = self.yaw + wrap_half_turn(heading - self.yaw)

    def act(self, objects: Objects, ee: EEState) -> np.ndarray:
        """This tick's ``ee_target``: float32[6] laid out as contract.EE_TARGET_FIELDS."""
        tcp = self.tcp = np.asarray(ee.position, dtype=np.float64)
        if self.plan:
            self._follow(self.plan[0], objects, tcp)
        if self.yaw_target is not None:
            self.yaw += float(np.clip(self.yaw_target - self.yaw, -MAX_YAW_STEP, MAX_YAW_STEP))
        target = self.goal + self.bias
        return np.array(
            [*target, PITCH_DOWN_DEG, np.rad2deg(self.yaw), self.gripper], dtype=np.float32
        )

    def _follow(self, wp: Waypoint, objects: Objects, tcp: np.ndarray) -> None:
        step = wp.speed / self.fps
        delta = wp.pos - self.goal
        dist = float(np.linalg.norm(delta))
        self.goal = wp.pos.copy() if dist <= step else self.goal + delta / dist * step
        gap = wp.gripper - self.gripper
        rate = wp.gripper_rate / self.fps
        self.gripper += float(np.clip(gap, -rate, rate))
        # Position servos sag under gravity (kp 17.8): an integral term on the measured TCP
        # position removes the steady offset, as a human closing the loop by eye would.
        error = self.goal - tcp
        if np.linalg.norm(error) < 0.03:
            self.bias = np.clip(self.bias + 0.15 * error, -0.03, 0.03)
        self.elapsed += 1
        if wp.holding and tcp[2] > LIFTED_Z and not _holding(objects, tcp):
            self._replan(objects)  # up in the air with empty jaws: the grasp missed or slipped
            return
        arrived = dist <= step and np.linalg.norm(tcp - wp.pos) <= wp.tolerance
        if not (arrived or self.elapsed > wp.timeout_s * self.fps):
            return
        self.settled += 1
        if self.settled < wp.settle_s * self.fps:
            return
        self.plan.pop(0)
        self.elapsed = self.settled = 0
        dropped = wp.holding and not _holding(objects, tcp)
        if dropped or (self.plan and self.plan[0].name == "replan"):
            self._replan(objects)

    def _replan(self, objects: Objects) -> None:
        """Plan again from the scene as it is now: the next object, or this one once more."""
        self.plan = plan_for(objects, self)
        self.elapsed = self.settled = 0
        # A missed grasp may have pushed the jaws against the object and wound the correction
        # up to its limit; carried over, it would hold the arm off target.
        self.bias = np.zeros(3)


def plan_for(objects: Objects, expert: Expert) -> list[Waypoint]:
    """The plan of the task whose objects these are (:func:`dora_sim.tasks.spec_for_scene`)."""
    try:
        spec = tasks.spec_for_scene(objects)
    except ValueError as err:
        raise ValueError(f"no expert plan: {err}") from None
    return PLANS[spec.name](objects, expert)


def _rest() -> list[Waypoint]:
    return [Waypoint("rest", REST.copy(), GRIPPER_OPEN, settle_s=10.0)]


def _retreat(pos: np.ndarray) -> list[Waypoint]:
    """Straight up, clear of what the jaws let go of, then plan again (``replan`` is not
    driven to: the plan is made when it comes next)."""
    up = pos + [0, 0, 0.05]
    return [
        Waypoint("retreat", up, GRIPPER_OPEN, speed=0.15, tolerance=0.03),
        Waypoint("replan", up, GRIPPER_OPEN),
    ]


def _grasp(
    grasp: np.ndarray, settle_above: float, settle_closed: float, close_rate: float = 300.0
) -> list[Waypoint]:
    """Above the object, down with the jaws open, close on it (at ``close_rate`` per s)."""
    return [
        Waypoint("above", grasp + [0, 0, 0.06], GRIPPER_OPEN, speed=0.3, settle_s=settle_above),
        Waypoint("descend", grasp, GRIPPER_OPEN, speed=0.12, tolerance=0.006, timeout_s=1.5),
        Waypoint(
            "close",
            grasp,
            GRIPPER_CLOSED,
            speed=0.05,
            settle_s=settle_closed,
            tolerance=0.02,
            gripper_rate=close_rate,
        ),
    ]


def _pick_cube(objects: Objects, expert: Expert) -> list[Waypoint]:
    cube = objects[CUBE]
    grasp = expert.grasp(cube[:3], yaw_of(cube[3:]))
    return [
        *_grasp(grasp, settle_above=0.2, settle_closed=0.5),
        Waypoint("lift", grasp + [0, 0, 0.12], GRIPPER_CLOSED, speed=0.12, holding=True),
        Waypoint("hold", grasp + [0, 0, 0.12], GRIPPER_CLOSED, settle_s=10.0),
    ]


def _put_down(grasp: np.ndarray, drop: np.ndarray, lift: float) -> list[Waypoint]:
    """From a closed grasp: lift, carry to ``drop``, open there, back up and plan again."""
    return [
        Waypoint("lift", grasp + [0, 0, lift], GRIPPER_CLOSED, speed=0.15, holding=True),
        Waypoint("carry", drop, GRIPPER_CLOSED, speed=0.25, tolerance=0.02),
        Waypoint("release", drop, GRIPPER_OPEN, speed=0.05, settle_s=0.3, tolerance=0.03),
        Waypoint("replan", drop + [0, 0, 0.02], GRIPPER_OPEN, speed=0.2, tolerance=0.03),
    ]


def _table_cleanup(objects: Objects, expert: Expert) -> list[Waypoint]:
    spec = tasks.TABLE_CLEANUP
    bin_pos = objects["bin"][:3]
    pending = [
        pose for name, pose in objects.items()
        if name.startswith("apple") and not spec.in_bin(tuple(pose[:3]), tuple(bin_pos[:2]))
    ]  # fmt: skip
    if not pending:
        return _rest()
    apple = min(pending, key=lambda p: np.linalg.norm(p[:2] - expert.goal[:2]))[:3]
    grasp = expert.grasp(apple)
    drop = bin_pos + [0.0, 0.0, 0.09]
    # Closed slowly (0.5 s), then held 0.4 s: a sphere squeezed fast, by a jaw with less
    # damping or more rotor inertia (randomized physics), squirts out of it.
    closing = _grasp(grasp, settle_above=0.1, settle_closed=0.9, close_rate=80.0)
    return [*closing, *_put_down(grasp, drop, 0.09)]


def _stack_cubes(objects: Objects, expert: Expert) -> list[Waypoint]:
    """Pick the red cube and lift it; then (planned again, with the cube in the jaws) lower it
    until it almost sits on the blue one, and let go."""
    spec = tasks.STACK_CUBES
    red, blue = objects[CUBE], objects["blue_cube"][:3]
    if spec.stacked(red[:3], blue):
        return _rest()
    if not _holding({CUBE: red}, expert.tcp):
        grasp = expert.grasp(red[:3], yaw_of(red[3:]))
        lift = grasp + [0, 0, 0.07]
        return [
            *_grasp(grasp, settle_above=0.2, settle_closed=0.5),
            Waypoint("lift", lift, GRIPPER_CLOSED, speed=0.15, holding=True),
            Waypoint("replan", lift, GRIPPER_CLOSED),
        ]
    # The closing jaw pushes the cube against the fixed pad: it sits 1-2 cm off the TCP.
    place = blue + [0.0, 0.0, 2 * spec.cube_half + 0.001] + (expert.tcp - red[:3])
    return [
        Waypoint("carry", place + [0, 0, 0.04], GRIPPER_CLOSED, speed=0.2, tolerance=0.01),
        Waypoint("lower", place, GRIPPER_CLOSED, speed=0.05, tolerance=0.005, timeout_s=2.0),
        Waypoint(
            "release",
            place,
            GRIPPER_OPEN,
            speed=0.05,
            settle_s=0.9,
            tolerance=0.03,
            gripper_rate=60.0,
        ),
        *_retreat(place),
    ]


def _place_in_bowl(objects: Objects, expert: Expert) -> list[Waypoint]:
    spec = tasks.PLACE_IN_BOWL
    cube, bowl = objects[CUBE], objects["bowl"]
    if spec.in_bowl(cube[:3], bowl[:2]):
        return _rest()
    grasp = expert.grasp(cube[:3], yaw_of(cube[3:]))
    drop = bowl[:3] + [0.0, 0.0, spec.bowl_height + 0.035]
    return [*_grasp(grasp, settle_above=0.2, settle_closed=0.5), *_put_down(grasp, drop, 0.08)]


def _push_cube(objects: Objects, expert: Expert) -> list[Waypoint]:
    """Jaws open and along the push, lowered around the cube; the rear pad pushes it onto the
    target (the front pad, ahead of it, keeps it from running on), then up and look again."""
    spec = tasks.PUSH_CUBE
    cube, target = objects[CUBE][:3], objects["target"][:3]
    if spec.on_target(cube, target[:2]):
        return _rest()
    way = target[:2] - cube[:2]
    heading = np.r_[way / np.linalg.norm(way), 0.0]
    expert.point_jaws(float(np.arctan2(way[1], way[0])))
    start = np.asarray(cube, dtype=np.float64).copy()
    end = np.r_[target[:2], start[2]] + PUSH_OVERSHOOT * heading
    return [
        Waypoint("above", start + [0, 0, 0.06], GRIPPER_OPEN, speed=0.3, settle_s=0.3),
        Waypoint("descend", start, GRIPPER_OPEN, speed=0.12, tolerance=0.006, timeout_s=1.5),
        Waypoint("push", end, GRIPPER_OPEN, speed=0.08, tolerance=0.006, timeout_s=4.0),
        *_retreat(end),
    ]


PLANS = {
    tasks.PICK_CUBE.name: _pick_cube,
    tasks.TABLE_CLEANUP.name: _table_cleanup,
    tasks.STACK_CUBES.name: _stack_cubes,
    tasks.PLACE_IN_BOWL.name: _place_in_bowl,
    tasks.PUSH_CUBE.name: _push_cube,
}
