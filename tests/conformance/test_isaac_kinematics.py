"""The Isaac node's arm chain (``dora_sim_isaac.kinematics``) against the MuJoCo node's model.

Both simulators must put the TCP at the same place for the same joint angles and solve a
Cartesian target (``ee_target``) to the same joint angles, or the scripted expert and Cartesian
teleop would behave differently per engine. The chain is the committed
``assets/so101_kinematics.json``; it must be what ``scripts/isaac_convert_so101.py`` would write
from today's MuJoCo model.
"""

from __future__ import annotations

import json
import sys

import isaac_fake
import numpy as np
import pytest

from dora_sim_isaac.config import SO101_KINEMATICS
from dora_sim_isaac.kinematics import Chain
from dora_sim_mujoco.simulator import SimConfig, Simulator

sys.path.insert(0, str(isaac_fake.REPO / "scripts"))
from isaac_convert_so101 import kinematics


@pytest.fixture(scope="module")
def mujoco_sim():
    sim = Simulator(SimConfig(fps=30, cameras=(), height=24, width=32))
    yield sim
    sim.close()


def test_the_committed_chain_is_the_mujoco_models():
    assert json.loads(SO101_KINEMATICS.read_text()) == json.loads(json.dumps(kinematics()))


def test_forward_kinematics_match_mujoco(mujoco_sim):
    chain = Chain.load()
    for q in np.random.default_rng(0).uniform(-1.5, 1.5, (20, 5)):
        position, frame = chain.tcp(q)
        expected_position, expected_frame = mujoco_sim.ik.tcp_frame(q)
        np.testing.assert_allclose(position, expected_position, atol=1e-6)
        np.testing.assert_allclose(frame, expected_frame, atol=1e-6)


@pytest.mark.parametrize(
    "target",
    [(0.22, 0.05, 0.08, 90.0, 30.0, 50.0), (0.18, -0.08, 0.03, 70.0, -20.0, 0.0),
     (0.25, 0.0, 0.15, 45.0, 0.0, 100.0)],
)  # fmt: skip
def test_a_cartesian_target_solves_to_mujocos_joint_angles(mujoco_sim, target):
    chain = Chain.load()
    start = mujoco_sim.target[:5].copy()
    solved = chain.solve_target(start, np.array(target))
    assert mujoco_sim.set_ee_target(np.array(target, np.float32))
    np.testing.assert_allclose(solved, mujoco_sim.target[:5], atol=1e-5)
    mujoco_sim.target[:5] = start


def test_an_unreachable_target_is_refused():
    assert Chain.load().solve_target(np.zeros(5), np.array([0.9, 0.0, 0.1, 90, 0, 50])) is None
