"""Notice a control loop that steps the sim faster than real time.

Each ``send_action`` advances exactly ``1/fps`` s of sim time, so a slow loop keeps sim time (and
a dataset's ``frame_index/fps`` timestamps) true; a loop faster than ``fps`` instead runs the
world in fast-forward (``lerobot-teleoperate`` defaults to 60 Hz). That deserves one warning.
"""

from __future__ import annotations

import time
from collections.abc import Callable

WINDOW_S = 2.0  # wall seconds per measurement
TOLERANCE = 1.25  # sim time may run this much faster than wall time before we warn


class PaceMonitor:
    def __init__(
        self, fps: int, warn: Callable[[str], None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.fps = fps
        self.warn = warn
        self.clock = clock
        self.warned = False
        self._start: float | None = None
        self._steps = 0

    def step(self) -> None:
        now = self.clock()
        if self._start is None:
            self._start = now
            return
        self._steps += 1
        wall = now - self._start
        if wall < WINDOW_S:
            return
        rate = self._steps / wall
        if rate > TOLERANCE * self.fps and not self.warned:
            self.warned = True
            self.warn(
                f"the control loop runs at {rate:.0f} Hz but each send_action advances the sim"
                f" 1/{self.fps} s: sim time runs {rate / self.fps:.1f}x faster than real time."
                f" Run the loop at {self.fps} Hz (lerobot-teleoperate --fps={self.fps},"
                f" lerobot-record --dataset.fps={self.fps}) or set --robot.fps to its rate"
            )
        self._start, self._steps = now, 0
