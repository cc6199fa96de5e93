"""Settings of the Isaac Lab simulator, from the node's ``env:`` or the shell.

The session settings (FPS, NUM_EPISODES, EPISODE_TIME_S, CAMERAS, IMAGE_HEIGHT, …) are read under
the same names as the MuJoCo node, so one dataflow serves both; Isaac-only settings start with
``ISAAC_``. The task is ``ISAAC_TASK``, not ``TASK``, so a MuJoCo task name set in the shell is
never handed to Isaac Lab.
"""

from __future__ import annotations

from dataclasses import dataclass

from dora_sim import contract as c
from dora_sim.config import ConfigError, env_bool, env_float, env_int, env_list, env_str

DEFAULT_TASK = "Isaac-SO-ARM101-Lift-Cube-v0"
# Python modules whose import registers the task ids with gymnasium (the community extension
# https://github.com/MuammerBay/isaac_so_arm101 registers the Isaac-SO-ARM10x-* tasks).
DEFAULT_TASK_MODULES = ("isaac_so_arm101.tasks",)


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
    ee_body: str = "gripper_link"  # the body whose pose is the end effector (as in the seed demo)
    # Termination term that means success; tasks without one get "object lifted" (lift_height_m).
    success_term: str = "success"
    object_name: str = "object"
    lift_height_m: float = 0.05

    def __post_init__(self) -> None:
        if len(self.joint_names) != c.NUM_JOINTS:
            raise ConfigError(
                f"ISAAC_JOINT_NAMES: expected {c.NUM_JOINTS} names in contract order"
                f" ({', '.join(c.JOINT_NAMES)}), got {list(self.joint_names)}"
            )

    @classmethod
    def from_env(cls) -> IsaacConfig:
        return cls(
            task=env_str("ISAAC_TASK", DEFAULT_TASK),
            task_modules=env_list("ISAAC_TASK_MODULES", DEFAULT_TASK_MODULES),
            description=env_str("ISAAC_TASK_DESCRIPTION", cls.description),
            fps=env_int("FPS", c.DEFAULT_FPS, minimum=1),
            cameras=env_list("CAMERAS", ("front", "wrist")),
            height=env_int("IMAGE_HEIGHT", 240, minimum=16),
            width=env_int("IMAGE_WIDTH", 320, minimum=16),
            headless=env_bool("ISAAC_HEADLESS", True),
            device=env_str("ISAAC_DEVICE", "cuda:0"),
            robot=env_str("ISAAC_ROBOT", "robot"),
            joint_names=env_list("ISAAC_JOINT_NAMES", c.JOINT_NAMES),
            ee_body=env_str("ISAAC_EE_BODY", "gripper_link"),
            success_term=env_str("ISAAC_SUCCESS_TERM", "success"),
            object_name=env_str("ISAAC_OBJECT", "object"),
            lift_height_m=env_float("ISAAC_LIFT_HEIGHT_M", 0.05, minimum=0.0),
        )
