"""Record → train → eval, closed loop on CPU, through the shipped dataflows and LeRobot's own CLI.

The expert records two short episodes with ``dataflow-record-expert.yaml``; a tiny ACT
(``configs/train_act_tiny_cpu.json``) and a tiny Diffusion policy
(``configs/train_diffusion_tiny_cpu.json``) train on them for a few steps with ``lerobot-train``;
``dataflow-eval.yaml`` runs each (in lockstep, its default): the eval writes ``eval_info.json``;
a policy slower than a frame still drives the arm every frame (realtime: the sim does not wait,
chunks overlap; lockstep: the sim waits for each frame's action); a policy whose camera is not
wired stops the graph at start.
"""

from __future__ import annotations

import json
import math

import pytest
from lerobot import __version__ as LEROBOT_VERSION
from policy_testkit import (
    DATAFLOWS,
    SMALL,
    dora_run,
    eval_graph_without,
    policy_summary,
    record_dataset,
    train,
)

pytestmark = pytest.mark.slow
FPS = 30


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = record_dataset(tmp_path_factory.mktemp("record") / "dataset")
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["total_episodes"] == 2, info  # none lost: the recorder holds the sim (credits)
    assert {"observation.images.front", "observation.images.wrist"} <= set(info["features"])
    return root


@pytest.fixture(scope="module")
def act_checkpoint(dataset, tmp_path_factory):
    return train("train_act_tiny_cpu.json", dataset, tmp_path_factory.mktemp("act") / "train")


@pytest.fixture(scope="module")
def diffusion_checkpoint(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("diffusion") / "train"
    return train("train_diffusion_tiny_cpu.json", dataset, out)


def run_eval(checkpoint, cwd, **env):
    env = {"POLICY_PATH": str(checkpoint), "NUM_EPISODES": "2", "EPISODE_TIME_S": "3", **env}
    result = dora_run(DATAFLOWS / "dataflow-eval.yaml", cwd, **SMALL, **env)
    return result, result.stdout + result.stderr


@pytest.mark.parametrize("policy", ["act", "diffusion"])
def test_a_trained_policy_runs_in_the_eval_graph_and_eval_info_has_lerobot_evals_shape(
    policy, request, tmp_path
):
    checkpoint = request.getfixturevalue(f"{policy}_checkpoint")
    result, output = run_eval(
        checkpoint, tmp_path, SEED="1000", EVAL_OUTPUT_DIR="eval", EVAL_VIDEOS="1"
    )
    assert result.returncode == 0, output[-4000:]
    assert f"({policy}) on cpu" in output  # the start-up line
    assert f"loads as saved in LeRobot {LEROBOT_VERSION}" in output
    info = json.loads((tmp_path / "eval" / "eval_info.json").read_text())  # relative to the shell
    assert info["overall"]["n_episodes"] == info["aggregated"]["n_episodes"] == 2
    assert 0.0 <= info["overall"]["pc_success"] <= 100.0
    episodes = info["per_episode"]
    assert [e["seed"] for e in episodes] == [1000, 1001]
    for episode in episodes:
        # every reward counted (the scorer is a lossless consumer: contract credits)
        assert episode["frames_scored"] == episode["length"] == 3 * FPS, (episodes, output[-3000:])
        assert episode["reason"] == "time_limit" or episode["success"]
    assert len(info["per_task"][0]["metrics"]["successes"]) == 2
    assert (tmp_path / "eval" / "videos" / "eval_episode_0.mp4").stat().st_size > 0
    assert info["dora_sim"]["sim_status"]["frame"] > 0
    summary = policy_summary(output)
    assert summary["device"] == "cpu" and summary["inference_errors"] == 0
    assert summary["actions_sent"] > 0.8 * summary["frames"]


def test_a_policy_slower_than_a_frame_still_drives_every_frame(act_checkpoint, tmp_path):
    """Realtime: each inference takes 6+ frames (0.2 s delay), the sim does not wait, the chunks
    overlap.

    The tiny ACT plays 40-action chunks, enough for inference of up to 18 frames back to back.
    """
    result, output = run_eval(
        act_checkpoint, tmp_path, POLICY_DELAY_S="0.2", EPISODE_TIME_S="4", EVAL_MODE="realtime"
    )
    assert result.returncode == 0, output[-4000:]
    summary = policy_summary(output)
    # The sim advanced several frames during every inference: it never waited on the policy...
    assert summary["chunk_latency_frames_max"] >= 5, summary
    assert summary["chunk_latency_ms_p50"] >= 200, summary
    # ...and yet every frame after each episode's first chunk got a fresh action.
    # (a few frames of slack for a latency spike on a shared machine)
    assert summary["starved_frames"] - summary["first_chunk_frames"] <= 5, summary
    # Realtime keeps only the newest observation (queue_size 1): on a loaded machine the node may
    # find one already replaced when it reads (CI: 238 of 240). The sim never waited either way.
    assert summary["frames"] >= 0.97 * 2 * 4 * FPS, output[-3000:]
    assert summary["control_hz_held"] >= 0.85 * FPS, summary


def test_in_lockstep_a_policy_slower_than_a_frame_acts_on_every_frame(act_checkpoint, tmp_path):
    """The eval graph's default: the sim waits for each frame's action, so every observation the
    policy sees gets exactly one action of its own, however slow the inference (0.2 s here)."""
    result, output = run_eval(act_checkpoint, tmp_path, POLICY_DELAY_S="0.2", EPISODE_TIME_S="2")
    assert result.returncode == 0, output[-4000:]
    summary = policy_summary(output)
    assert summary["frames"] == summary["actions_sent"] == 2 * 2 * FPS, summary
    assert summary["chunk_latency_ms_p50"] >= 200, summary  # the sim waited for each chunk
    assert summary["chunks"] >= 2 * math.ceil(2 * FPS / 40), summary  # one per 40 frames


def test_a_camera_the_graph_does_not_provide_stops_the_graph_at_start(act_checkpoint, tmp_path):
    graph = eval_graph_without(tmp_path, "observation.images.wrist")
    result = dora_run(graph, tmp_path, POLICY_PATH=str(act_checkpoint), **SMALL)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "observation.images.wrist have no source" in output, output[-4000:]
    assert "policy expects: observation.state [6], observation.images.front [3, 64, 80]" in output
    assert "graph provides: observation.state [6], observation.images.front (image)" in output
    assert "[dora-sim] episode" not in output  # the sim never started an episode
