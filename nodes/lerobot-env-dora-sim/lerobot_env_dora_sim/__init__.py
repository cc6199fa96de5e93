"""LeRobot plugin: the dora-sim SO-101 scene as ``--env.type=dora_sim`` (lerobot-eval).

LeRobot's CLIs import this package by its distribution name (``lerobot_env_*``), which registers
the env config and the gymnasium id it builds envs with.
"""

import gymnasium as gym

from lerobot_env_dora_sim.config import GYM_ID, DoraSimEnvConfig

gym.register(id=GYM_ID, entry_point="lerobot_env_dora_sim.sim_env:DoraSimEnv")

__all__ = ["GYM_ID", "DoraSimEnvConfig"]
