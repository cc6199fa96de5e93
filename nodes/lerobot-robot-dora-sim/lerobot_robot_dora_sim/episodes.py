"""What the robot knows about the lerobot-record episode in progress, and its one-line verdict.

lerobot-record's dataset has no success column and LeRobot cannot end an episode on success, so
the robot reports each episode's outcome in its log instead (and shows ``success`` live in
Rerun with ``--display_data=true``). The verdict is the dora sim's: did the task's success
predicate hold on the episode's last frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class EpisodeTracker:
    index: int  # the dataset's episode index (lerobot-record's "Recording episode N")
    seed: int
    fps: int
    frames: int = 0
    first_success_frame: int | None = None
    success: bool = False  # the predicate on the latest frame
    started: float = field(default_factory=time.monotonic)
    last_frame_at: float = 0.0

    def observe(self, success: bool) -> None:
        """One frame of the episode (one ``get_observation``) and the predicate on it."""
        if success and self.first_success_frame is None:
            self.first_success_frame = self.frames
        self.success = success
        self.frames += 1
        self.last_frame_at = time.monotonic()

    def summary(self) -> str:
        wall = max(0.0, self.last_frame_at - self.started)
        sim = self.frames / self.fps
        verdict = "SUCCESS" if self.success else "no success"
        first = (
            f"first held at frame {self.first_success_frame}"
            if self.first_success_frame is not None
            else "never held"
        )
        return (
            f"episode {self.index} (seed {self.seed}) ended: {verdict} on its last frame,"
            f" {first}; {self.frames} frames = {sim:.2f} s of sim time in {wall:.2f} s wall"
        )
