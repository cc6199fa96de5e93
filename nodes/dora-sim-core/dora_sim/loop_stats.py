"""Wall-clock health of a simulator tick loop: achieved rate, late ticks, lag behind real time.

Sim time never skips or repeats; when the wall clock runs ahead (a slow tick, dropped timer
events), that is counted here and reported in the ``status`` output instead. Time the sim spent
holding for a lossless consumer (credits) is counted apart: neither late ticks nor lag.
"""

from __future__ import annotations

from collections import deque

from dora_sim.codec import SimStatus


class LoopStats:
    def __init__(self, fps: int, window: int = 60):
        self.fps = fps
        self.period = 1.0 / fps
        self.ticks: deque[float] = deque(maxlen=window)
        self.busy: deque[float] = deque(maxlen=window)
        self.first: float | None = None
        self.count = 0
        self.late_ticks = 0
        self.rejected_messages = 0
        self.clipped_actions = 0
        self.ik_failures = 0
        self.held_ticks = 0
        self.held_s = 0.0

    def tick(self, now: float) -> None:
        if self.ticks:
            missed = round((now - self.ticks[-1]) / self.period) - 1
            self.late_ticks += max(0, missed)
        else:
            self.first = now
        self.ticks.append(now)
        self.count += 1

    def resume(self, now: float) -> None:
        """The sim held from the last tick until ``now``: restart the rate and lag baselines."""
        if self.ticks and self.first is not None:
            paused = max(0.0, now - self.ticks[-1] - self.period)
            self.first += paused
            self.ticks = deque((t + paused for t in self.ticks), maxlen=self.ticks.maxlen)

    def done(self, busy_s: float) -> None:
        """Record how long the tick just handled kept the loop busy."""
        self.busy.append(busy_s)

    @property
    def achieved_hz(self) -> float:
        if len(self.ticks) < 2:
            return 0.0
        return (len(self.ticks) - 1) / (self.ticks[-1] - self.ticks[0])

    @property
    def wall_lag_s(self) -> float:
        """How far sim time is behind wall time since the first tick (>0: slower than real)."""
        if self.first is None:
            return 0.0
        return (self.ticks[-1] - self.first) - (self.count - 1) * self.period

    def status(self, frame: int, episode_index: int, phase: str) -> SimStatus:
        return SimStatus(
            frame=frame,
            episode_index=episode_index,
            phase=phase,
            target_hz=float(self.fps),
            achieved_hz=round(self.achieved_hz, 2),
            busy_ms=round(1000 * sum(self.busy) / max(1, len(self.busy)), 3),
            late_ticks=self.late_ticks,
            wall_lag_s=round(self.wall_lag_s, 4),
            rejected_messages=self.rejected_messages,
            clipped_actions=self.clipped_actions,
            ik_failures=self.ik_failures,
            held_ticks=self.held_ticks,
            held_s=round(self.held_s, 3),
        )
