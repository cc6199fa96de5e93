"""The simulator conformance suite against the MuJoCo node (dora-sim-mujoco)."""

from __future__ import annotations

import pytest
from sim_conformance import GlueHarness, SimConformance

from dora_sim_mujoco.simulator import SimConfig, Simulator


def grasp_cube(sim: Simulator) -> None:
    """Let the scripted expert pick the cube up (off the tick clock): pick-cube's success holds.

    Success needs the cube lifted *and* squeezed by both fingertip pads, which no teleport gives.
    """
    from dora_sim_expert.planner import Expert
    from dora_sim_expert.rollout import ExpertDriver

    driver = ExpertDriver(sim, Expert(sim.config.fps), episode=0)
    for _ in range(20 * sim.config.fps):
        driver.command()
        sim.step()
        if sim.success():
            return
    raise AssertionError("the expert did not pick the cube up")


class TestMujocoConformance(SimConformance):
    @pytest.fixture(scope="class")
    def harness(self):
        sim = Simulator(SimConfig(fps=10, cameras=("front",), height=24, width=32))
        yield GlueHarness(
            sim,
            make_success=grasp_cube,
            physics_seconds_per_tick=lambda: sim.substeps * sim.model.opt.timestep,
        )
        sim.close()
