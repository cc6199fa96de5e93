"""The servo-to-sim latency matcher used by the benchmark and the dataflow test."""

from __future__ import annotations

import numpy as np

from dora_sim_leader.latency import Stamped, match_latencies

MS = 1_000_000


def pose(k: float) -> np.ndarray:
    return np.array([k, -k, 2 * k, 0.0, k / 2, 50.0])


def test_each_reading_counts_once_at_the_first_tick_that_applied_it() -> None:
    # Readings every 16 ms; ticks every 33 ms, each applying the newest reading it had.
    readings = [Stamped(i * 16 * MS, pose(i)) for i in range(10)]
    ticks = [Stamped(t * MS, pose(i)) for t, i in [(20, 1), (53, 3), (86, 5), (119, 7), (152, 7)]]
    result = match_latencies(readings, ticks)
    np.testing.assert_allclose(result.latencies_ms, [20 - 16, 53 - 48, 86 - 80, 119 - 112])
    assert result.unmatched_ticks == 0  # the held reading at 152 ms adds no sample


def test_a_tick_applying_no_reading_is_unmatched() -> None:
    readings = [Stamped(0, pose(1))]
    ticks = [Stamped(-5 * MS, pose(1)), Stamped(5 * MS, pose(1) + 0.5)]  # before it; altered
    assert match_latencies(readings, ticks).unmatched_ticks == 2
