"""Every shipped dataflow validates, and the main job runs end to end under real `dora run`."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from conftest import DATAFLOWS, dora_env

EPISODE_LINE = re.compile(
    r"\[dora-sim\] episode (\d+)/(\d+) (\S+): (SUCCESS|failure) \((\w+)\), (\d+) frames, "
    r"sim ([\d.]+) s / wall ([\d.]+) s"
)


@pytest.mark.parametrize("descriptor", sorted(DATAFLOWS.glob("*.yaml")), ids=lambda p: p.name)
def test_dataflow_validates(descriptor):
    result = subprocess.run(
        ["dora", "validate", str(descriptor)], env=dora_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_demo_runs_headless_records_and_exits_by_itself(run_dataflow, tmp_path):
    root = tmp_path / "demo-dataset"
    result = run_dataflow(
        DATAFLOWS / "dataflow-demo.yaml", NUM_EPISODES="2", DATASET_ROOT=str(root)
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["total_episodes"] == 2 and info["robot_type"] == "so101_follower"
    assert str(root) in output  # the recorder says where the dataset is
    episodes = EPISODE_LINE.findall(output)
    assert [e[:3] for e in episodes] == [("1", "2", "pick-cube"), ("2", "2", "pick-cube")]
    assert all(e[3] == "SUCCESS" for e in episodes), episodes
    for *_, frames, sim_s, _wall in episodes:
        assert float(sim_s) == pytest.approx(int(frames) / 30, abs=0.01)  # sim time is exact


@pytest.mark.slow
def test_demo_task_and_episode_count_come_from_the_environment(run_dataflow, tmp_path):
    result = run_dataflow(
        DATAFLOWS / "dataflow-demo.yaml",
        NUM_EPISODES="1",
        TASK="table-cleanup",
        SEED="3",
        DATASET_ROOT=str(tmp_path / "cleanup"),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    episodes = EPISODE_LINE.findall(output)
    assert len(episodes) == 1 and episodes[0][2] == "table-cleanup" and episodes[0][3] == "SUCCESS"
