"""Joins the per-tick messages of several dora inputs into whole frames, released in frame order.

dora keeps each input in order but interleaves different inputs freely (frame 7 of the wrist
camera can arrive before frame 6 of the state), so parts are collected by the contract's
``frame`` counter. A frame is released when every stream has delivered its part, or as *lost*
once it cannot complete any more: every stream missing a part has already delivered a later frame
(inputs are FIFO, so that part was dropped), its stream closed, it fell more than ``horizon``
frames behind the newest one, or the assembler is flushed. Frame numbers that no stream ever
delivered are released as lost too. Nothing is ever dropped silently: a part that repeats or
arrives after its frame was released is counted as a duplicate and refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dora_sim.codec import FrameStamp


@dataclass
class Frame:
    """One tick: all parts (``lost`` False) or what arrived of it (``lost`` True).

    ``stamp`` is None only for a lost frame of which no part arrived at all.
    """

    number: int
    stamp: FrameStamp | None
    parts: dict[str, Any] = field(default_factory=dict)
    lost: bool = False
    missing: tuple[str, ...] = ()


@dataclass
class AssemblerCounters:
    frames: int = 0  # complete frames released
    lost: int = 0  # frames released incomplete (or never seen)
    duplicates: int = 0  # parts refused because they repeat or come too late


class FrameAssembler:
    def __init__(self, streams: Iterable[str], horizon: int = 300):
        self.streams = tuple(streams)
        if not self.streams:
            raise ValueError("FrameAssembler needs at least one stream")
        self.horizon = horizon
        self.pending: dict[int, Frame] = {}
        self.watermark: dict[str, int] = {}  # last frame number each stream delivered
        self.closed: set[str] = set()
        self.next_number: int | None = None  # first frame not yet released
        self.newest = -1
        self.counters = AssemblerCounters()

    def add(self, stream: str, stamp: FrameStamp, value: Any) -> tuple[list[Frame], str | None]:
        """Add one part. Returns (frames now released in order, a refusal reason or None)."""
        if stream not in self.streams:
            return [], f"unknown stream {stream!r}"
        number = stamp.frame
        last = self.watermark.get(stream)
        released = self.next_number is not None and number < self.next_number
        if (last is not None and number <= last) or released:
            self.counters.duplicates += 1
            why = "was already released" if released else f"after frame {last}"
            return self.release(), f"{stream}: frame {number} repeats or is late ({why})"
        self.watermark[stream] = number
        self.newest = max(self.newest, number)
        frame = self.pending.get(number)
        if frame is None:
            frame = self.pending[number] = Frame(number, stamp)
        elif frame.stamp != stamp:
            self.counters.duplicates += 1
            return self.release(), (
                f"{stream}: frame {number} counters {stamp} disagree with "
                f"the other streams' {frame.stamp}"
            )
        frame.parts[stream] = value
        return self.release(), None

    def close(self, stream: str) -> list[Frame]:
        """The stream's input closed: it will deliver nothing more."""
        self.closed.add(stream)
        return self.release()

    def flush(self) -> list[Frame]:
        """Release everything pending, incomplete frames as lost (end of the session)."""
        return self.release(force=True)

    @property
    def backlog(self) -> int:
        return len(self.pending)

    def release(self, force: bool = False) -> list[Frame]:
        out: list[Frame] = []
        while self.pending:
            number = min(self.pending)
            if self.next_number is not None and number > self.next_number:
                if not (force or self._resolved(self.next_number)):
                    break
                out.append(self._lost(Frame(self.next_number, None)))
                self.next_number += 1
                continue
            frame = self.pending[number]
            complete = len(frame.parts) == len(self.streams)
            if not (complete or force or self._resolved(number)):
                break
            del self.pending[number]
            out.append(frame if complete else self._lost(frame))
            if complete:
                self.counters.frames += 1
            self.next_number = number + 1
        return out

    def _resolved(self, number: int) -> bool:
        """True when no missing part of frame ``number`` can still arrive."""
        if self.newest - number > self.horizon:
            return True
        frame = self.pending.get(number)
        have = frame.parts if frame is not None else {}
        return all(
            s in have or s in self.closed or self.watermark.get(s, -1) > number
            for s in self.streams
        )

    def _lost(self, frame: Frame) -> Frame:
        frame.lost = True
        frame.missing = tuple(s for s in self.streams if s not in frame.parts)
        self.counters.lost += 1
        return frame
