"""The two console scripts and the dataflow files, as a user meets them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dora_sim import contract as c
from dora_sim_leader.virtual import physical
from dora_sim_leader.virtual.motion import DatasetPlayback

BIN = Path(sys.executable).parent
DATAFLOWS = Path(__file__).resolve().parents[3] / "dataflows"


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_calibrate_on_a_missing_port_says_how_to_find_it() -> None:
    done = run_cli("dora-sim-leader", "calibrate", "--port", "/dev/ttyNOPE0", "--id", "x")
    assert done.returncode == 2
    assert "'/dev/ttyNOPE0' does not exist" in done.stdout
    assert "lerobot-find-port" in done.stdout


def test_bad_configuration_is_reported_before_touching_dora() -> None:
    done = run_cli("dora-sim-leader", env={"RATE_HZ": "fast"})
    assert done.returncode == 2 and "RATE_HZ='fast': expected a number" in done.stdout


def test_virtual_arm_cli_serves_and_writes_its_calibration(tmp_path: Path) -> None:
    link = tmp_path / "arm"
    proc = subprocess.Popen(
        [
            str(BIN / "dora-sim-virtual-arm"),
            "--link",
            str(link),
            "--write-calibration",
            "--corrupt-rate",
            "0.01",
            "--duration",
            "30",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "CALIBRATION_DIR": str(tmp_path)},
    )
    try:
        first = proc.stdout.readline()
        assert first.startswith("calibration of the virtual arm written to")
        assert "virtual SO-101 leader on /dev/" in proc.stdout.readline()
        assert link.is_symlink() and os.path.exists(link)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    saved = json.loads((tmp_path / "virtual_arm.json").read_text())
    assert saved == json.loads(physical.calibration_json())
    assert not link.exists()  # unplugged on exit


def test_virtual_arm_cli_rejects_a_dataset_motion_without_a_dataset() -> None:
    done = run_cli("dora-sim-virtual-arm", "--motion", "dataset", "--duration", "1")
    assert done.returncode == 2 and "--dataset" in done.stderr


def test_dataset_playback_plays_a_lerobot_datasets_actions(tmp_path: Path) -> None:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    features = {"action": {"dtype": "float32", "shape": (6,), "names": list(c.MOTOR_FEATURE_NAMES)}}
    dataset = LeRobotDataset.create(
        "local/playback", fps=10, features=features, root=tmp_path / "ds", use_videos=False
    )
    actions = np.linspace([-30, -20, -10, 10, 20, 0], [30, 20, 10, -10, -20, 100], 12)
    for episode in (actions[:5], actions[5:]):
        for action in episode:
            dataset.add_frame({"action": action.astype(np.float32), "task": "wave"})
        dataset.save_episode()
    dataset.finalize()
    playback = DatasetPlayback(tmp_path / "ds")
    assert playback.fps == 10
    np.testing.assert_allclose(playback.pose(0.55), actions[5], atol=1e-5)
    np.testing.assert_allclose(playback.pose(1.2 + 0.05), actions[0], atol=1e-5)  # loops
    only_second = DatasetPlayback(tmp_path / "ds", episode=1)
    np.testing.assert_allclose(only_second.pose(0.0), actions[5], atol=1e-5)


@pytest.mark.parametrize("name", ["dataflow-teleop.yaml", "dataflow-record.yaml"])
def test_leader_dataflows_validate(name: str) -> None:
    done = run_cli("dora", "validate", str(DATAFLOWS / name))
    assert done.returncode == 0, done.stdout + done.stderr
