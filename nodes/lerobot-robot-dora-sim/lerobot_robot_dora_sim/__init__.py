"""LeRobot plugin: the dora-sim SO-101 simulation as ``--robot.type=dora_sim_so101``.

LeRobot's CLIs import this package by its distribution name (``lerobot_robot_*``), which registers
the config; ``make_robot_from_config`` then finds :class:`DoraSimSO101` next to it.

``dora_sim_mujoco`` is imported first (it does not import mujoco): it picks headless EGL rendering
when there is no display, which must happen before anything in the process imports mujoco.
"""

import dora_sim_mujoco  # noqa: F401
from lerobot_robot_dora_sim.config_dora_sim_so101 import DoraSimSO101Config
from lerobot_robot_dora_sim.dora_sim_so101 import DoraSimSO101
from lerobot_robot_dora_sim.simulation import SimCameraConfig

__all__ = ["DoraSimSO101", "DoraSimSO101Config", "SimCameraConfig"]
