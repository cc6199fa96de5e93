"""LeRobot EnvHub entry: ``make_env(n_envs, use_async_envs, cfg)`` → a gymnasium VectorEnv.

LeRobot's ``lerobot.envs.factory.make_env("<user>/<repo>[@<commit>]", trust_remote_code=True)``
(or a ``HubEnvConfig``; the same in 0.4.4, the last release for Isaac Sim 5.1's Python 3.11, and
0.6.1) downloads the repository's ``env.py``, imports it by path and calls
``make_env(n_envs=…, use_async_envs=…)``, adding ``cfg=<the EnvConfig>`` when it has one; a
returned ``VectorEnv`` becomes ``{"hub_env": {0: env}}``. ``nodes/dora-sim-isaac/env.py`` is that
file. As in the seed demo, the caller must already run Isaac Sim (``AppLauncher``, or
:func:`dora_sim_isaac.isaac_env.launch_app`) in the same process.

The env is the task the dora node runs, with the same contract adaptations
(:mod:`dora_sim_isaac.task_cfg`): actions are so101-unit joint targets (N, 6); observations are
``agent_pos`` (so101 units), ``pixels`` (one HWC uint8 image per camera) and the seed wrapper's
``ee_pos``, ``ee_quat``, ``ee_pos_delta``; ``info["ee_state"]`` is its ``get_ee_state()``.
``terminated`` is the task's success, ``truncated`` the episode length; finished envs are reset in
the same step (``AutoresetMode.SAME_STEP``) with ``info["final_info"]["is_success"]``, which is
what ``lerobot-eval`` reads.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from dora_sim import contract as c
from dora_sim.config import env_float
from dora_sim_isaac.config import IsaacConfig
from dora_sim_isaac.ee import EETracker
from dora_sim_isaac.isaac_env import ContractEnv, build

log = logging.getLogger("dora-sim-isaac")


def make_env(n_envs: int = 1, use_async_envs: bool = False, cfg: Any = None) -> IsaacVectorEnv:
    """Build ``n_envs`` copies of the task as one batched Isaac Lab env.

    ``cfg`` (a LeRobot ``EnvConfig``, optional) may set ``task`` (an Isaac Lab task id), ``fps``
    and ``episode_length`` (steps); everything else comes from the ``ISAAC_*`` / dora-sim
    environment variables (docs/isaac.md). Episodes last EPISODE_TIME_S (default 20 s) otherwise.
    """
    if n_envs < 1:
        raise ValueError("`n_envs` must be at least 1")
    if use_async_envs:
        log.warning("use_async_envs ignored: Isaac Lab steps all %d envs in one process", n_envs)
    overrides = {name: getattr(cfg, name) for name in ("task", "fps") if getattr(cfg, name, None)}
    config = replace(IsaacConfig.from_env(), **overrides)
    steps = getattr(cfg, "episode_length", None) or round(
        env_float("EPISODE_TIME_S", 20.0, minimum=0.1) * config.fps
    )
    return IsaacVectorEnv(build(config, num_envs=n_envs), max_episode_steps=int(steps))


class IsaacEnvView(gym.Env):
    """One env of the batch as LeRobot's rollout sees it (``task_description``,
    ``_max_episode_steps``, ``render()``); stepping goes through the vector env."""

    def __init__(self, vector: IsaacVectorEnv, index: int):
        self.vector, self.index = vector, index
        self.task = self.task_description = vector.config.description
        self._max_episode_steps = vector.max_episode_steps
        self.observation_space = vector.single_observation_space
        self.action_space = vector.single_action_space
        self.metadata = vector.metadata
        self.render_mode = "rgb_array"

    def render(self) -> np.ndarray:
        return self.vector.frame(self.index)


class IsaacVectorEnv(gym.vector.SyncVectorEnv):
    """A batched Isaac Lab env behind the ``SyncVectorEnv`` interface.

    A ``SyncVectorEnv`` because ``lerobot-eval`` renders videos only from one (through
    ``envs[i].render()``) and reads attributes with ``call``; but its ``__init__`` (one gym env per
    sub-env) is not used: Isaac Lab steps the whole batch at once, so ``reset``/``step`` are
    overridden and ``envs`` holds :class:`IsaacEnvView` views for ``call``/``render``.
    """

    def __init__(self, env: ContractEnv, max_episode_steps: int):
        self.env = env
        self.config = env.config
        self.num_envs = env.num_envs
        self.max_episode_steps = max_episode_steps
        low = np.r_[np.full(5, -c.ARM_DEG_BOUND), c.GRIPPER_RANGE[0]].astype(np.float32)
        high = np.r_[np.full(5, c.ARM_DEG_BOUND), c.GRIPPER_RANGE[1]].astype(np.float32)
        self.single_action_space = spaces.Box(low, high, dtype=np.float32)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        observation = {
            "agent_pos": spaces.Box(-np.inf, np.inf, (c.NUM_JOINTS,), np.float32),
            "ee_pos": spaces.Box(-np.inf, np.inf, (3,), np.float32),
            "ee_quat": spaces.Box(-1.0, 1.0, (4,), np.float32),
            "ee_pos_delta": spaces.Box(-np.inf, np.inf, (3,), np.float32),
        }
        image = (self.config.height, self.config.width, 3)
        if self.config.cameras:
            observation["pixels"] = spaces.Dict(
                {cam: spaces.Box(0, 255, image, np.uint8) for cam in self.config.cameras}
            )
        self.single_observation_space = spaces.Dict(observation)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.autoreset_mode = AutoresetMode.SAME_STEP
        self.metadata = {
            "render_modes": ["rgb_array"],
            "render_fps": self.config.fps,
            "autoreset_mode": self.autoreset_mode,
        }
        self.render_mode = "rgb_array"
        self.envs = [IsaacEnvView(self, i) for i in range(self.num_envs)]
        self.steps = np.zeros(self.num_envs, dtype=np.int64)
        self.ee = EETracker()

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict | None = None
    ) -> tuple[dict, dict]:
        """Reset every env. Isaac Lab seeds the batch once: a list of seeds uses its first.
        ``options`` (LeRobot 0.6's rollout marks a new rollout there) change nothing: every
        env is reset."""
        if isinstance(seed, list | tuple | np.ndarray):
            seed = int(seed[0])
        self.env.reset(seed=seed)
        self.steps[:] = 0
        self.ee.reset(self.env.ee_poses())
        info = {"is_success": np.zeros(self.num_envs, dtype=bool), "ee_state": self.ee.state()}
        return self.observe(), info

    def step(self, actions: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray, dict]:
        actions = np.asarray(actions, dtype=np.float32).reshape(self.num_envs, c.NUM_JOINTS)
        if not np.all(np.isfinite(actions)):
            raise ValueError("actions must be finite so101 joint targets")
        targets, _ = self.env.to_radians(actions)
        self.env.step(targets)
        self.steps += 1
        success = self.env.success()
        terminated = success
        truncated = (self.steps >= self.max_episode_steps) & ~terminated
        done_mask = terminated | truncated
        done = np.flatnonzero(done_mask)
        info: dict[str, Any] = {"is_success": success}
        if len(done):
            info["final_info"] = {"is_success": success.copy(), "_is_success": done_mask}
            self.env.reset(env_ids=done)
            self.steps[done] = 0
        self.ee.update(self.env.ee_poses(), env_ids=done)
        info["ee_state"] = self.ee.state()
        return self.observe(), success.astype(np.float64), terminated, truncated, info

    def observe(self) -> dict[str, Any]:
        ee = self.ee.state()
        obs: dict[str, Any] = {
            "agent_pos": self.env.joint_state(),
            "ee_pos": ee["ee_pos"],
            "ee_quat": ee["ee_quat"],
            "ee_pos_delta": ee["ee_pos_delta"],
        }
        if self.config.cameras:
            obs["pixels"] = {
                cam: self.env.image(cam).to("cpu", copy=True).numpy() for cam in self.config.cameras
            }
        return obs

    def frame(self, index: int) -> np.ndarray:
        """The first camera's latest image of env ``index`` (videos of ``lerobot-eval``)."""
        if not self.config.cameras:
            raise RuntimeError("no cameras configured (CAMERAS is empty): nothing to render")
        return self.env.image(self.config.cameras[0])[index].to("cpu", copy=True).numpy()

    def get_ee_state(self) -> dict[str, np.ndarray]:
        """The seed wrapper's end-effector state, batched over envs."""
        return self.ee.state()

    def close_extras(self, **kwargs: Any) -> None:
        self.env.close()
