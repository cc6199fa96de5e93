"""Shared helpers for cross-node tests: run a real `dora run` and read what the nodes printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATAFLOWS = REPO / "dataflows"


def dora_env(**overrides: str) -> dict[str, str]:
    """Environment for a headless, offline `dora run` using this venv's executables."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "MUJOCO_GL": "egl",
        "EGL_PLATFORM": "surfaceless",
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("DISPLAY", None)
    env.update(overrides)
    return env


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
