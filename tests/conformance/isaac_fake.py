"""Run dora-sim-isaac on the fake Isaac Lab of ``fake_isaaclab/`` (test tree only).

Puts the fake and the Isaac node's source on ``sys.path`` (the node is not installed in the
workspace venv: it belongs in Isaac Lab's Python), starts the fake Isaac Sim app once per process
and builds simulators on the CPU device with tiny images.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FAKE = Path(__file__).resolve().parent / "fake_isaaclab"
NODE = REPO / "nodes" / "dora-sim-isaac"
for path in (str(NODE), str(FAKE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from dora_sim_isaac.config import IsaacConfig  # noqa: E402
from dora_sim_isaac.isaac_env import build, launch_app  # noqa: E402
from dora_sim_isaac.simulator import IsaacSimulator  # noqa: E402

# What a test node of the Isaac sim uses unless it says otherwise.
TEST_SETTINGS = {"fps": 10, "cameras": ("front",), "height": 24, "width": 32, "device": "cpu"}


def config(**overrides: Any) -> IsaacConfig:
    return replace(IsaacConfig(), **{**TEST_SETTINGS, **overrides})


def ensure_app() -> None:
    """Start the (fake) Isaac Sim once per process, with cameras, as the node would."""
    import isaaclab.app

    if isaaclab.app._APP is None:  # the fake's own record of a running SimulationApp
        launch_app(config())


def simulator(**overrides: Any) -> IsaacSimulator:
    ensure_app()
    cfg = config(**overrides)
    return IsaacSimulator(cfg, build(cfg, num_envs=1))


def lift_object(sim: IsaacSimulator) -> None:
    """Put the cube 20 cm up (the default success term: object lifted)."""
    import torch

    obj = sim.env.base.scene["object"]
    pose = torch.cat([obj.data.root_pos_w, obj.data.root_quat_w], dim=-1)
    pose[:, 2] += 0.2
    obj.write_root_pose_to_sim(pose)


def physics_seconds_per_tick(sim: IsaacSimulator) -> float:
    cfg = sim.env.base.cfg
    return cfg.sim.dt * cfg.decimation
