"""Frame-indexed action schedule: chunks in, one action per simulator frame out.

A chunk predicted from the observation of frame ``f`` holds the actions for frames ``f, f+1, …``.
It arrives some frames later; its actions for frames already played are dropped, the others are
merged into the schedule. Where an older chunk already scheduled the same frame, the two are
aggregated (LeRobot's async inference does the same, with the same named functions), so the
motion flows from one chunk into the next instead of jumping.

Pure numpy, no torch: unit-tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Aggregate = Callable[[np.ndarray, np.ndarray], np.ndarray]

# Same names and weights as lerobot.async_inference.configs.AGGREGATE_FUNCTIONS (old, new).
AGGREGATES: dict[str, Aggregate] = {
    "weighted_average": lambda old, new: 0.3 * old + 0.7 * new,
    "latest_only": lambda old, new: new,
    "average": lambda old, new: 0.5 * old + 0.5 * new,
    "conservative": lambda old, new: 0.7 * old + 0.3 * new,
}


@dataclass
class MergeResult:
    added: int = 0
    aggregated: int = 0
    stale: int = 0  # actions for frames already played when the chunk arrived


@dataclass
class ActionSchedule:
    aggregate: Aggregate = AGGREGATES["weighted_average"]
    _actions: dict[int, np.ndarray] = field(default_factory=dict)
    played: int = -1  # last frame an action was taken for

    def clear(self) -> None:
        self._actions.clear()
        self.played = -1

    def merge(self, start_frame: int, chunk: np.ndarray) -> MergeResult:
        """Schedule ``chunk[i]`` for frame ``start_frame + i``; played frames are dropped."""
        result = MergeResult()
        for i, action in enumerate(np.asarray(chunk, dtype=np.float32)):
            frame = start_frame + i
            if frame <= self.played:
                result.stale += 1
            elif frame in self._actions:
                self._actions[frame] = self.aggregate(self._actions[frame], action)
                result.aggregated += 1
            else:
                self._actions[frame] = action
                result.added += 1
        return result

    def take(self, frame: int) -> np.ndarray | None:
        """The action for ``frame`` (None when none is scheduled); earlier frames are forgotten."""
        self.played = max(self.played, frame)
        for old in [f for f in self._actions if f < frame]:
            del self._actions[old]
        return self._actions.pop(frame, None)

    def remaining(self) -> int:
        """Actions scheduled for frames not yet played."""
        return sum(1 for f in self._actions if f > self.played)
