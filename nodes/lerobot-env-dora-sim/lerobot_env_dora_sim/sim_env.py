"""The dora sim's scene as a gymnasium env, stepped in lockstep by its caller (``lerobot-eval``).

Everything that decides an outcome is the dora graph's own code: the ``dora-sim-mujoco``
``Simulator`` (scene, cameras, so101 units at its boundary, ``reset(seed)`` placing the objects
from ``numpy.random.default_rng(seed)``, the task's success predicate) and
``dora_sim.episode.EpisodeMachine`` (time limit, early end once success has held
``success_hold_s``, the verdict). ``reset(seed=s)`` builds exactly the scene the dora sim builds
for an episode seeded ``s`` (the dora sim seeds episode k with ``SEED + k``; lerobot-eval seeds
episode k with ``--seed + k``), with the arm at home as in ``dataflow-eval.yaml``.

Observations are what LeRobot's ``preprocess_observation`` expects: ``agent_pos`` (so101 units,
float32[6]) and ``pixels`` (one HxWx3 uint8 image per camera), i.e. ``observation.state`` and
``observation.images.<camera>``, the dora recorder's feature names. Actions are float32[6]
joint targets in so101 units. One ``step`` is one tick: the action is held for ``1/fps`` s of sim
time, then the new state is judged (the dora sim judges the frame it emits, the state before
that tick's step: here ``reward`` is the predicate on the state the action led to).

``terminated`` means success held long enough, ``truncated`` the time limit; ``info["is_success"]``
is the episode's verdict (the predicate on its last frame, as the dora sim's ``episode`` end
event), False while it runs, which is what lerobot-eval reads from ``final_info``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from dora_sim import contract as c
from dora_sim.episode import EpisodeConfig, EpisodeMachine
from lerobot_robot_dora_sim.simulation import SimCameraConfig, build_simulator, default_cameras

_SEED_BOUND = 2**31 - 1


class DoraSimEnv(gym.Env):
    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["rgb_array"],
        "render_fps": c.DEFAULT_FPS,
    }

    def __init__(
        self,
        task: str = "pick-cube",
        fps: int = c.DEFAULT_FPS,
        cameras: dict[str, SimCameraConfig] | None = None,
        episode_time_s: float = 20.0,
        end_on_success: bool = True,
        success_hold_s: float = 0.5,
        render_profile: str = "fast",
        simulator: str = "mujoco",
        render_mode: str = "rgb_array",
    ):
        cameras = default_cameras() if cameras is None else cameras
        self.sim = build_simulator(task=task, fps=fps, cameras=cameras,
                                   render_profile=render_profile, simulator=simulator,
                                   reset_arm=True)  # fmt: skip
        self.episodes = EpisodeConfig(num_episodes=0, episode_time_s=episode_time_s,
                                      reset_time_s=0.0, end_on_success=end_on_success,
                                      success_hold_s=success_hold_s)  # fmt: skip
        self.machine = EpisodeMachine(self.episodes, fps)
        self.cameras = tuple(cameras)
        # lerobot-eval reads these through VectorEnv.call: the prompt and the step limit.
        self.task = self.task_description = self.sim.task.description
        self._max_episode_steps = self.episodes.ticks(episode_time_s, fps)
        self.metadata = {**self.metadata, "render_fps": fps}
        self.render_mode = render_mode

        low = np.r_[np.full(c.GRIPPER_INDEX, -c.ARM_DEG_BOUND), c.GRIPPER_RANGE[0]]
        high = np.r_[np.full(c.GRIPPER_INDEX, c.ARM_DEG_BOUND), c.GRIPPER_RANGE[1]]
        self.action_space = spaces.Box(low.astype(np.float32), high.astype(np.float32))
        observation: dict[str, spaces.Space] = {
            "agent_pos": spaces.Box(low.astype(np.float32), high.astype(np.float32))
        }
        if self.cameras:
            shape = (self.sim.config.height, self.sim.config.width, 3)
            observation["pixels"] = spaces.Dict(
                {cam: spaces.Box(0, 255, shape, np.uint8) for cam in self.cameras}
            )
        self.observation_space = spaces.Dict(observation)
        self._frame: np.ndarray | None = None  # the first camera's latest image (render())

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        if seed is None:  # gymnasium's autoreset: a fresh scene from this env's own generator
            seed = int(self.np_random.integers(_SEED_BOUND))
        if self.machine.phase == c.PHASE_EPISODE:
            self.machine.command(c.CONTROL_RESET)  # discard the episode in progress
        started, _ = self.machine.begin_tick()
        assert started, "the episode machine must start an episode at once (no reset phase)"
        self.sim.reset(seed)
        return self._observe(), {"is_success": False}

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        target = np.asarray(action, dtype=np.float32).reshape(c.NUM_JOINTS)
        if not np.all(np.isfinite(target)):
            raise ValueError(f"the action must be 6 finite so101 joint targets, got {target}")
        if self.machine.phase != c.PHASE_EPISODE:
            raise gym.error.ResetNeeded("the episode is over: call reset() before step()")
        self.sim.set_action(target)  # clipped to the joint limits by the simulator
        self.sim.step()
        success = self.sim.success()
        end = self.machine.end_tick(success)
        terminated = end is not None and end.reason == c.END_SUCCESS
        truncated = end is not None and not terminated
        info = {"is_success": bool(end is not None and end.success)}
        return self._observe(), float(success), terminated, truncated, info

    def _observe(self) -> dict[str, Any]:
        obs: dict[str, Any] = {"agent_pos": self.sim.state()}
        if self.cameras:
            obs["pixels"] = {cam: self.sim.render(cam) for cam in self.cameras}
            self._frame = obs["pixels"][self.cameras[0]]
        return obs

    def render(self) -> np.ndarray:
        """The first camera's latest image (lerobot-eval's videos), without rendering again."""
        if self._frame is None:
            raise RuntimeError("no image yet: configure a camera and call reset() first")
        return self._frame.copy()

    def close(self) -> None:
        self.sim.close()
