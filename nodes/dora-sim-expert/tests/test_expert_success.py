"""The scripted expert solves both tasks on seeded episodes, through the action contract."""

from __future__ import annotations

import numpy as np
import pytest

from dora_sim.codec import Scene
from dora_sim_expert.planner import Expert
from dora_sim_expert.rollout import run_episode
from dora_sim_mujoco.simulator import SimConfig, Simulator

EPISODES = 20


@pytest.mark.slow
@pytest.mark.parametrize(
    ("task", "required", "time_s"), [("pick-cube", 0.9, 12.0), ("table-cleanup", 0.8, 25.0)]
)
def test_expert_success_rate(task, required, time_s):
    sim = Simulator(SimConfig(task=task, cameras=()))
    expert = Expert(sim.ik, sim.config.fps)
    results = [run_episode(sim, expert, seed, time_s) for seed in range(EPISODES)]
    rate = sum(r.success for r in results) / EPISODES
    failed = [r.seed for r in results if not r.success]
    assert rate >= required, f"{task}: {rate:.0%} success, failed seeds {failed}"


def cube_seen_off_by(dx: float, dy: float):
    def perceive(scene: Scene) -> Scene:
        cube = scene.objects["cube"].copy()
        cube[:2] += (dx, dy)
        return Scene(scene.ee, {**scene.objects, "cube": cube})

    return perceive


@pytest.mark.slow
@pytest.mark.parametrize("offset", [(0.0, 0.005), (0.0, -0.005), (0.005, 0.0), (-0.005, 0.0)])
def test_pick_cube_grasp_tolerates_5mm_error(offset):
    """Demos for imitation: a policy that places the jaws 5 mm off should still mostly succeed.

    The cube is centred between the open jaws; when it was grasped against the fixed pad, 5 mm
    along y failed 50-65 % of these seeds. One attempt only (4 s: the expert needs ~2.4 s).
    """
    sim = Simulator(SimConfig(task="pick-cube", cameras=()))
    expert = Expert(sim.ik, sim.config.fps)
    perceive = cube_seen_off_by(*offset)
    results = [run_episode(sim, expert, seed, 4.0, perceive) for seed in range(10)]
    rate = np.mean([r.success for r in results])
    assert rate >= 0.8, f"cube seen {offset} m off: {rate:.0%} success"
