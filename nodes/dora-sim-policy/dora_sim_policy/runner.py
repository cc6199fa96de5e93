"""Chunk execution at the simulator's frame rate: what to send each frame, when to ask for more.

The simulator is the clock. For each ``observation.state`` of frame ``g`` the runner sends the
action scheduled for frame ``g + 1`` at once (the sim applies it at its next tick), whatever the
policy is doing. When the observation of a frame is complete and few scheduled actions are left,
the runner hands it to the inference worker; the chunk that comes back is merged into the
schedule (see :mod:`dora_sim_policy.schedule`). The lead (how many actions must still be queued
when a new chunk is requested) is the larger of LeRobot's ``chunk_size_threshold`` share of the
chunk and the inference latency measured in frames, so a slow policy asks earlier.

Timing: a chunk predicted from frame ``g`` is merged at the earliest before the state of frame
``g + 1``, which sends the action for ``g + 2``; so ``latency + 2`` of its rows are already past
when it arrives. With inference running back to back (``latency + 1`` frames per cycle), every
frame gets an action as long as ``chunk_len >= 2 * latency + 3``; a slower policy starves between
chunks (counted in ``starved_frames``; the sim holds its last target meanwhile).

Holding: while the schedule is empty the arm stands still at its last target, so a chunk that
arrives then still fits the world from the frame the hold began. It is rebased: the row for that
frame (row 0 if the observation was taken during the hold) plays next, instead of being dropped
as stale. This departs from LeRobot's async inference, which drops every row older than the
last action: there a policy slower than its chunk would never move the arm again. A policy that
keeps up never holds, and its chunks stay aligned to the frames they were predicted for.

No dora and no torch here: :class:`ChunkRunner` is driven by plain calls and unit-tested.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np

from dora_sim import contract as c
from dora_sim.codec import FrameStamp
from dora_sim_policy.assembler import Observation
from dora_sim_policy.schedule import ActionSchedule
from dora_sim_policy.worker import Request, Result


@dataclass
class RunnerStats:
    frames: int = 0  # episode frames seen (observation.state)
    actions_sent: int = 0
    starved_frames: int = 0  # frames with no scheduled action (the sim held its last target)
    first_chunk_frames: int = 0  # of those, frames waiting for an episode's first chunk
    nonfinite_held: int = 0  # non-finite actions replaced by the last action sent
    clipped: int = 0  # actions clipped to the contract's bounds
    chunks: int = 0
    stale_actions: int = 0  # chunk rows for frames already played when the chunk arrived
    rebased_chunks: int = 0  # chunks that arrived while the arm was holding (see above)
    aggregated_actions: int = 0  # chunk rows merged with an older chunk's row
    inference_errors: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=200))
    latencies_frames: deque[int] = field(default_factory=lambda: deque(maxlen=200))

    def summary(self, fps: float) -> dict[str, float | int]:
        out = {k: v for k, v in asdict(self).items() if not k.startswith("latencies")}
        lat = list(self.latencies_ms)
        out["chunk_latency_ms_p50"] = round(statistics.median(lat), 2) if lat else float("nan")
        out["chunk_latency_ms_max"] = round(max(lat), 2) if lat else float("nan")
        out["chunk_latency_frames_max"] = max(self.latencies_frames, default=0)
        # Actions delivered per second of sim time: fps when every frame got a fresh action.
        sim_s = self.frames / fps if fps else 0.0
        out["control_hz_held"] = round(self.actions_sent / sim_s, 2) if sim_s else 0.0
        return out


class ChunkRunner:
    def __init__(self, chunk_len: int, threshold: float, history: int, schedule: ActionSchedule):
        self.chunk_len = chunk_len
        self.threshold = threshold
        self.schedule = schedule
        self.history: deque[Observation] = deque(maxlen=history)
        self.stats = RunnerStats()
        self.episode: int | None = None
        self.got_chunk = False  # the current episode has received its first chunk
        self.last_action: np.ndarray | None = None
        self.holding_since: int | None = None  # first frame of the current hold (no action)
        self.in_flight = False

    # --- the clock ---------------------------------------------------------------------------
    def on_state(self, stamp: FrameStamp) -> np.ndarray | None:
        """Observation of frame g arrived: the action to send now (for frame g + 1), or None."""
        if stamp.phase != c.PHASE_EPISODE:
            self._new_episode(None)
            return None
        if stamp.episode_index != self.episode:
            self._new_episode(stamp.episode_index)
        self.stats.frames += 1
        action = self.schedule.take(stamp.frame + 1)
        if action is None:
            self.stats.starved_frames += 1
            self.stats.first_chunk_frames += int(not self.got_chunk)
            if self.holding_since is None:
                self.holding_since = stamp.frame + 1
            return None
        self.holding_since = None
        if not np.all(np.isfinite(action)):
            self.stats.nonfinite_held += 1
            return self.last_action
        self.last_action, _, clipped = checked_action(action, self.last_action)
        self.stats.clipped += int(clipped)
        self.stats.actions_sent += 1
        return self.last_action

    def _new_episode(self, episode: int | None) -> None:
        if episode == self.episode:
            return
        self.episode = episode
        self.schedule.clear()
        self.history.clear()
        self.got_chunk = False
        self.last_action = None
        self.holding_since = None

    # --- asking for chunks ------------------------------------------------------------------------
    def lead_frames(self) -> int:
        """Actions that must still be queued when the next chunk is requested."""
        latency = max(list(self.stats.latencies_frames)[-5:], default=0)
        return max(math.ceil(self.threshold * self.chunk_len), latency + 1)

    def on_observation(self, obs: Observation, task: str | None) -> Request | None:
        """A complete observation: the inference request to submit now, if one is due."""
        if obs.stamp.phase != c.PHASE_EPISODE or obs.stamp.episode_index != self.episode:
            return None
        self.history.append(obs)
        if self.in_flight or task is None:
            return None
        if self.schedule.remaining() > self.lead_frames():
            return None
        history = list(self.history)
        history = [history[0]] * (self.history.maxlen - len(history)) + history
        return Request(obs.stamp.episode_index, obs.stamp.frame, history, task)

    def on_result(self, result: Result, current_frame: int) -> None:
        self.in_flight = False
        if result.chunk is None:
            self.stats.inference_errors += 1
            return
        self.stats.latencies_ms.append(1000 * result.latency_s)
        self.stats.latencies_frames.append(max(0, current_frame - result.frame))
        if result.episode != self.episode:
            return  # a chunk for an episode that has ended
        start = result.frame
        if self.holding_since is not None:  # the world stood still since then: rebase
            start = self.schedule.played + 1 - max(0, self.holding_since - result.frame)
            self.stats.rebased_chunks += 1
        merged = self.schedule.merge(start, result.chunk)
        self.stats.chunks += 1
        self.stats.stale_actions += merged.stale
        self.stats.aggregated_actions += merged.aggregated
        self.got_chunk = True


# The contract's hard bounds (see dora_sim.codec.validate_joints): arm ±180°, gripper 0-100.
_BOUNDS = (
    np.array([-c.ARM_DEG_BOUND] * 5 + [c.GRIPPER_RANGE[0]], np.float32),
    np.array([c.ARM_DEG_BOUND] * 5 + [c.GRIPPER_RANGE[1]], np.float32),
)


def checked_action(
    action: np.ndarray, last: np.ndarray | None
) -> tuple[np.ndarray | None, bool, bool]:
    """A policy's action made safe to send: (action, held instead of non-finite, clipped).

    A non-finite action is replaced by the last one sent (None before any); a finite one is
    clipped to the contract's hard bounds.
    """
    if not np.all(np.isfinite(action)):
        return last, True, False
    bounded = np.clip(action, *_BOUNDS).astype(np.float32)
    return bounded, False, not np.array_equal(bounded, action)
