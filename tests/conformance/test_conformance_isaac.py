"""The simulator conformance suite against the Isaac Lab node (dora-sim-isaac) on the fake
Isaac Lab of ``fake_isaaclab/`` — not against Isaac Sim, which cannot run here."""

from __future__ import annotations

import isaac_fake
import pytest
from sim_conformance import GlueHarness, SimConformance


class TestIsaacConformance(SimConformance):
    @pytest.fixture(scope="class")
    def harness(self):
        sim = isaac_fake.simulator()
        yield GlueHarness(
            sim,
            make_success=isaac_fake.lift_object,
            physics_seconds_per_tick=lambda: isaac_fake.physics_seconds_per_tick(sim),
        )
        sim.close()
