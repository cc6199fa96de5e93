"""The scripted expert solves both tasks on seeded episodes, through the action contract."""

from __future__ import annotations

import pytest

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
