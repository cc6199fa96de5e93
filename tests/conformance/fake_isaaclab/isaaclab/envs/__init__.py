"""Fake ``isaaclab.envs``: ``ManagerBasedRLEnvCfg`` and ``ManagerBasedRLEnv``.

``step`` follows Isaac Lab 2.3 step by step: process the action, ``decimation`` physics substeps
(rendering every ``sim.render_interval`` substeps when cameras exist), counters, terminations,
**reset of the terminated envs inside step**, observations.
"""

from __future__ import annotations

import math
import random
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from isaaclab.managers import ActionManager, EventManager, ObservationManager, TerminationManager
from isaaclab.scene import InteractiveScene
from isaaclab.sim import SimulationCfg, SimulationContext
from isaaclab.utils import configclass


@configclass
class ManagerBasedRLEnvCfg:
    sim: Any = SimulationCfg()
    decimation: int = 1
    episode_length_s: float = 5.0
    scene: Any = None
    actions: Any = None
    observations: Any = None
    terminations: Any = None
    events: Any = None
    rewards: Any = None
    commands: Any = None
    num_rerenders_on_reset: int = 0
    seed: Any = None


class ManagerBasedRLEnv(gym.Env):
    is_vector_env: ClassVar[bool] = True
    metadata: ClassVar[dict[str, Any]] = {"render_modes": [None, "human", "rgb_array"]}

    def __init__(self, cfg: ManagerBasedRLEnvCfg, render_mode: str | None = None, **kwargs: Any):
        self.cfg = cfg
        self.render_mode = render_mode
        self.sim = SimulationContext(cfg.sim)  # raises when Isaac Sim is not running
        self.scene = InteractiveScene(cfg.scene, self.sim)
        self.episode_length_buf = torch.zeros(self.num_envs, device=self.device, dtype=torch.long)
        self.common_step_counter = 0
        self._sim_step_counter = 0
        self.event_manager = EventManager(cfg.events, self)
        self.action_manager = ActionManager(cfg.actions, self)
        self.observation_manager = ObservationManager(cfg.observations, self)
        self.termination_manager = TerminationManager(cfg.terminations, self)
        self.reward_buf = torch.zeros(self.num_envs, device=self.device)
        self.extras: dict[str, Any] = {}
        dim = self.action_manager.total_action_dim
        self.single_action_space = gym.spaces.Box(-np.inf, np.inf, (dim,))
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)
        self.metadata = {**self.metadata, "render_fps": 1 / self.step_dt}
        self._is_closed = False

    @property
    def num_envs(self) -> int:
        return self.scene.num_envs

    @property
    def device(self) -> str:
        return self.sim.device

    @property
    def physics_dt(self) -> float:
        return self.cfg.sim.dt

    @property
    def step_dt(self) -> float:
        return self.cfg.sim.dt * self.cfg.decimation

    @property
    def max_episode_length(self) -> int:
        return math.ceil(self.cfg.episode_length_s / self.step_dt)

    @staticmethod
    def seed(seed: int = -1) -> int:
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        return seed

    def reset(
        self, seed: int | None = None, env_ids: Any = None, options: dict | None = None
    ) -> tuple[dict, dict]:
        if env_ids is None:
            env_ids = torch.arange(self.num_envs, dtype=torch.int64, device=self.device)
        if seed is not None:
            self.seed(seed)
        self._reset_idx(env_ids)
        self.scene.write_data_to_sim()
        self.sim.forward()
        if self.sim.has_rtx_sensors() and self.cfg.num_rerenders_on_reset > 0:
            for _ in range(self.cfg.num_rerenders_on_reset):
                self.sim.render()
        self.obs_buf = self.observation_manager.compute(update_history=True)
        return self.obs_buf, self.extras

    def step(self, action: torch.Tensor) -> tuple:
        self.action_manager.process_action(action.to(self.device))
        is_rendering = self.sim.has_gui() or self.sim.has_rtx_sensors()
        for _ in range(self.cfg.decimation):
            self._sim_step_counter += 1
            self.action_manager.apply_action()
            self.scene.write_data_to_sim()
            self.sim.step(render=False)
            if self._sim_step_counter % self.cfg.sim.render_interval == 0 and is_rendering:
                self.sim.render()
            self.scene.update(dt=self.physics_dt)
        self.episode_length_buf += 1
        self.common_step_counter += 1
        self.reset_buf = self.termination_manager.compute()
        self.reset_terminated = self.termination_manager.terminated
        self.reset_time_outs = self.termination_manager.time_outs
        reset_env_ids = self.reset_buf.nonzero(as_tuple=False).squeeze(-1)
        if len(reset_env_ids) > 0:
            self._reset_idx(reset_env_ids)
            self.scene.write_data_to_sim()
            if self.sim.has_rtx_sensors() and self.cfg.num_rerenders_on_reset > 0:
                for _ in range(self.cfg.num_rerenders_on_reset):
                    self.sim.render()
        self.obs_buf = self.observation_manager.compute(update_history=True)
        return (
            self.obs_buf,
            self.reward_buf,
            self.reset_terminated,
            self.reset_time_outs,
            self.extras,
        )

    def _reset_idx(self, env_ids: torch.Tensor) -> None:
        self.scene.reset(env_ids)
        if "reset" in self.event_manager.available_modes:
            self.event_manager.apply(mode="reset", env_ids=env_ids)
        self.extras["log"] = self.termination_manager.reset(env_ids)
        self.episode_length_buf[env_ids] = 0

    def close(self) -> None:
        self._is_closed = True
