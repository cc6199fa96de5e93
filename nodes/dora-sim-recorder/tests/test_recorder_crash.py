"""SIGKILL of the recorder at random instants and inside a commit: the dataset on disk loads with
exactly the episodes committed before the kill, and resuming completes it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import recorder_testkit as kit

pytestmark = pytest.mark.slow
RUNNER = Path(__file__).parent / "recorder_runner.py"
FRAMES = 12


def start(root: Path, episodes: int, **env: str) -> subprocess.Popen:
    environment = {**os.environ, **kit.recorder_env(root, **env)}
    environment["PYTHONPATH"] = f"{RUNNER.parent}:{environment.get('PYTHONPATH', '')}"
    return subprocess.Popen(
        [sys.executable, str(RUNNER), str(episodes), str(FRAMES), "60"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def committed(root: Path) -> int:
    try:
        return int(json.loads((root / "meta" / "info.json").read_text())["total_episodes"])
    except (FileNotFoundError, ValueError):
        return 0


def wait_for(condition, process: subprocess.Popen, timeout: float = 120.0, poll: float = 0.01):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.stdout.read()[-3000:]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(poll)


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_kills_mid_recording_and_inside_a_commit_lose_only_uncommitted_work(tmp_path):
    root = tmp_path / "ds"
    manifest = tmp_path / ".ds.recorder" / "commit.json"
    seed = int(os.environ.get("RECORDER_CRASH_SEED", time.time_ns() % 1000))
    print(f"RECORDER_CRASH_SEED={seed}")
    # 1. a kill at a random instant: mid-episode, mid-save or mid-commit
    process = start(root, 8)
    wait_for(lambda: committed(root) >= 1, process)
    time.sleep(random.Random(seed).uniform(0.0, 1.0))
    kill(process)
    survivors = committed(root)
    kit.check_dataset(root, [FRAMES] * survivors)
    # 2. resume, and kill again the moment a commit starts
    process = start(root, 8, RESUME_RECORDING="1", NUM_EPISODES="0")
    wait_for(lambda: committed(root) >= survivors + 1, process)
    survivors = committed(root)
    wait_for(manifest.exists, process, poll=0.0005)
    kill(process)
    inside = manifest.exists()
    print(f"killed inside a commit: {inside}")
    kit.check_dataset(root, [FRAMES] * committed(root))  # as it stood before that commit
    # 3. resume completes an interrupted commit first, then records up to NUM_EPISODES
    target = committed(root) + 2
    process = start(root, target + 2, RESUME_RECORDING="1", NUM_EPISODES=str(target))
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output[-3000:]
    assert ("completed an interrupted save" in output) == inside
    kit.check_dataset(root, [FRAMES] * target)
