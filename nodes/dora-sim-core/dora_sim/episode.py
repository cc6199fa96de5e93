"""The episode state machine: the single owner of episode time, resets, early ends and the count.

Shared by every simulator node (MuJoCo, Isaac Lab). Pure Python and tick-driven: the node calls
:meth:`EpisodeMachine.begin_tick` before it emits a frame and :meth:`EpisodeMachine.end_tick` after
stepping physics. Control commands are queued and take effect at the next tick boundary, so an
episode always ends between two frames and a consumer never sees frames of two episodes mixed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from dora_sim import contract as c
from dora_sim.config import env_bool, env_float, env_int

_END_REASON = {
    c.CONTROL_FINISH: c.END_FINISH,
    c.CONTROL_RERECORD: c.END_RERECORD,
    c.CONTROL_STOP: c.END_STOP,
    c.CONTROL_RESET: c.END_RESET,
}


@dataclass(frozen=True)
class EpisodeConfig:
    num_episodes: int = 2  # episodes to complete (discarded ones do not count); 0 = no limit
    episode_time_s: float = 20.0
    reset_time_s: float = 0.0  # reset phase between episodes (teleop moves, nothing recorded)
    end_on_success: bool = True
    success_hold_s: float = 0.5  # success must hold this long before the episode ends early
    seed: int = 0

    @classmethod
    def from_env(cls) -> EpisodeConfig:
        """The session settings every simulator node reads from its ``env:`` or the shell."""
        return cls(
            num_episodes=env_int("NUM_EPISODES", 2, minimum=0),
            episode_time_s=env_float("EPISODE_TIME_S", 20.0, minimum=0.1),
            reset_time_s=env_float("RESET_TIME_S", 0.0, minimum=0.0),
            end_on_success=env_bool("END_ON_SUCCESS", True),
            success_hold_s=env_float("SUCCESS_HOLD_S", 0.5, minimum=0.0),
            seed=env_int("SEED", 0),
        )

    def ticks(self, seconds: float, fps: int) -> int:
        return max(0, math.ceil(round(seconds * fps, 6)))


@dataclass(frozen=True)
class EpisodeOutcome:
    episode_index: int
    reason: str
    success: bool
    num_frames: int
    last: bool


@dataclass
class EpisodeMachine:
    config: EpisodeConfig
    fps: int
    phase: str = c.PHASE_RESET
    episode_index: int = -1  # attempt counter; the first episode is 0
    episode_frame: int = 0
    completed: int = 0  # episodes that ended and were not discarded
    stopped: bool = False
    _pending: list[str] = field(default_factory=list)
    _reset_left: int = 0
    _success_ticks: int = 0
    _scenes: int = 0  # scenes consumed: counted episodes and `reset`s (never `rerecord`)

    @property
    def seed(self) -> int:
        """Seed of the current scene: ``SEED + k`` for the k-th scene. A rerecorded episode
        replays its scene; ``reset`` moves on to a fresh one (the next seed)."""
        return self.config.seed + self._scenes

    def command(self, command: str) -> None:
        if command not in c.CONTROL_COMMANDS:
            raise ValueError(f"unknown control command {command!r}")
        self._pending.append(command)

    def begin_tick(self) -> tuple[bool, EpisodeOutcome | None]:
        """Apply queued commands. Returns (start a new episode now?, episode ended by a command)."""
        ended = None
        while self._pending and not self.stopped:
            command = self._pending.pop(0)
            if self.phase == c.PHASE_EPISODE:
                ended = self._end(_END_REASON[command])
                if command == c.CONTROL_RESET:
                    self._reset_left = 0
            elif command == c.CONTROL_STOP:
                self.stopped = True
            elif command in (c.CONTROL_FINISH, c.CONTROL_RESET):  # during the reset phase
                self._reset_left = 0
            # rerecord during the reset phase has nothing to discard: ignored.
        if self.stopped or self.phase == c.PHASE_EPISODE:
            return False, ended
        if self._reset_left > 0:
            self._reset_left -= 1
            return False, ended
        self.phase = c.PHASE_EPISODE
        self.episode_index += 1
        self.episode_frame = 0
        self._success_ticks = 0
        return True, ended

    def end_tick(self, success: bool) -> EpisodeOutcome | None:
        """Count the frame just emitted; end the episode on time limit or held success."""
        if self.phase != c.PHASE_EPISODE:
            return None
        self.episode_frame += 1
        self._success_ticks = self._success_ticks + 1 if success else 0
        hold = max(1, self.config.ticks(self.config.success_hold_s, self.fps))
        if self.config.end_on_success and self._success_ticks >= hold:
            return self._end(c.END_SUCCESS)
        if self.episode_frame >= self.config.ticks(self.config.episode_time_s, self.fps):
            return self._end(c.END_TIME_LIMIT)
        return None

    def _end(self, reason: str) -> EpisodeOutcome:
        success = self._success_ticks > 0
        if reason not in c.DISCARDED_REASONS:
            self.completed += 1
        if reason != c.END_RERECORD:
            self._scenes += 1
        limit = self.config.num_episodes
        self.stopped = self.stopped or reason == c.END_STOP or (0 < limit <= self.completed)
        self.phase = c.PHASE_RESET
        self._reset_left = self.config.ticks(self.config.reset_time_s, self.fps)
        return EpisodeOutcome(self.episode_index, reason, success, self.episode_frame, self.stopped)
