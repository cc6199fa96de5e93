"""``--env.type=dora_sim``: the configuration ``lerobot-eval`` (and ``lerobot-train``'s periodic
eval) parses for the dora sim's scene."""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym
from lerobot.configs import FeatureType, PolicyFeature
from lerobot.envs.configs import EnvConfig
from lerobot.utils.constants import ACTION, OBS_IMAGES, OBS_STATE

from dora_sim import contract as c
from lerobot_env_dora_sim.policy_fit import check_cli_policy
from lerobot_robot_dora_sim.simulation import SimCameraConfig, default_cameras, image_size

# One gym id for every task (the task is a constructor argument), so registering it needs no
# task list and no mujoco import when LeRobot loads its plugins.
GYM_ID = "dora_sim/SO101-v0"


@EnvConfig.register_subclass("dora_sim")
@dataclass
class DoraSimEnvConfig(EnvConfig):
    """The dora sim's scene, cameras, episode rules and success predicate.

    Episode k of ``lerobot-eval --seed=S`` is reset with seed S+k, as ``SEED=S`` in
    ``dataflow-eval.yaml``. ``--env.cameras`` as the robot's: ``'{front: {height: 240, width:
    320}, wrist: {height: 240, width: 320}}'`` (one size for all).
    """

    task: str | None = "pick-cube"  # pick-cube | table-cleanup
    fps: int = c.DEFAULT_FPS
    cameras: dict[str, SimCameraConfig] = field(default_factory=default_cameras)
    episode_time_s: float = 20.0  # the dora sim's EPISODE_TIME_S
    end_on_success: bool = True  # END_ON_SUCCESS
    success_hold_s: float = 0.5  # SUCCESS_HOLD_S
    render_profile: str = "fast"  # RENDER_PROFILE
    simulator: str = "mujoco"

    def __post_init__(self) -> None:
        from dora_sim_mujoco.tasks import make_task  # only when this env is chosen

        make_task(self.task)  # raises for an unknown task, listing the known ones
        height, width = image_size(self.cameras)
        self.features = {
            ACTION: PolicyFeature(type=FeatureType.ACTION, shape=(c.NUM_JOINTS,)),
            "agent_pos": PolicyFeature(type=FeatureType.STATE, shape=(c.NUM_JOINTS,)),
        }
        self.features_map = {ACTION: ACTION, "agent_pos": OBS_STATE}
        for cam in self.cameras:
            self.features[f"pixels/{cam}"] = PolicyFeature(
                type=FeatureType.VISUAL, shape=(height, width, 3)
            )
            self.features_map[f"pixels/{cam}"] = f"{OBS_IMAGES}.{cam}"

    @property
    def package_name(self) -> str:
        return "lerobot_env_dora_sim"

    @property
    def gym_id(self) -> str:
        return GYM_ID

    @property
    def gym_kwargs(self) -> dict:
        return {
            "task": self.task,
            "fps": self.fps,
            "cameras": dict(self.cameras),
            "episode_time_s": self.episode_time_s,
            "end_on_success": self.end_on_success,
            "success_hold_s": self.success_hold_s,
            "render_profile": self.render_profile,
            "simulator": self.simulator,
        }

    def create_envs(
        self, n_envs: int, use_async_envs: bool = False
    ) -> dict[str, dict[int, gym.vector.VectorEnv]]:
        """LeRobot's own vector envs (sync, or async with ``--eval.use_async_envs``), after
        checking that the policy on the command line fits this env's cameras and joints."""
        check_cli_policy(self)
        return super().create_envs(n_envs, use_async_envs)
