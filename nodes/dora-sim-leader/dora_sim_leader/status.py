"""The leader's ``status`` output: connection state and health counters, as one JSON string."""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass
class LeaderStatus:
    connected: bool
    port: str
    reads: int
    achieved_hz: float
    bus_read_ms_p50: float
    bus_read_ms_p99: float
    comm_errors: int
    recovered: int
    failed: int
    clipped: int
    stale_flushes: int
    disconnects: int
    reconnects: int
    startup_s: float
    rss_mb: float
    last_error: str

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LeaderStatus:
        return cls(**json.loads(text))


class RollingWindow:
    """The last ``size`` samples, for rates and percentiles over the recent past."""

    def __init__(self, size: int = 300) -> None:
        self.values: deque[float] = deque(maxlen=size)

    def add(self, value: float) -> None:
        self.values.append(value)

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.values, q)) if self.values else 0.0

    def rate_hz(self) -> float:
        """Events per second if the samples are event times in seconds."""
        if len(self.values) < 2 or self.values[-1] <= self.values[0]:
            return 0.0
        return (len(self.values) - 1) / (self.values[-1] - self.values[0])


def peak_rss_mb() -> float:
    """Peak resident memory of this process image.

    Linux's ``ru_maxrss`` survives ``exec``: a node started from a big process would report its
    parent's peak, so read the memory map's own high-water mark there.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


def process_age_s() -> float:
    """Seconds since this process was created: interpreter start-up and imports included.

    Linux: the process's start time in ``/proc/self/stat`` (clock ticks since boot) against
    ``CLOCK_BOOTTIME``; elsewhere 0, so the caller's own clock (started in ``main``) is used.
    """
    stat = Path("/proc/self/stat")
    if not stat.exists():
        return 0.0
    # The command name (field 2) may hold spaces: the fields after it start past its ')'.
    fields = stat.read_text().rsplit(")", 1)[1].split()
    started_s = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of proc(5)
    return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started_s)
