"""The LeRobot EnvHub entry of dora-sim-isaac, loaded the way LeRobot 0.4.4 loads a Hub ``env.py``,
on the fake Isaac Lab (``fake_isaaclab/``), not on Isaac Sim."""

from __future__ import annotations

from types import SimpleNamespace

import gymnasium as gym
import isaac_fake
import numpy as np
import pytest
import torch
from lerobot.envs.utils import (
    _call_make_env,
    _load_module_from_path,
    _normalize_hub_result,
    add_envs_task,
    preprocess_observation,
)
from lerobot.processor import PolicyProcessorPipeline
from lerobot.processor.converters import policy_action_to_transition, transition_to_policy_action
from lerobot.scripts.lerobot_eval import rollout

SETTINGS = {"ISAAC_DEVICE": "cpu", "CAMERAS": "front", "IMAGE_HEIGHT": "24", "IMAGE_WIDTH": "32"}


@pytest.fixture
def hub_env(monkeypatch):
    """``make_env`` called exactly as ``lerobot.envs.factory.make_env`` calls a Hub env."""
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    isaac_fake.ensure_app()
    module = _load_module_from_path(str(isaac_fake.NODE / "env.py"), "hub_env_user_isaac")

    def make(n_envs: int, cfg=None):
        result = _call_make_env(module, n_envs=n_envs, use_async_envs=False, cfg=cfg)
        return _normalize_hub_result(result)

    return make


def test_make_env_returns_a_vector_env_lerobot_accepts(hub_env):
    envs = hub_env(2)
    vec = envs["hub_env"][0]
    assert isinstance(vec, gym.vector.VectorEnv) and vec.num_envs == 2
    obs, info = vec.reset(seed=[5, 6])
    assert obs["agent_pos"].shape == (2, 6) and obs["agent_pos"].dtype == np.float32
    front = obs["pixels"]["front"]
    assert front.shape == (2, 24, 32, 3) and front.dtype == np.uint8
    assert info["ee_state"]["ee_pos"].shape == (2, 3)
    batch = add_envs_task(vec, preprocess_observation(obs))
    assert batch["observation.state"].shape == (2, 6)
    assert batch["observation.images.front"].shape == (2, 3, 24, 32)
    assert batch["task"] == ["Pick up the cube and lift it"] * 2
    assert vec.call("_max_episode_steps") == (600, 600)  # EPISODE_TIME_S 20 s at 30 FPS
    assert vec.unwrapped.metadata["render_fps"] == 30
    assert vec.envs[1].render().shape == (24, 32, 3)
    vec.close()


def test_actions_are_so101_targets_and_success_ends_only_that_env(hub_env):
    vec = hub_env(2)["hub_env"][0]
    obs, _ = vec.reset(seed=0)
    target = obs["agent_pos"].copy()
    target[:, 0] += [10.0, -10.0]
    for _ in range(30):
        obs, reward, terminated, truncated, info = vec.step(target)
    np.testing.assert_allclose(obs["agent_pos"], target, atol=0.05)
    assert not terminated.any() and not truncated.any() and "final_info" not in info

    cube = vec.env.base.scene["object"]
    pose = torch.cat([cube.data.root_pos_w, cube.data.root_quat_w], dim=-1)
    pose[1, 2] += 0.2  # env 1's cube is up: success
    cube.write_root_pose_to_sim(pose)
    obs, reward, terminated, truncated, info = vec.step(target)
    assert terminated.tolist() == [False, True] and reward.tolist() == [0.0, 1.0]
    assert info["final_info"]["is_success"].tolist() == [False, True]
    assert cube.data.root_pos_w[1, 2].item() < 0.05  # env 1 was reset in the same step
    assert not info["ee_state"]["ee_pos_delta"][1].any()
    vec.close()


def test_episode_length_truncates(hub_env):
    vec = hub_env(1, cfg=SimpleNamespace(task=None, fps=30, episode_length=3))["hub_env"][0]
    vec.reset(seed=1)
    hold = vec.env.joint_state()
    dones = [vec.step(hold)[3][0] for _ in range(4)]
    assert dones == [False, False, True, False]
    vec.close()


class NudgePolicy(torch.nn.Module):
    """A stand-in policy: move shoulder_pan 5° from the observed state."""

    def reset(self) -> None:
        pass

    def select_action(self, batch: dict) -> torch.Tensor:
        action = batch["observation.state"].clone()
        action[:, 0] += 5.0
        return action


def test_lerobot_eval_rollout_runs_on_it(hub_env):
    vec = hub_env(2, cfg=SimpleNamespace(task=None, fps=30, episode_length=4))["hub_env"][0]
    identity = PolicyProcessorPipeline(steps=[])
    to_action = PolicyProcessorPipeline(
        steps=[], to_transition=policy_action_to_transition, to_output=transition_to_policy_action
    )
    result = rollout(vec, NudgePolicy(), identity, identity, identity, to_action, seeds=[0, 1])
    assert result["action"].shape == (2, 4, 6) and result["done"][:, -1].all()
    assert not result["success"].any()
    vec.close()
