"""LeRobot's own CLIs (lerobot-record, lerobot-teleoperate, lerobot-train, lerobot-eval) on the
simulated SO-101, headless and offline, against the virtual leader arm (``dora-sim-virtual-arm``,
LeRobot's real Feetech bus code on a pseudo-terminal).

The session fixtures chain the way a user would: record a small dataset with lerobot-record,
train a tiny ACT on it with lerobot-train, evaluate it with lerobot-eval.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .kit import BIN, LEADER_ID, REPO, EvalRun, Home, Recording, lerobot_eval, record_args, run_cli


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    return Home(tmp_path_factory.mktemp("lerobot_cli"))


@pytest.fixture(scope="session")
def leader_arm(home: Home) -> Iterator[Path]:
    """``dora-sim-virtual-arm`` (its wave motion) on a pty, its calibration saved as LeRobot's
    ``virtual_arm`` leader; yields the port to pass as ``--teleop.port``."""
    link = home.root / "leader_arm"
    calibration = home.calibration / "teleoperators" / "so_leader"
    arm = subprocess.Popen(
        [str(BIN / "dora-sim-virtual-arm"), "--link", str(link), "--write-calibration"],
        env=home.env(CALIBRATION_DIR=str(calibration)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not (link.exists() and (calibration / f"{LEADER_ID}.json").exists()):
            assert arm.poll() is None, "dora-sim-virtual-arm exited"
            assert time.monotonic() < deadline, "the virtual arm did not come up"
            time.sleep(0.1)
        yield link
    finally:
        arm.terminate()
        arm.wait(timeout=10)


@pytest.fixture(scope="session")
def recording(home: Home, leader_arm: Path) -> Recording:
    root = home.root / "datasets" / "sim_pick"
    done = run_cli(home, "lerobot-record", *record_args(leader_arm, root), timeout=300)
    return Recording(root, done.returncode, done.stdout + done.stderr)


@pytest.fixture(scope="session")
def tiny_act(home: Home, recording: Recording) -> Path:
    """A tiny ACT trained for 10 steps by lerobot-train on the lerobot-record dataset."""
    assert recording.returncode == 0, recording.output[-3000:]
    out = home.root / "train" / "act_tiny"
    done = run_cli(
        home,
        "lerobot-train",
        f"--config_path={REPO / 'configs' / 'train_act_tiny_cpu.json'}",
        "--dataset.repo_id=local/sim_pick",
        f"--dataset.root={recording.root}",
        f"--output_dir={out}",
        "--steps=10",
        "--save_freq=10",
        timeout=600,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    checkpoint = out / "checkpoints" / "last" / "pretrained_model"
    assert (checkpoint / "model.safetensors").is_file()
    return checkpoint


@pytest.fixture(scope="session")
def lerobot_eval_run(home: Home, tiny_act: Path) -> EvalRun:
    out = home.root / "eval" / "lerobot"
    done = lerobot_eval(home, tiny_act, out, "--eval.batch_size=2")
    return EvalRun(out, done.returncode, done.stdout + done.stderr)
