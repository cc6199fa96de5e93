"""The simulator conformance suite against the MuJoCo node (dora-sim-mujoco)."""

from __future__ import annotations

import pytest
from sim_conformance import GlueHarness, SimConformance

from dora_sim_mujoco.simulator import SimConfig, Simulator


def lift_cube(sim: Simulator) -> None:
    """Hold the cube 15 cm up: pick-cube's success predicate holds."""
    import mujoco  # after dora_sim_mujoco chose the headless GL backend

    qpos = sim.model.joint("cube").qposadr[0]
    sim.data.qpos[qpos + 2] += 0.15
    mujoco.mj_forward(sim.model, sim.data)


class TestMujocoConformance(SimConformance):
    @pytest.fixture(scope="class")
    def harness(self):
        sim = Simulator(SimConfig(fps=10, cameras=("front",), height=24, width=32))
        yield GlueHarness(
            sim,
            make_success=lift_cube,
            physics_seconds_per_tick=lambda: sim.substeps * sim.model.opt.timestep,
        )
        sim.close()
