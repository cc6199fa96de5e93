"""The Isaac dataflows are the MuJoCo ones with only the sim node swapped."""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml
from conftest import DATAFLOWS

LAUNCHER = "../nodes/dora-sim-isaac/dora-sim-isaac.sh"


@pytest.mark.parametrize("job", ["record", "record-expert", "eval"])
def test_isaac_dataflow_differs_only_in_the_sim_path(job):
    mujoco = yaml.safe_load((DATAFLOWS / f"dataflow-{job}.yaml").read_text())
    isaac = yaml.safe_load((DATAFLOWS / f"dataflow-{job}-isaac.yaml").read_text())
    (sim,) = [node for node in isaac["nodes"] if node["id"] == "sim"]
    assert sim["path"] == LAUNCHER
    sim["path"] = "dora-sim-mujoco"
    assert isaac == mujoco


def test_the_launcher_needs_isaac_python_and_says_so():
    launcher = (DATAFLOWS / LAUNCHER).resolve()
    assert os.access(launcher, os.X_OK)
    env = {k: v for k, v in os.environ.items() if k != "ISAAC_PYTHON"}
    result = subprocess.run([str(launcher)], env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "ISAAC_PYTHON" in result.stderr
