"""Shared helpers for cross-node tests: run a real `dora run` and read what the nodes printed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dora_sim.headless import headless_env

REPO = Path(__file__).resolve().parents[1]
DATAFLOWS = REPO / "dataflows"


dora_env = headless_env


def dora_run(
    descriptor: Path, cwd: Path, timeout: float = 300, args: tuple[str, ...] = (), **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["dora", "run", str(descriptor), *args],
        cwd=cwd,
        env=dora_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def run_dataflow(tmp_path):
    """Run a dataflow YAML with `dora run` from a scratch directory; returns CompletedProcess."""

    def run(descriptor: Path, timeout: float = 300, **env: str):
        return dora_run(descriptor, tmp_path, timeout=timeout, **env)

    return run
