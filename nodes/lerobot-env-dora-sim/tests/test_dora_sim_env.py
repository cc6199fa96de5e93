"""``--env.type=dora_sim`` through LeRobot's public env API, in process: the config LeRobot parses,
``lerobot.envs.factory.make_env``, ``preprocess_observation`` and ``lerobot_eval.rollout``.

``lerobot-eval`` itself is run in ``tests/lerobot_cli``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pyarrow as pa
import pytest
import torch
from dora.testing import MockNode
from lerobot.configs import FeatureType, PolicyFeature
from lerobot.envs.configs import EnvConfig
from lerobot.envs.factory import make_env
from lerobot.envs.utils import env_to_policy_features, preprocess_observation
from lerobot.policies.act.configuration_act import ACTConfig
from lerobot.processor import PolicyProcessorPipeline
from lerobot.processor.converters import policy_action_to_transition, transition_to_policy_action
from lerobot.scripts.lerobot_eval import rollout
from lerobot.utils.import_utils import register_third_party_plugins

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.episode import EpisodeConfig, EpisodeMachine
from dora_sim.sim_node import SimNode, serve
from lerobot_env_dora_sim import DoraSimEnvConfig
from lerobot_env_dora_sim.policy_fit import check_policy_fits
from lerobot_env_dora_sim.sim_env import DoraSimEnv
from lerobot_robot_dora_sim import SimCameraConfig

NODE = Path(__file__).resolve().parents[1]
SMALL = {"front": SimCameraConfig(24, 32), "wrist": SimCameraConfig(24, 32)}


def config(**overrides: Any) -> DoraSimEnvConfig:
    """The env config as lerobot-eval gets it: plugins imported, ``--env.type=dora_sim``."""
    register_third_party_plugins()
    return EnvConfig.get_choice_class("dora_sim")(**{"cameras": SMALL, **overrides})


def vector_env(n_envs: int, **overrides: Any) -> gym.vector.VectorEnv:
    return make_env(config(**overrides), n_envs=n_envs)["dora_sim"][0]


def put_apples_in_the_bin(env: DoraSimEnv) -> None:
    """table-cleanup's success, made by hand: every apple in play put inside the bin (the next
    step's physics takes it from there)."""
    model, data = env.sim.model, env.sim.data
    bin_xy = data.mocap_pos[model.body("bin").mocapid[0]][:2]
    for i in range(env.sim.task.count):
        adr = model.jnt_qposadr[model.body(f"apple{i}").jntadr[0]]
        data.qpos[adr : adr + 3] = [bin_xy[0] + 0.02 * (i - 1), bin_xy[1], 0.03]


def test_config_gives_lerobot_the_dora_recorders_feature_names() -> None:
    cfg = config()
    assert cfg.type == "dora_sim" and isinstance(cfg, DoraSimEnvConfig)
    features = env_to_policy_features(cfg)
    assert features["observation.state"].shape == (6,)
    assert features["observation.images.front"].shape == (3, 24, 32)
    assert features["observation.images.wrist"].type is FeatureType.VISUAL
    assert features["action"].shape == (6,)


def test_unknown_task_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown task 'stack'; known tasks: pick-cube"):
        config(task="stack")


def test_vector_env_gives_observations_lerobot_preprocesses() -> None:
    vec = vector_env(2)
    obs, info = vec.reset(seed=[5, 6])
    assert obs["agent_pos"].shape == (2, 6) and obs["agent_pos"].dtype == np.float32
    assert (
        obs["pixels"]["front"].shape == (2, 24, 32, 3) and obs["pixels"]["front"].dtype == np.uint8
    )
    assert not info["is_success"].any()
    batch = preprocess_observation(obs)
    assert batch["observation.state"].shape == (2, 6)
    assert batch["observation.images.wrist"].shape == (2, 3, 24, 32)
    assert vec.call("task_description") == ("Pick up the cube and lift it",) * 2
    assert vec.call("_max_episode_steps") == (600, 600)  # 20 s at 30 fps, as the dora sim
    assert vec.unwrapped.metadata["render_fps"] == 30
    np.testing.assert_array_equal(vec.envs[1].render(), obs["pixels"]["front"][1])
    vec.close()


class CapturingNode(MockNode):
    """dora's MockNode, keeping what the sim node sends."""

    def __init__(self, inputs: list):
        super().__init__(inputs)
        self.sent: list[tuple[str, Any, dict]] = []

    def send_output(self, output_id, data, metadata=None):
        super().send_output(output_id, data, metadata)
        self.sent.append((output_id, data, dict(metadata or {})))


def dora_first_frames(seed: int, episodes: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The first (state, front image) of each episode of the dora sim node at ``SEED=seed``,
    driven by dora's MockNode: the dora graph's own glue, episode machine and Simulator."""
    env = DoraSimEnv(cameras={"front": SimCameraConfig(24, 32)})  # the same Simulator settings
    sim = env.sim
    node = CapturingNode([(c.TICK, pa.array([0]))] * (3 * episodes + 2))
    machine = EpisodeMachine(
        EpisodeConfig(num_episodes=episodes, episode_time_s=0.1, seed=seed), 30
    )
    serve(SimNode(node, sim, machine))
    frames: dict[int, list] = {}
    for output, data, md in node.sent:
        if md.get(c.MD_EPISODE_FRAME) == 0 and md.get(c.MD_PHASE) == c.PHASE_EPISODE:
            slot = frames.setdefault(md[c.MD_EPISODE], [None, None])
            if output == c.STATE:
                slot[0] = codec.decode_joints(data, output).copy()
            elif output == c.image_topic("front"):
                slot[1] = codec.decode_image(data, md).copy()
    env.close()
    return {k: (state, image) for k, (state, image) in frames.items()}


def test_seeded_resets_are_the_dora_sims_episodes() -> None:
    """lerobot-eval --seed=S seeds episode k with S+k; dataflow-eval.yaml SEED=S resets episode k
    with S+k: the same scene, the same first observation, to the bit."""
    dora = dora_first_frames(seed=1000, episodes=2)
    env = DoraSimEnv(cameras={"front": SimCameraConfig(24, 32)})
    for k, (state, image) in dora.items():
        obs, _ = env.reset(seed=1000 + k)
        np.testing.assert_array_equal(obs["agent_pos"], state)
        np.testing.assert_array_equal(obs["pixels"]["front"], image)
    assert not np.array_equal(dora[0][1], dora[1][1])  # two seeds, two scenes
    env.close()


def test_episode_ends_as_the_dora_sims_with_the_verdict_in_final_info() -> None:
    vec = vector_env(2, task="table-cleanup", episode_time_s=1.0, success_hold_s=0.2)
    obs, _ = vec.reset(seed=[0, 1])
    hold = obs["agent_pos"].copy()
    put_apples_in_the_bin(vec.envs[1].unwrapped)
    ends = []
    for step in range(1, 31):
        obs, reward, terminated, truncated, info = vec.step(hold)
        if "final_info" in info:
            ends.append((step, terminated.tolist(), truncated.tolist(), info))
    (first, term1, trunc1, info1), (last, _, trunc2, info2) = ends
    # env 1: success from its first step, held 0.2 s = 6 ticks -> terminated, verdict success
    assert first == 6 and term1 == [False, True] and not any(trunc1)
    assert info1["final_info"]["is_success"].tolist() == [False, True]
    assert info1["final_info"]["_is_success"].tolist() == [False, True]
    # env 0: the 1 s time limit, no success
    assert last == 30 and trunc2[0] and info2["final_info"]["is_success"][0] == np.False_
    assert reward[0] == 0.0
    vec.close()


def test_lerobot_eval_rollout_runs_on_it_and_stops_at_the_time_limit() -> None:
    cfg = config(episode_time_s=0.2)
    vec = make_env(cfg, n_envs=2)["dora_sim"][0]
    env_pre, env_post = cfg.get_env_processors()
    identity = PolicyProcessorPipeline(steps=[])
    to_action = PolicyProcessorPipeline(
        steps=[], to_transition=policy_action_to_transition, to_output=transition_to_policy_action
    )

    class Nudge(torch.nn.Module):
        """Moves shoulder_pan 5 degrees from the observed state."""

        def reset(self) -> None:
            pass

        def select_action(self, batch: dict) -> torch.Tensor:
            action = batch["observation.state"].clone()
            action[:, 0] += 5.0
            return action

    result = rollout(vec, Nudge(), env_pre, env_post, identity, to_action, seeds=[3, 4],
                     return_observations=True)  # fmt: skip
    assert result["action"].shape == (2, 6, 6) and result["done"][:, -1].all()
    assert not result["success"].any()
    states = result["observation"]["observation.state"]
    np.testing.assert_allclose(result["action"][:, :, 0], states[:, :-1, 0] + 5.0, atol=1e-4)
    vec.close()


def test_actions_must_be_finite() -> None:
    env = DoraSimEnv(cameras={})
    obs, _ = env.reset(seed=0)
    bad = obs["agent_pos"].copy()
    bad[2] = np.nan
    with pytest.raises(ValueError, match="finite"):
        env.step(bad)
    env.close()


def act(image_size: tuple[int, int], cameras=("front", "wrist")) -> ACTConfig:
    inputs = {"observation.state": PolicyFeature(type=FeatureType.STATE, shape=(6,))}
    for cam in cameras:
        inputs[f"observation.images.{cam}"] = PolicyFeature(FeatureType.VISUAL, (3, *image_size))
    outputs = {"action": PolicyFeature(type=FeatureType.ACTION, shape=(6,))}
    return ACTConfig(input_features=inputs, output_features=outputs, device="cpu")


def test_policy_that_fits_passes_and_one_that_does_not_says_which_cameras_would() -> None:
    check_policy_fits(config(), act((24, 32)))
    check_policy_fits(config(), act((24, 32), cameras=("front",)))  # extra env cameras are fine
    with pytest.raises(ValueError) as err:
        check_policy_fits(config(), act((64, 80)))
    message = str(err.value)
    assert "observation.images.front as 3x64x80 but this env gives 3x24x32" in message
    assert (
        "--env.cameras='{front: {height: 64, width: 80}, wrist: {height: 64, width: 80}}'"
        in message
    )
    with pytest.raises(ValueError, match=r"observation\.images\.top .* does not provide"):
        check_policy_fits(config(), act((24, 32), cameras=("top",)))


def test_envhub_make_env_through_lerobots_public_make_env(tmp_path, monkeypatch) -> None:
    """``env.py`` published as a Hub repository: huggingface_hub serves a pinned (or ``main``)
    snapshot from its cache without asking the Hub, so the file is put in a private cache where a
    download would have put it, and LeRobot's make_env loads it offline."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--local--dora-sim"
    (repo / "snapshots" / commit).mkdir(parents=True)
    shutil.copy(NODE / "env.py", repo / "snapshots" / commit / "env.py")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for hub_path in (f"local/dora-sim@{commit}", "local/dora-sim"):
        envs = make_env(hub_path, n_envs=2, hub_cache_dir=str(tmp_path), trust_remote_code=True)
        vec = envs["dora_sim"][0]
        obs, _ = vec.reset(seed=[7, 8])
        assert obs["agent_pos"].shape == (2, 6) and obs["pixels"]["front"].shape[1:] == (
            240,
            320,
            3,
        )
        vec.close()
