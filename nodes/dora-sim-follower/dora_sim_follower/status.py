"""The follower's ``arm_status`` output: connection state and bus health, as one JSON string.

Its loop health (rate, late ticks) goes on ``status`` as the simulators' :class:`SimStatus`, so
progress displays and the eval scorer read a follower like any simulator.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Final

ARM_STATUS: Final = "arm_status"  # output id (not a contract topic: a real arm's own health)


@dataclass
class FollowerStatus:
    connected: bool
    port: str
    reads: int
    writes: int
    bus_ms_p50: float  # one observation: the sync read, cameras' newest frames, retries
    bus_ms_p99: float
    comm_errors: int
    recovered: int
    failed: int
    camera_errors: int
    clipped: int
    capped: int  # targets max_relative_target held back
    rejected_messages: int  # malformed inputs (a NaN action…): the arm held the last good action
    late_commands: int  # actions applied after the frame they were meant for (``for_frame``)
    dropped_commands: int  # actions that came after a newer one was applied
    stale_flushes: int
    disconnects: int
    reconnects: int
    startup_s: float
    rss_mb: float
    last_error: str

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> FollowerStatus:
        return cls(**json.loads(text))
