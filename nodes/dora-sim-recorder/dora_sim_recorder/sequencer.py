"""Pairs released frames with the simulator's episode events and decides what the writer does.

The simulator owns episode state; the recorder follows it to the frame. Frames arrive in frame
order from the assembler, episode events on their own input, and the two can be skewed either
way. The sequencer holds frames of an episode whose start event has not arrived yet and holds the
end of an episode until all of its frames are accounted for, so the writer sees a clean stream:
``StartEpisode``, ``AddFrame``…, ``EndEpisode`` — never frames of two episodes mixed.

An episode is kept only if its frames are exactly ``0 … num_frames-1`` of the simulator's count,
with no gap, duplicate or lost frame; otherwise it is discarded and the reasons are reported.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from dora_sim import contract as c
from dora_sim.codec import EpisodeEnd as EndEvent
from dora_sim.codec import EpisodeStart as StartEvent
from dora_sim_recorder.assembler import Frame
from dora_sim_recorder.config import EXPORT_SUCCEEDED


@dataclass(frozen=True)
class StartEpisode:
    index: int  # the simulator's episode_index (attempt counter)
    task: str
    fps: int
    seed: int
    randomization: str | None = None  # JSON text of the sim's sampled values, if it randomizes


@dataclass(frozen=True)
class AddFrame:
    index: int
    episode_frame: int
    parts: dict[str, Any]


@dataclass(frozen=True)
class EndEpisode:
    index: int
    keep: bool
    reason: str  # the simulator's end reason
    success: bool
    num_frames: int
    last: bool  # the simulator ends the session after this episode
    problems: tuple[str, ...]  # why a frame-level check failed (empty when all is well)
    why_dropped: str  # empty when kept


WriterCommand = StartEpisode | AddFrame | EndEpisode


@dataclass
class _Open:
    start: StartEpisode
    expected: int = 0  # next episode_frame expected
    written: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class SequencerCounters:
    episodes_dropped: int = 0
    frames_lost: int = 0  # within episodes
    frames_duplicated: int = 0  # within episodes
    orphans: int = 0  # frames of an episode whose start event never came


class EpisodeSequencer:
    def __init__(self, export_mode: str, max_held: int = 900):
        self.export_mode = export_mode
        self.max_held = max_held
        self.open: _Open | None = None
        self.starts: dict[int, StartEvent] = {}
        self.ends: dict[int, EndEvent] = {}
        self.held: deque[Frame] = deque()
        self.counters = SequencerCounters()
        self.messages: list[str] = []  # warnings for the node to log, drained by the caller

    # --- inputs ---
    def on_start(self, event: StartEvent) -> list[WriterCommand]:
        self.starts[event.episode_index] = event
        return self._drain_held()

    def on_end(self, event: EndEvent) -> list[WriterCommand]:
        index = event.episode_index
        self.ends[index] = event
        if self.open is not None and self.open.start.index == index:
            return self._finish_if_complete() + self._drain_held()
        if index not in self.starts:
            # No start event before this end: the episode began before the recorder listened.
            self.ends.pop(index)
            self.messages.append(f"episode {index} ended before the recorder saw it start")
        return self._drain_held()

    def on_frame(self, frame: Frame) -> list[WriterCommand]:
        self.held.append(frame)
        out = self._drain_held()
        if len(self.held) > self.max_held:
            orphan = self.held.popleft()
            self.counters.orphans += 1
            self.messages.append(
                f"frame {orphan.number}: no episode start event arrived for it "
                f"within {self.max_held} frames; not recorded"
            )
            out += self._drain_held()
        return out

    def flush(self) -> list[WriterCommand]:
        """End of input: finish an episode whose end is known, drop one that never ended."""
        out = self._drain_held()
        if self.open is not None:
            if self.open.start.index in self.ends:
                out.append(self._finish())
            else:
                out.append(self._abandon("the session stopped before the episode ended"))
        for frame in self.held:
            if frame.stamp is not None and frame.stamp.phase == c.PHASE_EPISODE:
                self.counters.orphans += 1
        self.held.clear()
        self._drop_unseen(before=1 << 62)
        return out

    # --- the state machine ---
    def _drain_held(self) -> list[WriterCommand]:
        out: list[WriterCommand] = []
        while self.held:
            commands, consumed = self._place(self.held[0])
            out += commands
            if not consumed:
                break
            self.held.popleft()
        return out

    def _place(self, frame: Frame) -> tuple[list[WriterCommand], bool]:
        """Commands for one frame, and whether it was consumed (False: wait for an event)."""
        stamp = frame.stamp
        if stamp is None:  # nothing of this tick arrived: it counts against the open episode
            if self.open is not None:
                self._problem(f"frame {frame.number} lost on every input")
                self.counters.frames_lost += 1
                self.open.expected += 1
            return [], True
        out: list[WriterCommand] = []
        opened = self.open
        if opened is not None:
            if stamp.episode_index == opened.start.index and stamp.phase == c.PHASE_EPISODE:
                return self._frame_of_open(frame) + self._finish_if_complete(), True
            if opened.start.index not in self.ends:  # past the open episode: it must have ended
                return [], False
            out.append(self._finish())
        if stamp.phase != c.PHASE_EPISODE:  # reset phase: belongs to no episode
            return out, True
        start = self.starts.pop(stamp.episode_index, None)
        if start is None:
            return out, False
        self._drop_unseen(before=stamp.episode_index)
        self.open = _Open(
            StartEpisode(
                index=stamp.episode_index,
                task=start.task,
                fps=start.fps,
                seed=start.seed,
                randomization=start.randomization,
            )
        )
        out.append(self.open.start)
        return out + self._frame_of_open(frame) + self._finish_if_complete(), True

    def _drop_unseen(self, before: int) -> None:
        """Forget episodes that started (and maybe ended) but of which not one frame arrived."""
        for index in sorted(i for i in self.starts if i < before):
            del self.starts[index]
            self.ends.pop(index, None)
            self.counters.episodes_dropped += 1
            self.messages.append(f"episode {index}: not one of its frames arrived; not recorded")

    def _frame_of_open(self, frame: Frame) -> list[WriterCommand]:
        opened = self.open
        assert opened is not None and frame.stamp is not None
        number = frame.stamp.episode_frame
        if number < opened.expected:
            self.counters.frames_duplicated += 1
            self._problem(f"episode frame {number} duplicated")
            return []
        if number > opened.expected:
            self.counters.frames_lost += number - opened.expected
            self._problem(f"episode frames {opened.expected}..{number - 1} missing")
        opened.expected = number + 1
        if frame.lost:
            self.counters.frames_lost += 1
            self._problem(f"episode frame {number} lost: no {', '.join(frame.missing)}")
            return []
        expected_time = number / opened.start.fps
        if abs(frame.stamp.sim_time - expected_time) > 1e-6:
            self._problem(
                f"episode frame {number} sim_time {frame.stamp.sim_time} is not "
                f"{expected_time} = frame / fps"
            )
        opened.written += 1
        return [AddFrame(opened.start.index, number, frame.parts)]

    def _problem(self, text: str) -> None:
        assert self.open is not None
        if len(self.open.problems) < 20:
            self.open.problems.append(text)

    def _finish_if_complete(self) -> list[WriterCommand]:
        """Finish the open episode as soon as its end is known and all its frames are in."""
        opened = self.open
        if opened is None or opened.start.index not in self.ends:
            return []
        if opened.expected < self.ends[opened.start.index].num_frames:
            return []
        return [self._finish()]

    def _finish(self) -> EndEpisode:
        opened = self.open
        assert opened is not None
        end = self.ends.pop(opened.start.index)
        num_frames = end.num_frames
        if opened.expected < num_frames:
            missing = num_frames - opened.expected
            self.counters.frames_lost += missing
            self._problem(f"episode frames {opened.expected}..{num_frames - 1} missing")
        elif opened.expected > num_frames:
            self._problem(f"{opened.expected} frames arrived, the simulator counted {num_frames}")
        reason, success = end.reason, end.success
        why = ""
        if end.discarded:
            why = f"ended by {reason}"
        elif opened.problems:
            why = "frames missing or duplicated: " + "; ".join(opened.problems)
        elif self.export_mode == EXPORT_SUCCEEDED and not success:
            why = "not successful (EXPORT_MODE=succeeded)"
        self.open = None
        if why:
            self.counters.episodes_dropped += 1
        return EndEpisode(
            index=opened.start.index,
            keep=not why,
            reason=reason,
            success=success,
            num_frames=num_frames,
            last=end.last,
            problems=tuple(opened.problems),
            why_dropped=why,
        )

    def _abandon(self, why: str) -> EndEpisode:
        opened = self.open
        assert opened is not None
        self.open = None
        self.counters.episodes_dropped += 1
        return EndEpisode(
            index=opened.start.index,
            keep=False,
            reason=c.END_STOP,
            success=False,
            num_frames=opened.written,
            last=True,
            problems=tuple(opened.problems),
            why_dropped=why,
        )
