"""Lockstep vs realtime through the shipped eval graph (real dora, real MuJoCo, a real ACT).

The policy is a small ACT with random weights (built offline): it moves the arm, so any change of
timing shows in the trajectory, which the scorer hashes frame by frame (``state_sha256``). No
policy trainable on CPU in CI time succeeds at the task, so "a slow policy scores worse in
realtime" is asserted as what causes it: the arm's trajectory changes and frames go without a
fresh action, while in lockstep the trajectory is the same bit for bit.
"""

from __future__ import annotations

import json

import pytest
from policy_testkit import DATAFLOWS, SMALL, TINY_ACT, dora_run

from dora_sim_policy.offline import build_act

pytestmark = pytest.mark.slow
FPS = 30
EPISODES = 2
SLOW_S = f"{5 / FPS:.3f}"  # inference five ticks long


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return build_act(
        tmp_path_factory.mktemp("act") / "act", image_shape=(3, 64, 80), seed=3, **TINY_ACT
    )


def evaluate(checkpoint, cwd, **env) -> dict:
    settings = {
        "POLICY_PATH": str(checkpoint),
        "NUM_EPISODES": str(EPISODES),
        "EPISODE_TIME_S": "2",
        "SEED": "7",
        "EVAL_OUTPUT_DIR": "eval",
        **SMALL,
        **env,
    }
    result = dora_run(DATAFLOWS / "dataflow-eval.yaml", cwd, **settings)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    info = json.loads((cwd / "eval" / "eval_info.json").read_text())
    assert info["overall"]["n_episodes"] == EPISODES, output[-3000:]  # none lost
    return info


def trajectories(info: dict) -> list[tuple]:
    return [(e["seed"], e["length"], e["success"], e["state_sha256"]) for e in info["per_episode"]]


@pytest.fixture(scope="module")
def lockstep(checkpoint, tmp_path_factory):
    return evaluate(checkpoint, tmp_path_factory.mktemp("lockstep"))


def test_lockstep_gives_the_same_episodes_run_after_run(checkpoint, lockstep, tmp_path):
    again = evaluate(checkpoint, tmp_path)
    assert lockstep["dora_sim"]["eval_mode"] == again["dora_sim"]["eval_mode"] == "lockstep"
    assert trajectories(again) == trajectories(lockstep)
    assert [e["seed"] for e in again["per_episode"]] == [7, 8]
    assert all(e["length"] == 2 * FPS for e in again["per_episode"])
    # the two seeds are two different episodes (the hash does see the trajectory)
    assert len({e["state_sha256"] for e in again["per_episode"]}) == EPISODES


def test_a_policy_five_ticks_slow_scores_the_same_in_lockstep_and_not_in_realtime(
    checkpoint, lockstep, tmp_path_factory
):
    slow = evaluate(checkpoint, tmp_path_factory.mktemp("slow"), POLICY_DELAY_S=SLOW_S)
    assert trajectories(slow) == trajectories(lockstep)
    assert slow["dora_sim"]["policy_status"]["starved_frames"] == 0

    realtime = evaluate(
        checkpoint, tmp_path_factory.mktemp("realtime"), POLICY_DELAY_S=SLOW_S, EVAL_MODE="realtime"
    )
    assert realtime["dora_sim"]["eval_mode"] == "realtime"
    latency = realtime["dora_sim"]["policy_status"]
    assert latency["chunk_latency_ms_p50"] >= 1000 * float(SLOW_S)  # recorded for realtime
    assert latency["starved_frames"] > 0  # frames the arm held for want of an action
    seeds = [e["seed"] for e in realtime["per_episode"]]
    assert seeds == [e["seed"] for e in lockstep["per_episode"]]
    for fast, late in zip(lockstep["per_episode"], realtime["per_episode"], strict=True):
        assert fast["state_sha256"] != late["state_sha256"]
