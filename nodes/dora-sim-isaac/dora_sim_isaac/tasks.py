"""Registers this package's Isaac Lab 3.0 task with gymnasium (the kit-less recipe's
ISAAC_TASK_MODULES): ``DoraSim-SO101-Lift-Cube-v0``, the MuJoCo node's pick-cube scene on Newton
(:mod:`dora_sim_isaac.lift_cube_newton`, imported only when the env config is parsed)."""

import gymnasium as gym

gym.register(
    id="DoraSim-SO101-Lift-Cube-v0",
    entry_point="isaaclab.envs:ManagerBasedRLEnv",
    kwargs={"env_cfg_entry_point": "dora_sim_isaac.lift_cube_newton:SO101LiftCubeEnvCfg"},
    disable_env_checker=True,
)
