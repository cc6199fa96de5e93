"""The README's main command prints a console a person can read: progress, no warnings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dora_sim.console import render
from dora_sim.headless import headless_env

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def entry(level: str, message: str, target: str = "", node: str = "sim") -> dict:
    return {"level": level, "message": message, "target": target, "node_id": node}


def test_expected_dora_warnings_are_hidden_and_real_problems_shown():
    scheduler = "dora_node_api::event_stream::scheduler"
    hidden = [
        entry("WARN", "Discarding event for input `tick` due to queue size limit", scheduler),
        entry(
            "WARN",
            "output `x`: 259528 B -> zenoh direct path (dora-rs/dora#2742 diagnostic)",
            "dora_node_api::node",
        ),
        entry("DEBUG", "spawning node", "daemon::spawner"),
        entry("INFO", "node is ready", "daemon"),
    ]
    assert all(render(e) is None for e in hidden)
    shown = [
        entry("STDOUT", "[dora-sim] episode 1/2 pick-cube: SUCCESS"),
        entry("ERROR", "node sim failed: exited with code 1", "daemon"),
        entry("WARN", "Backpressure input `x` hit hard cap (100)", scheduler),
        entry("INFO", "all nodes are ready, starting dataflow", "daemon", node=None),
    ]
    assert [render(e) is not None for e in shown] == [True] * len(shown)
    assert render(shown[1]).startswith("sim") and "ERROR" in render(shown[1])


@pytest.mark.slow
def test_the_demo_console_has_progress_and_no_warning(tmp_path):
    result = subprocess.run(
        [str(BIN / "dora-sim"), "run", str(REPO / "dataflows" / "dataflow-demo.yaml")],
        cwd=tmp_path,
        env=headless_env(NUM_EPISODES="1", DATASET_ROOT=str(tmp_path / "ds"), PWD=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert any("episode 1/1 pick-cube" in line for line in lines)
    assert any("saved episode 0" in line for line in lines)
    noisy = [line for line in lines if "WARN" in line or "ERROR" in line]
    assert not noisy, noisy
    assert "full log in" in lines[-1]
