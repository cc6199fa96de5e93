"""The command lines: the virtual follower a user starts, and the node's configuration errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dora_sim_leader.virtual import physical
from dora_sim_leader.virtual.roles import FOLLOWER, FOLLOWER_ROBOT_NAME

BIN = Path(sys.executable).parent


def test_virtual_follower_cli_serves_and_writes_its_calibration(tmp_path: Path) -> None:
    link = tmp_path / "follower"
    root = tmp_path / "calibration"
    proc = subprocess.Popen(
        [str(BIN / "dora-sim-virtual-arm"), "--follower", "--link", str(link),
         "--write-calibration", "--duration", "30"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_LEROBOT_CALIBRATION": str(root)},
    )  # fmt: skip
    try:
        assert proc.stdout.readline().startswith("calibration of the virtual arm written to")
        line = proc.stdout.readline()
        assert "virtual SO-101 follower on /dev/" in line
        hint = proc.stdout.readline()
        assert f"FOLLOWER_PORT={link} FOLLOWER_ID={FOLLOWER.calibration_id}" in hint
        assert link.is_symlink() and os.path.exists(link)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    saved = root / "robots" / FOLLOWER_ROBOT_NAME / f"{FOLLOWER.calibration_id}.json"
    assert json.loads(saved.read_text()) == json.loads(
        physical.calibration_json(physical.FOLLOWER_CALIBRATION)
    )
    assert not link.exists()  # unplugged on exit


def test_follower_node_refuses_a_bad_safety_limit_with_the_fix() -> None:
    done = subprocess.run(
        [str(BIN / "dora-sim-follower")],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "MAX_RELATIVE_TARGET": "fast",
            "FOLLOWER_CALIBRATION_DIR": "/nowhere",
        },
        timeout=60,
    )
    assert done.returncode == 2
    assert "MAX_RELATIVE_TARGET='fast': expected a positive number" in done.stdout
