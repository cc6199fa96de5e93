"""dataflow-record-expert.yaml under a real ``dora run`` (MuJoCo sim, scripted expert, recorder).

A SIGKILL of the whole dataflow keeps every committed episode; resume continues the dataset;
Ctrl-C stops it well inside dora's grace period; and LeRobot's own tools take the result:
LeRobotDataset decodes every frame, lerobot-train trains a tiny ACT on it, the delete script
(LeRobot's dataset_tools) edits it.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import recorder_testkit as kit

from dora_sim.headless import headless_env

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]
RECORD_YAML = REPO / "dataflows" / "dataflow-record-expert.yaml"
FRAMES = 30  # EPISODE_TIME_S=1 at 30 Hz, no early end on success


def dora_env(root: Path, **extra: str) -> dict[str, str]:
    settings = {
        "IMAGE_HEIGHT": str(kit.HEIGHT),
        "IMAGE_WIDTH": str(kit.WIDTH),
        "EPISODE_TIME_S": "1",
        "END_ON_SUCCESS": "0",
        "VCODEC": "libsvtav1",
    }
    return headless_env(**kit.recorder_env(root, **{**settings, **extra}))


def dora_run(root: Path, log: Path, **extra: str) -> subprocess.Popen:
    """``dora run dataflows/dataflow-record-expert.yaml``, every setting from the environment.

    The file is copied next to the log: dora writes its run logs beside the dataflow file.
    """
    flow = log.parent / RECORD_YAML.name
    shutil.copyfile(RECORD_YAML, flow)
    return subprocess.Popen(
        [str(kit.VENV_BIN / "dora"), "run", str(flow)],
        cwd=log.parent,
        env=dora_env(root, **extra),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def committed(root: Path) -> int:
    try:
        return int(json.loads((root / "meta" / "info.json").read_text())["total_episodes"])
    except (FileNotFoundError, ValueError):
        return 0


def recorder_lines(log: Path) -> str:
    return "\n".join(line for line in log.read_text().splitlines() if "recorder:" in line)[-4000:]


def test_kill_resume_train_and_delete_with_lerobot_tools(tmp_path):
    root = tmp_path / "ds"
    # 1. record, and SIGKILL dora, its daemon and every node at once (a power cut, or worse)
    log = tmp_path / "first.log"
    process = dora_run(root, log, NUM_EPISODES="6")
    deadline = time.monotonic() + 240
    while committed(root) < 1:
        assert process.poll() is None, recorder_lines(log)
        assert time.monotonic() < deadline, recorder_lines(log)
        time.sleep(0.05)
    time.sleep(random.uniform(0.0, 1.0))
    tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    for proc in tree:
        proc.send_signal(signal.SIGKILL)
    process.wait()
    survivors = committed(root)
    kit.check_recorded(root, survivors, FRAMES)
    # 2. resume, then Ctrl-C mid-episode: the recorder finishes well inside dora's 10 s grace
    log = tmp_path / "resume.log"
    process = dora_run(root, log, NUM_EPISODES="0", RESUME_RECORDING="1")
    while committed(root) < survivors + 1:
        assert process.poll() is None, recorder_lines(log)
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    stopping = time.monotonic()
    process.wait(timeout=30)
    assert time.monotonic() - stopping < 8.0, recorder_lines(log)
    assert "exited with" not in log.read_text(), recorder_lines(log)  # no node was killed
    # every acknowledged frame is saved: only the episode in progress may be discarded
    assert "stop deadline passed" not in log.read_text(), recorder_lines(log)
    survivors = committed(root)
    kit.check_recorded(root, survivors, FRAMES)
    # 3. lerobot-train takes it as is (a tiny ACT, two CPU steps)
    train = subprocess.run(
        [
            str(kit.VENV_BIN / "lerobot-train"),
            f"--dataset.repo_id={kit.REPO_ID}",
            f"--dataset.root={root}",
            "--dataset.video_backend=pyav",
            "--policy.type=act",
            "--policy.device=cpu",
            "--policy.push_to_hub=false",
            "--policy.pretrained_backbone_weights=null",
            "--policy.dim_model=32",
            "--policy.n_heads=2",
            "--policy.dim_feedforward=64",
            "--policy.n_encoder_layers=1",
            "--policy.n_decoder_layers=1",
            "--policy.n_vae_encoder_layers=1",
            "--policy.chunk_size=5",
            "--policy.n_action_steps=5",
            "--batch_size=2",
            "--steps=2",
            "--num_workers=0",
            "--log_freq=1",
            "--save_freq=2",
            "--wandb.enable=false",
            f"--output_dir={tmp_path / 'train'}",
        ],
        env={**dora_env(root), "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert train.returncode == 0, (train.stdout + train.stderr)[-3000:]
    assert (tmp_path / "train" / "checkpoints" / "last" / "pretrained_model").is_dir()
    # 4. the delete script, from the command line
    delete = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "delete_episodes.py"),
            "--repo_id",
            kit.REPO_ID,
            "--root",
            str(root),
            "--episode_indices",
            "[0]",
        ],
        env=dora_env(root),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert delete.returncode == 0, delete.stderr[-3000:]
    kit.check_recorded(root, survivors - 1, FRAMES)


def test_a_recorder_at_a_third_of_the_rate_records_every_frame_and_the_sim_waits(tmp_path):
    """Credits: a writer that takes 0.1 s per frame (a third of 30 Hz) with a small buffer
    still records every frame; the simulator holds for it, and says so, instead of dropping."""
    root, log = tmp_path / "ds", tmp_path / "slow.log"
    episodes, seconds = 3, 1.5
    env = {
        "NUM_EPISODES": str(episodes),
        "EPISODE_TIME_S": str(seconds),
        "VCODEC": "h264",
        "RECORDER_FRAME_DELAY_S": "0.1",
        "RECORDER_BUFFER_MB": "1",  # ~30 frames of 2 x 64x80 images buffered ahead
    }
    process = dora_run(root, log, **env)
    assert process.wait(timeout=240) == 0, log.read_text()[-3000:]
    frames = int(seconds * 30)
    kit.check_recorded(root, episodes, frames)  # every frame, each decoded
    output = log.read_text()
    assert "holding frame" in output  # the sim waited for the recorder, and said so
    speeds = [float(s) for s in re.findall(r"\(([\d.]+)x real time\)", output)]
    assert len(speeds) == episodes and speeds[-1] < 0.5, speeds  # it slowed to the writer
