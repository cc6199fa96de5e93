"""Settings of the Isaac Lab simulator, from the node's ``env:`` or the shell.

The session settings (FPS, NUM_EPISODES, EPISODE_TIME_S, CAMERAS, IMAGE_HEIGHT, …) are read under
the same names as the MuJoCo node, so one dataflow serves both; Isaac-only settings start with
``ISAAC_``. The task is ``ISAAC_TASK``, not ``TASK``, so a MuJoCo task name set in the shell is
never handed to Isaac Lab.

The task-specific defaults depend on the Isaac Lab installed (:func:`kitless`): Isaac Lab 2.3 on
Isaac Sim runs the community SO-101 lift task; Isaac Lab 3.0 kit-less runs this package's own
``DoraSim-SO101-Lift-Cube-v0`` (:mod:`dora_sim_isaac.lift_cube_newton`), the MuJoCo node's
scene on Newton.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from dora_sim import contract as c
from dora_sim.config import ConfigError, env_bool, env_float, env_int, env_list, env_str

# Isaac Lab 2.3 + Isaac Sim 5.1: the community extension https://github.com/MuammerBay/isaac_so_arm101
# registers the Isaac-SO-ARM10x-* tasks when its ``tasks`` module is imported.
KIT_TASK = {
    "task": "Isaac-SO-ARM101-Lift-Cube-v0",
    "task_modules": ("isaac_so_arm101.tasks",),
    "ee_body": "gripper_link",
    "tcp": (0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0),  # the link's own frame: not measured on that USD
    "kinematics": "",  # no chain: Cartesian targets (ee_target) are refused
    "object_name": "object",
}
# Isaac Lab 3.0 kit-less: dora_sim_isaac.tasks registers the MuJoCo node's pick-cube scene. Its
# arm's chain and TCP (the MuJoCo model's: midway between the jaw pads at gripper TCP_GRIPPER,
# x = approach, y = jaw closing axis, in the gripper body's frame) are in SO101_KINEMATICS.
SO101_KINEMATICS = Path(__file__).parent / "assets" / "so101_kinematics.json"
KITLESS_TASK = {
    "task": "DoraSim-SO101-Lift-Cube-v0",
    "task_modules": ("dora_sim_isaac.tasks",),
    "ee_body": "gripper",
    "tcp": tuple(json.loads(SO101_KINEMATICS.read_text())["tcp"]),
    "kinematics": str(SO101_KINEMATICS),
    "object_name": "cube",
}
DEFAULT_TASK = KIT_TASK["task"]
DEFAULT_TASK_MODULES = KIT_TASK["task_modules"]


def kitless() -> bool:
    """Isaac Lab 3.x with its Newton backend (``isaaclab_newton``) is installed: the kit-less
    recipe. Checked without importing Isaac Lab."""
    return importlib.util.find_spec("isaaclab_newton") is not None


@dataclass(frozen=True)
class IsaacConfig:
    task: str = DEFAULT_TASK  # gymnasium id of an Isaac Lab manager-based RL task
    task_modules: tuple[str, ...] = DEFAULT_TASK_MODULES
    description: str = "Pick up the cube and lift it"  # the language task of every episode
    fps: int = c.DEFAULT_FPS
    cameras: tuple[str, ...] = ("front", "wrist")
    height: int = 240
    width: int = 320
    headless: bool = True
    device: str = "cuda:0"
    robot: str = "robot"  # the scene's articulation
    # The articulation's joint names in contract order (shoulder_pan … gripper); mapped by name.
    joint_names: tuple[str, ...] = c.JOINT_NAMES
    ee_body: str = "gripper_link"  # the body that carries the tool centre point (TCP)
    # The TCP in that body's frame: position (m) + quaternion wxyz (x axis: the approach
    # direction, y: the jaw closing axis; contract v2's end effector).
    tcp: tuple[float, ...] = (0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
    # The arm's chain for Cartesian targets (dora_sim_isaac.kinematics); empty: none, refused.
    kinematics: str = ""
    # Termination term that means success; tasks without one get "object lifted" (lift_height_m).
    success_term: str = "success"
    object_name: str = "object"
    lift_height_m: float = 0.05

    def __post_init__(self) -> None:
        if len(self.tcp) != 7 or abs(sum(q * q for q in self.tcp[3:]) - 1.0) > 1e-3:
            raise ConfigError(
                "ISAAC_TCP: expected x,y,z (m),qw,qx,qy,qz (a unit quaternion) in the"
                f" ISAAC_EE_BODY frame, got {self.tcp}"
            )
        if len(self.joint_names) != c.NUM_JOINTS:
            raise ConfigError(
                f"ISAAC_JOINT_NAMES: expected {c.NUM_JOINTS} names in contract order"
                f" ({', '.join(c.JOINT_NAMES)}), got {list(self.joint_names)}"
            )

    @classmethod
    def from_env(cls) -> IsaacConfig:
        task = KITLESS_TASK if kitless() else KIT_TASK
        try:
            tcp = tuple(float(x) for x in env_list("ISAAC_TCP", ()))
        except ValueError as err:
            raise ConfigError(f"ISAAC_TCP: expected 7 numbers ({err})") from err
        return cls(
            task=env_str("ISAAC_TASK", task["task"]),
            task_modules=env_list("ISAAC_TASK_MODULES", task["task_modules"]),
            description=env_str("ISAAC_TASK_DESCRIPTION", cls.description),
            fps=env_int("FPS", c.DEFAULT_FPS, minimum=1),
            cameras=env_list("CAMERAS", ("front", "wrist")),
            height=env_int("IMAGE_HEIGHT", 240, minimum=16),
            width=env_int("IMAGE_WIDTH", 320, minimum=16),
            headless=env_bool("ISAAC_HEADLESS", True),
            device=env_str("ISAAC_DEVICE", "cuda:0"),
            robot=env_str("ISAAC_ROBOT", "robot"),
            joint_names=env_list("ISAAC_JOINT_NAMES", c.JOINT_NAMES),
            ee_body=env_str("ISAAC_EE_BODY", task["ee_body"]),
            tcp=tcp or task["tcp"],
            kinematics=env_str("ISAAC_KINEMATICS", task["kinematics"]),
            success_term=env_str("ISAAC_SUCCESS_TERM", "success"),
            object_name=env_str("ISAAC_OBJECT", task["object_name"]),
            lift_height_m=env_float("ISAAC_LIFT_HEIGHT_M", 0.05, minimum=0.0),
        )
