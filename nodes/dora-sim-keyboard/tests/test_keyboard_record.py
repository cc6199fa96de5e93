"""Keyboard -> sim -> recorder end to end (Xvfb + xdotool): the keys shape the LeRobot dataset."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from keyboard_testkit import (
    SIM_ENV,
    DoraRun,
    Probe,
    dataflow_yaml,
    dora_env,
    drive_to,
    need,
    set_key,
    xdotool,
    xvfb,
)

pytestmark = [pytest.mark.slow, pytest.mark.display]

REPO_ID = "test/keyboard"
CUBE_X = 0  # observation.environment_state = the scene: the cube's pose (the only object)


def push_the_cube(display: str, probe: Probe) -> None:
    """Beyond the cube, down to its height, then towards the base (↑) through it."""
    cube = probe.cube()
    for axis, target in ((1, cube[1]), (0, cube[0] + 0.06), (2, 0.02), (1, cube[1])):
        drive_to(display, probe, axis, target)
    set_key(display, "Up", down=True)
    time.sleep(1.2)
    set_key(display, "Up", down=False)
    time.sleep(0.3)


def test_keys_record_a_dataset_where_the_cube_moved_without_the_rerecorded_episode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    need("dora-sim-recorder")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    root = tmp_path / "dataset"
    # No camera: rendering and video encoding would only slow a 2-core CI machine down. A reset
    # phase after each episode lets Esc end the session while no episode is in progress.
    sim_env = {**SIM_ENV, "RESET_TIME_S": 3}
    flow = tmp_path / "flow.yaml"
    flow.write_text(
        dataflow_yaml(sim_env, {}, recorder=True, probed=("scene", "ee_state", "episode"))
    )
    probe = Probe(tmp_path / "probe.jsonl")
    env = dora_env(
        PROBE_OUT=str(probe.path),
        DATASET_ROOT=str(root),
        REPO_ID=REPO_ID,
        NUM_EPISODES="0",
        VCODEC="h264",
        EXTRA_INPUTS="observation.environment_state=scene",
        HF_LEROBOT_HOME=str(tmp_path / "hf-lerobot"),
        HF_DATASETS_CACHE=str(tmp_path / "hf-datasets-cache"),
    )
    with xvfb() as display:
        run = DoraRun(flow, tmp_path, {**env, "DISPLAY": display})
        try:
            probe.wait_for(Probe.running, 180, "the simulator to run")
            # The sim holds once 3 s are buffered until the recorder has loaded LeRobot (it
            # then says "ready"): an operator starts once the sim moves again.
            probe.wait_for(lambda _: "[dora-sim-recorder] ready:" in run.log(), 180, "LeRobot")
            start_cube = probe.cube()
            push_the_cube(display, probe)
            assert np.linalg.norm(np.subtract(probe.cube(), start_cube)[:2]) > 0.01
            xdotool(display, "key", "space")  # keep it
            probe.wait_for(lambda p: p.episodes_started() == 2, 30, "the second episode")
            xdotool(display, "key", "Control_L")  # discard it
            probe.wait_for(lambda p: len(p.ends()) == 2, 30, "the re-record")
            xdotool(display, "key", "Escape")  # in the reset phase: no episode in progress
            assert run.wait(120) == 0, run.tail()
        finally:
            run.close()
    lost = [line for line in run.log().splitlines() if "discarded: frames missing" in line]
    assert not lost, f"the recorder lost frames (not a keyboard fault): {lost}"
    ends = [line for line in probe.lines("episode") if line["event"] == "end"]
    assert [end["reason"] for end in ends] == ["finish", "rerecord"]

    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset(REPO_ID, root=root, video_backend="pyav")
    assert dataset.meta.total_episodes == 1  # the re-recorded attempt is not in the dataset
    assert [int(ep["length"]) for ep in dataset.meta.episodes] == [ends[0]["num_frames"]]
    scene = np.stack(dataset.hf_dataset["observation.environment_state"])
    moved = np.linalg.norm(scene[-1, CUBE_X : CUBE_X + 2] - scene[0, CUBE_X : CUBE_X + 2])
    assert moved > 0.01, moved
