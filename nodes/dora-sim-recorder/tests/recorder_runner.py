"""Runs the recorder node in its own process on simulator-like events paced at RATE ticks/s.

``python recorder_runner.py EPISODES FRAMES RATE`` (configuration from the environment, as for
the real node). The crash tests SIGKILL this process at chosen instants.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import recorder_testkit as kit
from dora.testing import MockNode

from dora_sim import contract as c
from dora_sim_recorder import main as recorder


class PacedNode(MockNode):
    """A MockNode that hands out one tick's messages every 1/rate seconds, like a live sim."""

    def __init__(self, events: list[dict[str, Any]], rate: float, **kwargs: Any):
        super().__init__(events, **kwargs)
        self.period = 1.0 / rate

    def next(self, timeout: float | None = None) -> dict[str, Any] | None:
        event = super().next(timeout)
        if event is not None and event.get("id") == c.STATE:
            time.sleep(self.period)
        return event


def main() -> int:
    episodes, frames, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    events = kit.sim_events([kit.Episode(frames)] * episodes)
    return recorder.main([], node=PacedNode(events, rate, node_config=kit.node_config()))


if __name__ == "__main__":
    sys.exit(main())
