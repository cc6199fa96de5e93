"""Table-top tasks in MuJoCo: bodies, seeded placement at reset, and the success test.

Names, instructions and geometry come from the shared specifications in :mod:`dora_sim.tasks`
(the expert plans from the same numbers). A task adds its bodies to the scene spec, places them
from a seeded generator at every reset, and judges success from the physics state. To add one,
add its spec there, subclass :class:`Task` here and register it in ``TASKS``.

A :class:`Suite` (``TASK=suite:all`` or ``suite:<task>,<task>,…``) holds several tasks in one
scene and runs task ``seed mod n`` in the episode of that seed, with every other task's bodies
parked out of sight: one session, one scene, a dataset of several instructions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import mujoco
import numpy as np

from dora_sim import tasks as specs
from dora_sim.poses import quat_multiply
from dora_sim.tasks import CUBE, TABLE_Z

JAW_PADS = ("fixed_jaw_pad", "moving_jaw_pad")
OBJECT_CONTACT = 2  # collision bits of movable objects: see scene._grip_with_pads
FIXTURE_CONTACT = 3  # collision bits of fixtures (bins…): touch objects and the arm
RED = (0.85, 0.15, 0.15, 1.0)
BLUE = (0.15, 0.3, 0.85, 1.0)
SUITE_PREFIX = "suite:"
PARKING = np.array([1.5, 1.5])  # behind the front camera and out of the arm's reach


def sample(region: specs.Region, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random (x, y) in ``region``."""
    return np.array([rng.uniform(*region.x), rng.uniform(*region.y)])


def _quat_yaw(yaw: float) -> np.ndarray:
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


def _random_yaw(rng: np.random.Generator) -> np.ndarray:
    return _quat_yaw(rng.uniform(-np.pi / 4, np.pi / 4))


def _set_free_body(model: mujoco.MjModel, data: mujoco.MjData, body: str, pos, quat) -> None:
    joint = model.body(body).jntadr[0]
    adr, vadr = model.jnt_qposadr[joint], model.jnt_dofadr[joint]
    data.qpos[adr : adr + 3] = pos
    data.qpos[adr + 3 : adr + 7] = quat
    data.qvel[vadr : vadr + 6] = 0.0


def _set_mocap(model: mujoco.MjModel, data: mujoco.MjData, body: str, xy) -> None:
    data.mocap_pos[model.body(body).mocapid[0]] = [xy[0], xy[1], TABLE_Z]


def _mocap_xy(model: mujoco.MjModel, data: mujoco.MjData, body: str) -> np.ndarray:
    return data.mocap_pos[model.body(body).mocapid[0]][:2]


def half_height(model: mujoco.MjModel, geom: str) -> float:
    """Half the height of a box or sphere geom as the model has it now (size randomization)."""
    size = model.geom(geom).size
    return float(size[0] if model.geom(geom).type[0] == mujoco.mjtGeom.mjGEOM_SPHERE else size[2])


def touching(
    model: mujoco.MjModel, data: mujoco.MjData, geom: str, others: tuple[str, ...]
) -> bool:
    """Whether ``geom`` is in contact with every geom named in ``others``."""
    target = model.geom(geom).id
    wanted = {model.geom(name).id for name in others}
    for contact in data.contact[: data.ncon]:
        pair = {int(contact.geom1), int(contact.geom2)}
        if target in pair:
            wanted -= pair
    return not wanted


def body_pos(model: mujoco.MjModel, data: mujoco.MjData, body: str) -> np.ndarray:
    return data.xpos[model.body(body).id]


def place_apart(
    region: specs.Region, rng: np.random.Generator, placed: list[np.ndarray], spacing: float
) -> np.ndarray:
    """A random (x, y) in ``region`` at least ``spacing`` from every point in ``placed``."""
    xy = sample(region, rng)
    while any(np.linalg.norm(xy - p) < spacing for p in placed):
        xy = sample(region, rng)
    return xy


class Task(ABC):
    name: str
    description: str
    bodies: tuple[str, ...]  # every body the task adds (a suite parks those of idle tasks)

    def select(self, seed: int) -> None:  # noqa: B027 (a hook: only a suite has a choice)
        """Choose what the episode of ``seed`` runs (a suite's task)."""

    @abstractmethod
    def build(self, spec: mujoco.MjSpec) -> None:
        """Add this task's bodies to the scene (called once, before compiling)."""

    @abstractmethod
    def reset(self, model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None:
        """Place the objects for a new episode (qpos/qvel of their free joints)."""

    @abstractmethod
    def success(self, model: mujoco.MjModel, data: mujoco.MjData) -> bool:
        """Whether the task is solved in the current state."""

    @abstractmethod
    def object_names(self) -> tuple[str, ...]:
        """Bodies whose poses the sim publishes as privileged scene state."""


def _add_free_body(spec: mujoco.MjSpec, name: str) -> mujoco.MjsBody:
    body = spec.worldbody.add_body(name=name, pos=[0.3, 0.0, 0.1])
    body.add_freejoint(name=name)
    return body


def add_cube(spec: mujoco.MjSpec, name: str = CUBE, rgba: tuple[float, ...] = RED) -> None:
    """A 2.5 cm graspable cube; the red ``cube`` is added once and shared by the tasks of a
    suite that use it."""
    if spec.body(name) is not None:
        return
    half = specs.PICK_CUBE.cube_half
    _add_free_body(spec, name).add_geom(
        name=name,
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=[half] * 3,
        mass=0.03,
        rgba=list(rgba),
        friction=[1.2, 0.01, 0.001],
        condim=4,
        contype=OBJECT_CONTACT,
        conaffinity=OBJECT_CONTACT,
    )


def _place_cube(model, data, name: str, xy: np.ndarray, rng: np.random.Generator) -> None:
    pos = [xy[0], xy[1], TABLE_Z + half_height(model, name)]
    _set_free_body(model, data, name, pos, _random_yaw(rng))


def released(model: mujoco.MjModel, data: mujoco.MjData, geom: str) -> bool:
    """Not squeezed between both fingertip pads."""
    return not touching(model, data, geom, JAW_PADS)


class PickCube(Task):
    spec = specs.PICK_CUBE
    name = spec.name
    description = spec.description
    bodies = (CUBE,)

    def build(self, spec: mujoco.MjSpec) -> None:
        add_cube(spec)

    def reset(self, model, data, rng) -> None:
        _place_cube(model, data, CUBE, sample(self.spec.region, rng), rng)

    def success(self, model, data) -> bool:
        """Lifted and held: squeezed between both fingertip pads (not carried or flung up)."""
        bottom = body_pos(model, data, CUBE)[2] - half_height(model, CUBE)
        lifted = bottom > TABLE_Z + self.spec.lift_height
        return bool(lifted and touching(model, data, CUBE, JAW_PADS))

    def object_names(self) -> tuple[str, ...]:
        return (CUBE,)


class TableCleanup(Task):
    spec = specs.TABLE_CLEANUP
    name = spec.name
    description = spec.description
    max_objects = spec.max_apples
    radius = spec.apple_radius
    bodies = ("bin", *(f"apple{i}" for i in range(max_objects)))
    count = max_objects  # apples in play this episode (set at reset)

    def build(self, spec: mujoco.MjSpec) -> None:
        bin_body = spec.worldbody.add_body(name="bin", pos=[0.16, -0.18, TABLE_Z], mocap=True)
        t, h, s = 0.004, self.spec.bin_wall / 2, self.spec.bin_inner
        wall = {
            "type": mujoco.mjtGeom.mjGEOM_BOX,
            "rgba": [0.25, 0.35, 0.6, 1],
            "contype": FIXTURE_CONTACT,
            "conaffinity": FIXTURE_CONTACT,
        }
        bin_body.add_geom(size=[s + t, s + t, t / 2], pos=[0, 0, t / 2], **wall)
        for sx, sy, size in (
            (1, 0, [t / 2, s + t, h]), (-1, 0, [t / 2, s + t, h]),
            (0, 1, [s + t, t / 2, h]), (0, -1, [s + t, t / 2, h]),
        ):  # fmt: skip
            pos = [sx * (s + t / 2), sy * (s + t / 2), h]
            bin_body.add_geom(size=size, pos=pos, **wall)
        for i in range(self.max_objects):
            apple = _add_free_body(spec, f"apple{i}")
            apple.add_geom(
                name=f"apple{i}",
                type=mujoco.mjtGeom.mjGEOM_SPHERE,
                size=[self.radius, 0, 0],
                mass=0.025,
                rgba=[0.8, 0.1 + 0.15 * i, 0.05, 1],
                friction=[1.2, 0.02, 0.005],
                condim=6,  # rolling friction: a real apple does not roll off at a touch
                contype=OBJECT_CONTACT,
                conaffinity=OBJECT_CONTACT,
            )
            apple.add_geom(  # stem: looks like an apple, touches nothing
                type=mujoco.mjtGeom.mjGEOM_CAPSULE,
                size=[0.002, 0.004, 0],
                pos=[0, 0, self.radius + 0.002],
                rgba=[0.35, 0.2, 0.05, 1],
                contype=0,
                conaffinity=0,
                mass=0.0001,
            )

    def reset(self, model, data, rng) -> None:
        _set_mocap(model, data, "bin", sample(self.spec.bin_region, rng))
        count = int(rng.integers(2, self.max_objects + 1))
        placed: list[np.ndarray] = []
        for i in range(self.max_objects):
            radius = half_height(model, f"apple{i}")
            if i < count:
                xy = place_apart(self.spec.apple_region, rng, placed, self.spec.min_spacing)
                placed.append(xy)
                pos = [xy[0], xy[1], TABLE_Z + radius]
            else:  # unused apples wait out of sight, far from the arm, and never count
                pos = [1.0 + 0.1 * i, 1.0, TABLE_Z + radius]
            _set_free_body(model, data, f"apple{i}", pos, [1, 0, 0, 0])
        self.count = count

    def in_bin(self, model, data, name: str) -> bool:
        bin_xy = _mocap_xy(model, data, "bin")
        return self.spec.in_bin(tuple(body_pos(model, data, name)), tuple(bin_xy))

    def success(self, model, data) -> bool:
        return all(self.in_bin(model, data, f"apple{i}") for i in range(self.count))

    def object_names(self) -> tuple[str, ...]:
        return ("bin", *(f"apple{i}" for i in range(self.count)))


class StackCubes(Task):
    spec = specs.STACK_CUBES
    name = spec.name
    description = spec.description
    bodies = (CUBE, "blue_cube")

    def build(self, spec: mujoco.MjSpec) -> None:
        add_cube(spec)
        add_cube(spec, "blue_cube", BLUE)

    def reset(self, model, data, rng) -> None:
        red = sample(self.spec.region, rng)
        blue = place_apart(self.spec.region, rng, [red], self.spec.min_spacing)
        _place_cube(model, data, CUBE, red, rng)
        _place_cube(model, data, "blue_cube", blue, rng)

    def success(self, model, data) -> bool:
        red, blue = body_pos(model, data, CUBE), body_pos(model, data, "blue_cube")
        return self.spec.stacked(red, blue) and released(model, data, CUBE)

    def object_names(self) -> tuple[str, ...]:
        return self.bodies


class PlaceInBowl(Task):
    spec = specs.PLACE_IN_BOWL
    name = spec.name
    description = spec.description
    bodies = (CUBE, "bowl")
    WALLS = 16

    def build(self, spec: mujoco.MjSpec) -> None:
        """A flat floor ringed by flaring wall slats, on a mocap body: moved, never pushed."""
        add_cube(spec)
        s = self.spec
        bowl = spec.worldbody.add_body(name="bowl", pos=[0.2, 0.15, TABLE_Z], mocap=True)
        look = {"rgba": [0.92, 0.9, 0.84, 1], "contype": FIXTURE_CONTACT,
                "conaffinity": FIXTURE_CONTACT}  # fmt: skip
        t = 0.003
        bowl.add_geom(
            name="bowl", type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[s.bowl_floor + t, t / 2, 0],
            pos=[0, 0, t / 2], **look,
        )  # fmt: skip
        run = s.bowl_rim - s.bowl_floor
        slant = float(np.hypot(run, s.bowl_height))
        tilt = float(np.arctan2(run, s.bowl_height))
        middle = (s.bowl_floor + s.bowl_rim) / 2
        width = 2 * np.pi * middle / self.WALLS * 1.15
        for k in range(self.WALLS):
            angle = 2 * np.pi * k / self.WALLS
            quat = quat_multiply(_quat_yaw(angle), [np.cos(tilt / 2), 0, np.sin(tilt / 2), 0])
            pos = [middle * np.cos(angle), middle * np.sin(angle), t + s.bowl_height / 2]
            bowl.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[t / 2, width / 2, slant / 2],
                          pos=pos, quat=list(quat), **look)  # fmt: skip

    def reset(self, model, data, rng) -> None:
        bowl = sample(self.spec.bowl_region, rng)
        cube = place_apart(self.spec.cube_region, rng, [bowl], self.spec.min_spacing)
        _set_mocap(model, data, "bowl", bowl)
        _place_cube(model, data, CUBE, cube, rng)

    def success(self, model, data) -> bool:
        cube, bowl = body_pos(model, data, CUBE), _mocap_xy(model, data, "bowl")
        return self.spec.in_bowl(cube, bowl) and released(model, data, CUBE)

    def object_names(self) -> tuple[str, ...]:
        return self.bodies


class PushCube(Task):
    spec = specs.PUSH_CUBE
    name = spec.name
    description = spec.description
    bodies = (CUBE, "target")

    def build(self, spec: mujoco.MjSpec) -> None:
        """The target is a green disc painted on the table: seen, never touched."""
        add_cube(spec)
        target = spec.worldbody.add_body(name="target", pos=[0.2, 0.1, TABLE_Z], mocap=True)
        target.add_geom(
            name="target", type=mujoco.mjtGeom.mjGEOM_CYLINDER,
            size=[self.spec.target_radius, 0.0005, 0], pos=[0, 0, 0.0005],
            rgba=[0.2, 0.7, 0.3, 1], contype=0, conaffinity=0,
        )  # fmt: skip

    def reset(self, model, data, rng) -> None:
        cube = sample(self.spec.cube_region, rng)
        region = self.spec.target_region
        while True:
            angle, distance = rng.uniform(-np.pi, np.pi), rng.uniform(*self.spec.distance)
            target = cube + distance * np.array([np.cos(angle), np.sin(angle)])
            if region.x[0] <= target[0] <= region.x[1] and region.y[0] <= target[1] <= region.y[1]:
                break
        _set_mocap(model, data, "target", target)
        _place_cube(model, data, CUBE, cube, rng)

    def success(self, model, data) -> bool:
        cube, target = body_pos(model, data, CUBE), _mocap_xy(model, data, "target")
        return self.spec.on_target(cube, target) and released(model, data, CUBE)

    def object_names(self) -> tuple[str, ...]:
        return self.bodies


TASKS: dict[str, type[Task]] = {
    task.name: task for task in (PickCube, TableCleanup, StackCubes, PlaceInBowl, PushCube)
}


class Suite(Task):
    """Several tasks in one scene; the episode of seed ``s`` runs task ``s mod n``."""

    def __init__(self, name: str, tasks: list[Task]):
        self.name = name
        self.tasks = tasks
        self.active = tasks[0]
        self.bodies = tuple(dict.fromkeys(body for task in tasks for body in task.bodies))

    @property
    def description(self) -> str:  # the active task's instruction (each episode start's task)
        return self.active.description

    def select(self, seed: int) -> None:
        self.active = self.tasks[seed % len(self.tasks)]

    def build(self, spec: mujoco.MjSpec) -> None:
        for task in self.tasks:
            task.build(spec)

    def reset(self, model, data, rng) -> None:
        for slot, body in enumerate(self.bodies):
            xy = PARKING + [0.15 * slot, 0.0]
            if model.body(body).mocapid[0] >= 0:
                _set_mocap(model, data, body, xy)
            else:
                pos = [xy[0], xy[1], TABLE_Z + half_height(model, body)]
                _set_free_body(model, data, body, pos, [1, 0, 0, 0])
        self.active.reset(model, data, rng)

    def success(self, model, data) -> bool:
        return self.active.success(model, data)

    def object_names(self) -> tuple[str, ...]:
        return self.active.object_names()


def make_task(name: str) -> Task:
    """A task by name, or a suite: ``suite:all`` or ``suite:<task>,<task>,…``."""
    if name.startswith(SUITE_PREFIX):
        listed = name.removeprefix(SUITE_PREFIX)
        names = list(TASKS) if listed == "all" else [n.strip() for n in listed.split(",")]
        if not all(names):
            raise ValueError(f"TASK={name!r}: expected suite:all or suite:<task>,<task>,…")
        return Suite(name, [make_task(n) for n in names])
    try:
        return TASKS[name]()
    except KeyError:
        known = ", ".join([*TASKS, "suite:all", "suite:<task>,<task>,…"])
        raise ValueError(f"unknown task {name!r}; known tasks: {known}") from None
