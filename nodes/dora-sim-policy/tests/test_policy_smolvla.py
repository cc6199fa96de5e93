"""SmolVLA in the graph, offline: a SmolVLA-architecture policy built locally (tiny SmolVLM config,
word-level tokenizer, random weights; see ``dora_sim_policy.offline``) runs closed loop,
its ``camera1..3`` slots filled with the graph's front and wrist cameras and the task string taken
from the simulator's episode events.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from policy_testkit import DATAFLOWS, SMALL, dora_env, dora_run, policy_summary

pytestmark = pytest.mark.slow

BUILD = """
import sys
from pathlib import Path
from dora_sim_policy.offline import build_smolvla
print(build_smolvla(Path(sys.argv[1]), "tiny", image_shape=(3, 64, 80)))
"""


def test_smolvla_runs_in_the_graph_with_camera_slots_and_the_task(tmp_path):
    command = [sys.executable, "-c", BUILD, str(tmp_path / "smolvla")]
    built = subprocess.run(command, env=dora_env(), capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    checkpoint = built.stdout.strip().splitlines()[-1]
    assert (
        json.loads((tmp_path / "smolvla" / "pretrained_model" / "config.json").read_text())["type"]
        == "smolvla"
    )

    env = {"NUM_EPISODES": "1", "EPISODE_TIME_S": "3", "EVAL_OUTPUT_DIR": "eval", **SMALL}
    result = dora_run(DATAFLOWS / "dataflow-eval.yaml", tmp_path, POLICY_PATH=checkpoint, **env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "(smolvla) on cpu" in output
    assert (
        "observation.images.front->observation.images.camera1, "
        "observation.images.wrist->observation.images.camera2; "
        "empty slots observation.images.camera3"
    ) in output
    summary = policy_summary(output)
    assert summary["inference_errors"] == 0 and summary["chunks"] >= 1
    assert summary["actions_sent"] > 0
    info = json.loads((tmp_path / "eval" / "eval_info.json").read_text())
    assert info["overall"]["n_episodes"] == 1
    assert info["per_task"][0]["task_group"] == "Pick up the cube and lift it"
