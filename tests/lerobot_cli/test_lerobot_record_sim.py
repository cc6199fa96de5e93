"""``lerobot-record --robot.type=dora_sim_so101 --teleop.type=so101_leader``, unchanged LeRobot,
against the virtual leader arm: the dataset, its clock, its episodes, and bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from .kit import EPISODE_S, HEIGHT, WIDTH, Home, Recording, record_args, run_cli

pytestmark = pytest.mark.slow

EPISODE_LINE = re.compile(r"episode (\d+) \(seed (\d+)\) ended: .*; (\d+) frames = ")


def load(root: Path):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    return LeRobotDataset("local/sim_pick", root=root, video_backend="pyav")


def test_lerobot_record_records_two_episodes_on_the_sim(recording: Recording) -> None:
    assert recording.returncode == 0, recording.output[-3000:]
    dataset = load(recording.root)
    assert dataset.num_episodes == 2 and dataset.fps == 30
    assert dataset.meta.robot_type == "so101_follower"
    # the loop ran ~EPISODE_S of wall time per episode; on 2 shared cores it may run below 30 Hz
    lengths = np.bincount(np.asarray(dataset.hf_dataset["episode_index"]))
    assert all(0.5 * EPISODE_S * 30 <= n <= EPISODE_S * 30 + 1 for n in lengths), lengths


def test_recorded_features_are_a_real_so101_followers(recording: Recording, tmp_path) -> None:
    from lerobot.robots.so_follower import SO101Follower, SO101FollowerConfig

    real = SO101Follower(SO101FollowerConfig(port="/dev/null", calibration_dir=tmp_path))
    features = load(recording.root).features
    assert features["observation.state"]["names"] == list(real.action_features)
    assert features["action"]["names"] == list(real.action_features)
    for camera in ("front", "wrist"):
        assert features[f"observation.images.{camera}"]["shape"] == (HEIGHT, WIDTH, 3)
    assert "observation.success" not in features  # shown live in Rerun, not recorded


def test_timestamps_are_sim_time_one_tick_per_frame(recording: Recording) -> None:
    """Frame i is stamped i/fps by LeRobot; the sim advanced exactly 1/fps per frame (the robot
    counted one get_observation/send_action pair per dataset frame), so the stamps are true."""
    dataset = load(recording.root)
    timestamps = np.asarray(dataset.hf_dataset["timestamp"])
    frames = np.asarray(dataset.hf_dataset["frame_index"])
    np.testing.assert_allclose(timestamps, frames / dataset.fps, atol=1e-5)
    lengths = np.bincount(np.asarray(dataset.hf_dataset["episode_index"])).tolist()
    logged = {int(i): int(n) for i, _, n in EPISODE_LINE.findall(recording.output)}
    assert logged == dict(enumerate(lengths)), recording.output[-2000:]


def test_each_episode_is_reset_with_seed_plus_its_index(recording: Recording) -> None:
    seeds = {int(i): int(seed) for i, seed, _ in EPISODE_LINE.findall(recording.output)}
    assert seeds == {0: 0, 1: 1}
    dataset = load(recording.root)
    starts = np.asarray(dataset.meta.episodes["dataset_from_index"])
    first = [dataset[int(i)]["observation.images.front"].numpy() for i in starts]
    assert np.abs(first[0] - first[1]).max() > 0.2  # another scene (and arm pose)


def failed_without_a_dataset(done, root: Path) -> str:
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-2000:]
    assert not root.exists(), "a dataset folder was left behind"
    return output


def test_unknown_task_fails_before_any_dataset_is_written(home: Home, leader_arm: Path) -> None:
    root = home.root / "datasets" / "bad_task"
    done = run_cli(home, "lerobot-record", *record_args(leader_arm, root, "--robot.task=stack"))
    output = failed_without_a_dataset(done, root)
    assert "unknown task 'stack'; known tasks: pick-cube, table-cleanup" in output


def test_missing_leader_port_fails_clearly_and_records_nothing(home: Home) -> None:
    """LeRobot creates the dataset before it connects the teleoperator, so its empty skeleton
    (meta/info.json, no episode) is LeRobot's to leave; no frame, no episode is written."""
    root = home.root / "datasets" / "no_leader"
    done = run_cli(home, "lerobot-record", *record_args(home.root / "no_such_port", root))
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "no_such_port" in output and "lerobot-find-port" in output, output[-2000:]
    assert not (root / "data").exists() and not (root / "videos").exists()
    assert json.loads((root / "meta" / "info.json").read_text())["total_episodes"] == 0
