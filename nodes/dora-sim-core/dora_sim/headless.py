"""Environment for running a dataflow headless and offline from Python (tests, benchmarks).

`dora run` resolves node paths on PATH (through `uv run which`), so this interpreter's bin
directory goes first; MuJoCo renders off-screen through EGL; the Hugging Face Hub is not asked;
dora-sim's zenoh overlay (:mod:`dora_sim.transport`) is set.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dora_sim.transport import with_overlay


def headless_env(**overrides: str) -> dict[str, str]:
    """A copy of ``os.environ`` for a headless, offline `dora run`; no DISPLAY unless given."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "MUJOCO_GL": "egl",
        "EGL_PLATFORM": "surfaceless",
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("DISPLAY", None)
    env.update(overrides)
    return with_overlay(env)
