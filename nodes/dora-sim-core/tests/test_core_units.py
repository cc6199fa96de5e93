"""Unit conversions between so101 units and simulator radians; configuration helpers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dora_sim.config import ConfigError, env_bool, env_float, env_int, env_list
from dora_sim.units import SO101_GRIPPER_RANGE_RAD, contract_to_sim, sim_to_contract

vectors = st.tuples(*[st.floats(-180, 180)] * 5, st.floats(0, 100)).map(lambda t: np.array(t))


@given(vectors)
def test_round_trip_is_exact(values):
    np.testing.assert_allclose(sim_to_contract(contract_to_sim(values)), values, atol=1e-9)


def test_arm_joints_are_degrees_and_gripper_maps_onto_its_range():
    sim = contract_to_sim(np.array([90.0, -45.0, 0.0, 180.0, -90.0, 0.0]))
    np.testing.assert_allclose(sim[:5], [np.pi / 2, -np.pi / 4, 0.0, np.pi, -np.pi / 2])
    lo, hi = SO101_GRIPPER_RANGE_RAD
    assert sim[5] == pytest.approx(lo)
    assert contract_to_sim(np.r_[np.zeros(5), 100.0])[5] == pytest.approx(hi)
    assert contract_to_sim(np.r_[np.zeros(5), 50.0])[5] == pytest.approx((lo + hi) / 2)


def test_gripper_is_never_treated_as_degrees():
    # 57.3 "degrees" would be 1 rad; as 0-100 it is 57.3 % of the jaw range.
    lo, hi = SO101_GRIPPER_RANGE_RAD
    assert contract_to_sim(np.r_[np.zeros(5), 57.2958])[5] == pytest.approx(
        lo + 0.572958 * (hi - lo)
    )


def test_sim_gripper_beyond_range_is_clamped_to_0_100():
    lo, hi = SO101_GRIPPER_RANGE_RAD
    assert sim_to_contract(np.r_[np.zeros(5), hi + 0.2])[5] == 100.0
    assert sim_to_contract(np.r_[np.zeros(5), lo - 0.2])[5] == 0.0


def test_config_errors_name_the_variable(monkeypatch):
    monkeypatch.setenv("NUM_EPISODES", "two")
    with pytest.raises(ConfigError, match="NUM_EPISODES='two': expected an integer"):
        env_int("NUM_EPISODES", 2)
    monkeypatch.setenv("NUM_EPISODES", "-1")
    with pytest.raises(ConfigError, match="at least 0"):
        env_int("NUM_EPISODES", 2, minimum=0)
    monkeypatch.setenv("CHUNK_THRESHOLD", "1.5")
    with pytest.raises(ConfigError, match=r"CHUNK_THRESHOLD=1.5: must be at most 1.0"):
        env_float("CHUNK_THRESHOLD", 0.5, minimum=0.0, maximum=1.0)
    monkeypatch.setenv("CHUNK_THRESHOLD", "1")
    assert env_float("CHUNK_THRESHOLD", 0.5, minimum=0.0, maximum=1.0) == 1.0
    monkeypatch.setenv("VIEWER", "maybe")
    with pytest.raises(ConfigError, match="VIEWER"):
        env_bool("VIEWER", False)
    monkeypatch.setenv("CAMERAS", "front, wrist,")
    assert env_list("CAMERAS", ()) == ("front", "wrist")
    monkeypatch.setenv("CAMERAS", "")
    assert env_list("CAMERAS", ("front",)) == ()
