"""Servo reading -> simulator action-applied latency, from a probe log of both streams.

The simulator does not forward the leader's metadata, so each ``action`` it applied (its per-tick
``action`` output, stamped ``sent_at_ns`` as it steps) is matched by value to the leader reading
that produced it (stamped ``read_at_ns`` when the sync read began). A reading counts once, at the
first tick that applied it; readings superseded before any tick (the leader reads faster than
the sim ticks) and ticks that re-apply an older reading (the arm stalled or was unplugged) add
no latency sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dora_sim import contract as c

# Readings are quantised at 360/4095 deg; the sim's deg->rad->deg round trip costs ~1e-5.
MATCH_ATOL = 1e-3
# Only this many most recent readings before a tick are searched (seconds of data at 60 Hz).
SEARCH_WINDOW = 512


@dataclass(frozen=True)
class Stamped:
    t_ns: int
    values: np.ndarray


@dataclass
class LatencyResult:
    latencies_ms: np.ndarray  # one per reading that some tick applied
    unmatched_ticks: int  # ticks whose applied action is no reading (must be 0 once driven)


def match_latencies(readings: list[Stamped], applied: list[Stamped]) -> LatencyResult:
    """``readings``: leader actions by ``read_at_ns``; ``applied``: sim ticks by ``sent_at_ns``."""
    readings = sorted(readings, key=lambda r: r.t_ns)
    read_times = np.array([r.t_ns for r in readings], dtype=np.int64)
    values = np.stack([r.values for r in readings]) if readings else np.empty((0, c.NUM_JOINTS))
    first_use: dict[int, int] = {}
    unmatched = 0
    for tick in sorted(applied, key=lambda a: a.t_ns):
        end = int(np.searchsorted(read_times, tick.t_ns, side="right"))
        start = max(0, end - SEARCH_WINDOW)
        close = np.all(np.abs(values[start:end] - tick.values) <= MATCH_ATOL, axis=1)
        hits = np.flatnonzero(close)
        if hits.size == 0:
            unmatched += 1
            continue
        first_use.setdefault(start + int(hits[-1]), tick.t_ns)
    latencies = np.array([(t - read_times[i]) / 1e6 for i, t in sorted(first_use.items())])
    return LatencyResult(latencies, unmatched)
