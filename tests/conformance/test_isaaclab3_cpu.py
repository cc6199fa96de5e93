"""The simulator conformance suite on real Isaac Lab 3.0 kit-less, on the CPU, in CI.

Warp and Newton (MuJoCo-Warp) run on the CPU too, so Isaac Lab 3.0's kit-less mode steps the Isaac
node's SO-101 scene here, slowly (~0.1 s a tick with two 48x64 cameras on 2 cores). This test makes
its own Python 3.12 environment from PyPI with uv (Isaac Lab cannot share the workspace's: it pins
its own packages) and runs ``test_conformance_isaaclab3.py`` in it through
``scripts/isaac_conformance.py`` (which records every test's outcome), with ``ISAAC_DEVICE=cpu``.

The environment holds what the node imports from Isaac Lab 3.0 kit-less, no more: ``isaaclab``
itself without its dependencies (they include Kit's and every RL library's: gigabytes), and the
packages it was measured to import for this scene (``RUNTIME``). It lives under the dora-sim
cache (``DORA_SIM_CACHE``, default ``~/.cache/dora-sim``) keyed by that list, so later runs reuse
it; Warp keeps its compiled CPU kernels in its own cache (the first run compiles for ~1 min).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ISAACLAB = "isaaclab==3.0.0"
# Imported by dora-sim-isaac on Isaac Lab 3.0 kit-less (listed from sys.modules after a run).
RUNTIME = [
    "newton==1.6.1", "newton-usd-schemas==0.6.0", "warp-lang==1.17.0", "mujoco-warp==3.12.0",
    "mujoco==3.12.0", "usd-exchange==3.0.1", "torch==2.11.0", "numpy>=2", "scipy",
    "gymnasium==1.4.0", "hydra-core==1.3.8", "prettytable", "lazy_loader", "rich", "tqdm",
    "packaging", "dora-rs>=1.1,<1.2", "pyarrow", "pytest==9.2.0", "pytest-timeout==2.4.0",
]  # fmt: skip

pytestmark = pytest.mark.slow


def cache_root() -> Path:
    root = os.environ.get("DORA_SIM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "dora-sim"
    )
    return Path(root)


def isaaclab3_python() -> Path:
    """A Python 3.12 with Isaac Lab 3.0 kit-less and this repo's Isaac node (made once)."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is needed to make the Isaac Lab 3.0 environment")
    key = hashlib.sha256("\n".join([ISAACLAB, *RUNTIME]).encode()).hexdigest()[:12]
    venv = cache_root() / f"isaaclab3-{key}"
    python = venv / "bin" / "python"
    if not (venv / ".complete").exists():
        shutil.rmtree(venv, ignore_errors=True)
        run = {"check": True, "capture_output": True, "text": True, "timeout": 900}
        subprocess.run([uv, "venv", "--python", "3.12", str(venv)], **run)
        install = [uv, "pip", "install", "--python", str(python)]
        subprocess.run([*install, "--no-deps", ISAACLAB], **run)
        subprocess.run([*install, *RUNTIME], **run)
        (venv / ".complete").touch()
    # The node, the contract and the expert (numpy + the contract only) from this checkout.
    nodes = [("-e", str(REPO / "nodes" / name)) for name in ("dora-sim-core", "dora-sim-isaac",
                                                             "dora-sim-expert")]  # fmt: skip
    subprocess.run(
        [uv, "pip", "install", "--python", str(python), "--no-deps",
         *[arg for pair in nodes for arg in pair]],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return python


def test_conformance_on_isaac_lab_3_on_the_cpu(tmp_path):
    python = isaaclab3_python()
    env = {**os.environ, "ISAAC_DEVICE": "cpu", "PYTHONUNBUFFERED": "1"}
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    report = tmp_path / "isaac_conformance_cpu.json"  # scripts/isaac_conformance.py's record
    result = subprocess.run(
        [str(python), str(REPO / "scripts" / "isaac_conformance.py"), "--out", str(report),
         "--", "-x", "--timeout", "600"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    tail = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, tail
    outcome = json.loads(report.read_text())
    assert outcome["failed"] == outcome["skipped"] == 0 and outcome["passed"] >= 23, tail
    assert outcome["versions"]["isaaclab"] == "3.0.0"
