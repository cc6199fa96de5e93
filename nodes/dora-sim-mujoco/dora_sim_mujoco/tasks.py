"""Table-top tasks in MuJoCo: bodies, seeded placement at reset, and the success test.

Names, instructions and geometry come from the shared specifications in :mod:`dora_sim.tasks`
(the expert plans from the same numbers). A task adds its bodies to the scene spec, places them
from a seeded generator at every reset, and judges success from the physics state. To add one,
add its spec there, subclass :class:`Task` here and register it in ``TASKS``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import mujoco
import numpy as np

from dora_sim import tasks as specs
from dora_sim.tasks import TABLE_Z

JAW_PADS = ("fixed_jaw_pad", "moving_jaw_pad")
OBJECT_CONTACT = 2  # collision bits of movable objects: see scene._grip_with_pads
FIXTURE_CONTACT = 3  # collision bits of fixtures (bins…): touch objects and the arm


def sample(region: specs.Region, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random (x, y) in ``region``."""
    return np.array([rng.uniform(*region.x), rng.uniform(*region.y)])


def _quat_yaw(yaw: float) -> np.ndarray:
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


def _set_free_body(model: mujoco.MjModel, data: mujoco.MjData, body: str, pos, quat) -> None:
    joint = model.body(body).jntadr[0]
    adr, vadr = model.jnt_qposadr[joint], model.jnt_dofadr[joint]
    data.qpos[adr : adr + 3] = pos
    data.qpos[adr + 3 : adr + 7] = quat
    data.qvel[vadr : vadr + 6] = 0.0


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


class Task(ABC):
    name: str
    description: str
    max_objects: int

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


class PickCube(Task):
    spec = specs.PICK_CUBE
    name = spec.name
    description = spec.description
    max_objects = 1
    half = spec.cube_half

    def build(self, spec: mujoco.MjSpec) -> None:
        body = _add_free_body(spec, "cube")
        body.add_geom(
            name="cube",
            type=mujoco.mjtGeom.mjGEOM_BOX,
            size=[self.half] * 3,
            mass=0.03,
            rgba=[0.85, 0.15, 0.15, 1],
            friction=[1.2, 0.01, 0.001],
            condim=4,
            contype=OBJECT_CONTACT,
            conaffinity=OBJECT_CONTACT,
        )

    def reset(self, model, data, rng) -> None:
        xy = sample(self.spec.region, rng)
        pos = [xy[0], xy[1], TABLE_Z + self.half]
        _set_free_body(model, data, "cube", pos, _quat_yaw(rng.uniform(-np.pi / 4, np.pi / 4)))

    def success(self, model, data) -> bool:
        """Lifted and held: squeezed between both fingertip pads (not carried or flung up)."""
        lifted = body_pos(model, data, "cube")[2] - self.half > TABLE_Z + self.spec.lift_height
        return bool(lifted and touching(model, data, "cube", JAW_PADS))

    def object_names(self) -> tuple[str, ...]:
        return ("cube",)


class TableCleanup(Task):
    spec = specs.TABLE_CLEANUP
    name = spec.name
    description = spec.description
    max_objects = spec.max_apples
    radius = spec.apple_radius
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
        bin_xy = sample(self.spec.bin_region, rng)
        data.mocap_pos[model.body("bin").mocapid[0]] = [bin_xy[0], bin_xy[1], TABLE_Z]
        count = int(rng.integers(2, self.max_objects + 1))
        placed: list[np.ndarray] = []
        for i in range(self.max_objects):
            if i < count:
                xy = sample(self.spec.apple_region, rng)
                while any(np.linalg.norm(xy - p) < self.spec.min_spacing for p in placed):
                    xy = sample(self.spec.apple_region, rng)
                placed.append(xy)
                pos = [xy[0], xy[1], TABLE_Z + self.radius]
            else:  # unused apples wait out of sight, far from the arm, and never count
                pos = [1.0 + 0.1 * i, 1.0, TABLE_Z + self.radius]
            _set_free_body(model, data, f"apple{i}", pos, [1, 0, 0, 0])
        self.count = count

    def in_bin(self, model, data, name: str) -> bool:
        bin_xy = data.mocap_pos[model.body("bin").mocapid[0]][:2]
        return self.spec.in_bin(tuple(body_pos(model, data, name)), tuple(bin_xy))

    def success(self, model, data) -> bool:
        return all(self.in_bin(model, data, f"apple{i}") for i in range(self.count))

    def object_names(self) -> tuple[str, ...]:
        return ("bin", *(f"apple{i}" for i in range(self.count)))


TASKS: dict[str, type[Task]] = {task.name: task for task in (PickCube, TableCleanup)}


def make_task(name: str) -> Task:
    try:
        return TASKS[name]()
    except KeyError:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None
