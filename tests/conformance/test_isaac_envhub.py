"""The LeRobot EnvHub entry of dora-sim-isaac, loaded and rolled out by LeRobot's own public code
(``lerobot.envs.factory.make_env``, ``lerobot_eval.rollout``) on the fake Isaac Lab
(``fake_isaaclab/``), not on Isaac Sim.

``env.py`` is published as a Hub repository pinned to a commit: huggingface_hub serves a pinned
file from its cache without asking the Hub, so the test puts it in a private cache, where a
download would have put it, and needs no network.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import isaac_fake
import numpy as np
import pytest
import torch
from lerobot.envs import HubEnvConfig
from lerobot.envs.factory import make_env
from lerobot.envs.utils import preprocess_observation
from lerobot.processor import PolicyProcessorPipeline
from lerobot.processor.converters import policy_action_to_transition, transition_to_policy_action
from lerobot.scripts.lerobot_eval import rollout

SETTINGS = {"ISAAC_DEVICE": "cpu", "CAMERAS": "front", "IMAGE_HEIGHT": "24", "IMAGE_WIDTH": "32"}
REPO_ID = "local/dora-sim-isaac"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
HUB_PATH = f"{REPO_ID}@{COMMIT}:env.py"


@dataclass
class IsaacHubEnv(HubEnvConfig):
    """A LeRobot env config for the entry: a Hub env with an episode length in steps, as
    LeRobot's own ``IsaaclabArenaEnv`` has."""

    hub_path: str = HUB_PATH
    episode_length: int | None = None


@pytest.fixture
def hub_env(monkeypatch, tmp_path: Path):
    """``make_env(n_envs, cfg=None)``: LeRobot's ``make_env`` on the published ``env.py`` (by
    its Hub path, or through a ``HubEnvConfig``), returning its ``{suite: {task_id: env}}``."""
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    isaac_fake.ensure_app()
    snapshot = tmp_path / f"models--{REPO_ID.replace('/', '--')}" / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    shutil.copy(isaac_fake.NODE / "env.py", snapshot / "env.py")

    def make(n_envs: int, cfg: HubEnvConfig | None = None):
        return make_env(
            cfg or HUB_PATH, n_envs=n_envs, hub_cache_dir=str(tmp_path), trust_remote_code=True
        )

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
    batch = preprocess_observation(obs)
    assert batch["observation.state"].shape == (2, 6)
    assert batch["observation.images.front"].shape == (2, 3, 24, 32)
    assert batch["observation.ee_pos"].shape == (2, 3)  # extra keys pass through
    assert vec.call("task_description") == ("Pick up the cube and lift it",) * 2
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
    vec = hub_env(1, cfg=IsaacHubEnv(episode_length=3))["hub_env"][0]
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
    cfg = IsaacHubEnv(episode_length=4)
    vec = hub_env(2, cfg=cfg)["hub_env"][0]
    env_preprocessor, env_postprocessor = cfg.get_env_processors()
    identity = PolicyProcessorPipeline(steps=[])
    to_action = PolicyProcessorPipeline(
        steps=[], to_transition=policy_action_to_transition, to_output=transition_to_policy_action
    )
    result = rollout(
        vec,
        NudgePolicy(),
        env_preprocessor,
        env_postprocessor,
        identity,
        to_action,
        seeds=[0, 1],
        return_observations=True,
    )
    assert result["action"].shape == (2, 4, 6) and result["done"][:, -1].all()
    assert not result["success"].any()
    states = result["observation"]["observation.state"]  # one more than actions: the last
    np.testing.assert_allclose(result["action"][:, :, 0], states[:, :-1, 0] + 5.0, atol=1e-5)
    vec.close()
