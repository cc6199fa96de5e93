"""The recorder's progress: the ``status`` output (JSON) and the console line.

Other nodes (viewers) read the JSON; its fields are :class:`RecorderStatus`.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import asdict, dataclass


@dataclass
class RecorderStatus:
    state: str  # starting | recording | saving | finishing | finished | failed
    root: str
    repo_id: str
    episodes: int  # episodes in the dataset (resumed ones included)
    episodes_goal: int  # 0 = no limit
    saved: int  # episodes saved this session
    discarded: int  # episodes not saved this session (rerecord, export mode, frame problems)
    episode_index: int  # simulator episode being recorded, -1 between episodes
    episode_frames: int
    frames_written: int  # frames handed to LeRobot this session
    fps: float  # frames written per wall-clock second, recent
    backlog_frames: int  # frames received but not yet encoded (writer queue + encoders)
    frames_lost: int  # frames that never arrived whole, or without their episode's start event
    frames_duplicated: int
    rejected_messages: int
    pause_s_last: float  # save + commit + reopen of the last episode
    pause_s_max: float

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    def line(self) -> str:
        goal = self.episodes_goal or "∞"
        episode = (
            f"sim episode {self.episode_index} frame {self.episode_frames}"
            if self.episode_index >= 0
            else "between episodes"
        )
        problems = ""
        if self.frames_lost or self.frames_duplicated or self.rejected_messages:
            problems = (
                f" | lost {self.frames_lost} dup {self.frames_duplicated} "
                f"rejected {self.rejected_messages}"
            )
        return (
            f"[dora-sim-recorder] {self.state}: dataset {self.episodes}/{goal} episodes | "
            f"{episode} | {self.fps:.1f} fps | "
            f"backlog {self.backlog_frames} frames | pause max {self.pause_s_max:.2f} s{problems}"
        )


class RateMeter:
    """Events per second over the last ``window`` seconds of samples."""

    def __init__(self, window: float = 3.0):
        self.window = window
        self.samples: deque[tuple[float, int]] = deque()

    def update(self, now: float, count: int) -> float:
        self.samples.append((now, count))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.popleft()
        (t0, c0), (t1, c1) = self.samples[0], self.samples[-1]
        return (c1 - c0) / (t1 - t0) if t1 > t0 else 0.0
