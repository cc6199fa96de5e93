"""The policy node's inference path in process: LeRobot policies built offline, loaded back with
their saved processors, fed contract observations."""

from __future__ import annotations

import numpy as np
import pytest
from policy_testkit import TINY_ACT

from dora_sim import contract as c
from dora_sim.codec import FrameStamp
from dora_sim_policy.assembler import Observation
from dora_sim_policy.engine import ChunkPredictor, load_policy, policy_features
from dora_sim_policy.offline import build_act, build_diffusion

FRONT, WRIST = c.image_topic("front"), c.image_topic("wrist")


def observation(frame: int, height: int, width: int, cameras=(FRONT, WRIST)) -> Observation:
    rng = np.random.default_rng(frame)
    images = {k: rng.integers(0, 255, (height, width, 3), np.uint8) for k in cameras}
    stamp = FrameStamp(frame, 0, frame, frame / 30, c.PHASE_EPISODE)
    return Observation(stamp, np.full(c.NUM_JOINTS, frame, np.float32), images)


def predictor_for(checkpoint, cameras=(FRONT, WRIST)) -> ChunkPredictor:
    loaded = load_policy(str(checkpoint), "cpu")
    return ChunkPredictor(loaded, policy_features(loaded, list(cameras), {}))


def test_act_chunk_from_contract_observations_resized_to_the_policy(tmp_path, caplog):
    checkpoint = build_act(tmp_path, image_shape=(3, 48, 64), **TINY_ACT)
    predictor = predictor_for(checkpoint)
    assert predictor.chunk_len == 10 and predictor.history == 1
    chunk = predictor.predict([observation(0, 96, 128)], "Pick up the cube")  # 2x the policy's
    assert chunk.shape == (10, c.NUM_JOINTS) and chunk.dtype == np.float32
    assert np.all(np.isfinite(chunk))
    assert "resizing observation.images.front from 128x96 to the policy's 64x48" in caplog.text


def test_diffusion_gets_its_observation_history(tmp_path):
    """Diffusion's predict_action_chunk reads queues that select_action fills: we fill them."""
    checkpoint = build_diffusion(
        tmp_path, ("front",), (3, 48, 64), down_dims=(16, 32), crop_shape=(40, 56),
        num_inference_steps=2, horizon=16, n_obs_steps=2, n_action_steps=8,
        spatial_softmax_num_keypoints=4, diffusion_step_embed_dim=16,
    )  # fmt: skip
    predictor = predictor_for(checkpoint, (FRONT,))
    assert predictor.history == 2 and predictor.chunk_len == 8
    history = [observation(i, 48, 64, (FRONT,)) for i in range(2)]
    chunk = predictor.predict(history, "")
    assert chunk.shape == (8, c.NUM_JOINTS) and np.all(np.isfinite(chunk))
    older, newer = predictor.loaded.policy._queues[c.STATE]  # both observations went in
    assert float(older[0, 0]) < float(newer[0, 0])  # state 0 then state 1 (normalised)


@pytest.mark.parametrize("device", ["auto", "cpu"])
def test_device_auto_picks_what_torch_sees(device):
    import torch

    from dora_sim_policy.engine import pick_device

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device(device) == (expected if device == "auto" else "cpu")
