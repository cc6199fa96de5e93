"""``lerobot-eval --env.type=dora_sim`` with a tiny ACT that lerobot-train trained on a
lerobot-record dataset of the sim, and the same policy and seeds in ``dataflow-eval.yaml``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .kit import BIN, CAMERAS, EVAL_SEED, HEIGHT, REPO, WIDTH, EvalRun, Home, lerobot_eval

pytestmark = pytest.mark.slow

EPISODES = 2
EPISODE_S = 2


def test_lerobot_eval_writes_eval_info_for_every_episode(lerobot_eval_run: EvalRun) -> None:
    assert lerobot_eval_run.returncode == 0, lerobot_eval_run.output[-3000:]
    info = json.loads((lerobot_eval_run.output_dir / "eval_info.json").read_text())
    overall = info["overall"]
    assert overall["n_episodes"] == EPISODES and 0.0 <= overall["pc_success"] <= 100.0
    (task,) = info["per_task"]
    assert task["task_group"] == "dora_sim" and len(task["metrics"]["successes"]) == EPISODES
    for video in overall["video_paths"]:
        assert Path(video).stat().st_size > 0


def test_a_policy_trained_on_other_camera_sizes_is_refused_before_a_step(
    home: Home, tiny_act: Path
) -> None:
    out = home.root / "eval" / "wrong_size"
    wrong = "--env.cameras={front: {height: 48, width: 64}, wrist: {height: 48, width: 64}}"
    done = lerobot_eval(home, tiny_act, out, wrong)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    problem = "observation.images.front as 3x64x80 but this env gives 3x48x64"
    assert problem in output, output[-2000:]
    assert f"--env.cameras='{CAMERAS}'" in output  # what the policy was trained on
    assert not (out / "eval_info.json").exists()


def dora_eval(home: Home, policy: Path) -> dict:
    """The same policy, seeds, episode length and cameras through dataflow-eval.yaml."""
    out = home.root / "eval" / "dora"
    done = subprocess.run(
        [str(BIN / "dora"), "run", str(REPO / "dataflows" / "dataflow-eval.yaml")],
        cwd=home.root,
        env=home.env(
            POLICY_PATH=str(policy),
            POLICY_DEVICE="cpu",
            NUM_EPISODES=str(EPISODES),
            EPISODE_TIME_S=str(EPISODE_S),
            SEED=str(EVAL_SEED),
            IMAGE_HEIGHT=str(HEIGHT),
            IMAGE_WIDTH=str(WIDTH),
            EVAL_OUTPUT_DIR=str(out),
        ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return json.loads((out / "eval_info.json").read_text())


def test_dora_eval_graph_and_lerobot_eval_score_the_same_seeds(
    home: Home, tiny_act: Path, lerobot_eval_run: EvalRun
) -> None:
    """Both evaluate episodes seeded 1000 and 1001 with the same scene (bit-equal first frames:
    tests of lerobot_env_dora_sim), and both step in lockstep (dataflow-eval.yaml's default
    EVAL_MODE): each frame's action is computed from that frame's observation, so per-episode
    success must agree. (The tiny policy fails every episode, so this catches a pipeline that
    scores differently, not trajectories that part.) Written to ``eval/comparison.json``."""
    assert lerobot_eval_run.returncode == 0, lerobot_eval_run.output[-3000:]
    lerobot = json.loads((lerobot_eval_run.output_dir / "eval_info.json").read_text())
    dora = dora_eval(home, tiny_act)
    lerobot_metrics = lerobot["per_task"][0]["metrics"]
    dora_episodes = dora["per_episode"]
    assert [episode["seed"] for episode in dora_episodes] == [
        EVAL_SEED + k for k in range(EPISODES)
    ]
    assert len(lerobot_metrics["successes"]) == len(dora_episodes) == EPISODES
    comparison = {
        "seeds": [episode["seed"] for episode in dora_episodes],
        "success": {
            "lerobot_eval": lerobot_metrics["successes"],
            "dora_eval": [episode["success"] for episode in dora_episodes],
        },
        "sum_reward": {
            "lerobot_eval": lerobot_metrics["sum_rewards"],
            "dora_eval": [episode["sum_reward"] for episode in dora_episodes],
        },
    }
    same = sum(
        a == b for a, b in zip(*comparison["success"].values(), strict=True)
    )  # fmt: skip
    comparison["same_success"] = f"{same}/{EPISODES}"
    (home.root / "eval" / "comparison.json").write_text(json.dumps(comparison, indent=2))
    print("dora eval graph vs lerobot-eval:", json.dumps(comparison))
    assert comparison["success"]["lerobot_eval"] == comparison["success"]["dora_eval"], comparison
