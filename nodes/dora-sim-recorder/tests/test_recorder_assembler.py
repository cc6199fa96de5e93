"""FrameAssembler: parts of one tick joined by frame number, released in order, losses reported."""

from __future__ import annotations

import random

from dora_sim import contract as c
from dora_sim.codec import FrameStamp
from dora_sim_recorder.assembler import FrameAssembler

STREAMS = ("action", "observation.state", "observation.images.front")


def stamp(frame: int) -> FrameStamp:
    return FrameStamp(frame, 0, frame, frame / 30, c.PHASE_EPISODE)


def test_interleaved_inputs_release_whole_frames_in_order():
    parts = [(s, f) for f in range(50) for s in STREAMS]
    rng = random.Random(1)
    # dora keeps each input in order but interleaves inputs: shuffle, then restore per-input order
    shuffled = sorted(parts, key=lambda p: p[1] + rng.uniform(-3, 3))
    per_stream = {s: iter(sorted(f for t, f in parts if t == s)) for s in STREAMS}
    stream_order = [(s, next(per_stream[s])) for s, _ in shuffled]
    assembler = FrameAssembler(STREAMS)
    released = []
    for stream, frame in stream_order:
        frames, refusal = assembler.add(stream, stamp(frame), f"{stream}@{frame}")
        assert refusal is None
        released += frames
    assert [f.number for f in released] == list(range(50))
    assert not any(f.lost for f in released)
    assert released[7].parts["action"] == "action@7"
    assert assembler.counters.frames == 50 and assembler.counters.lost == 0


def test_a_part_dropped_upstream_is_released_as_lost_once_its_input_moves_on():
    assembler = FrameAssembler(STREAMS)
    out = []
    for frame in range(4):
        for stream in STREAMS:
            if not (frame == 1 and stream == "observation.images.front"):
                out += assembler.add(stream, stamp(frame), frame)[0]
    assert [(f.number, f.lost) for f in out] == [(0, False), (1, True), (2, False), (3, False)]
    assert out[1].missing == ("observation.images.front",)
    assert assembler.counters.lost == 1


def test_ticks_missing_on_every_input_are_released_as_lost_without_a_stamp():
    assembler = FrameAssembler(("a", "b"))
    out = []
    for frame in (0, 1, 4):
        for stream in ("a", "b"):
            out += assembler.add(stream, stamp(frame), frame)[0]
    assert [(f.number, f.lost, f.stamp is None) for f in out] == [
        (0, False, False),
        (1, False, False),
        (2, True, True),
        (3, True, True),
        (4, False, False),
    ]


def test_duplicates_and_late_parts_are_refused_not_used():
    assembler = FrameAssembler(("a", "b"))
    assembler.add("a", stamp(0), "first")
    frames, refusal = assembler.add("a", stamp(0), "again")
    assert refusal is not None and "repeats" in refusal
    frames, _ = assembler.add("b", stamp(0), "b0")
    assert frames[0].parts["a"] == "first"
    _, refusal = assembler.add("b", stamp(0), "late")
    assert refusal is not None
    assert assembler.counters.duplicates == 2


def test_counters_that_disagree_between_inputs_are_refused():
    assembler = FrameAssembler(("a", "b"))
    assembler.add("a", stamp(0), 1)
    other = FrameStamp(0, 0, 0, 0.0, c.PHASE_RESET)
    _, refusal = assembler.add("b", other, 1)
    assert refusal is not None and "disagree" in refusal


def test_a_silent_or_closed_input_does_not_hold_frames_forever():
    assembler = FrameAssembler(("a", "b"), horizon=5)
    out = []
    for frame in range(10):
        out += assembler.add("a", stamp(frame), frame)[0]
    assert [f.number for f in out] == [0, 1, 2, 3]  # beyond the horizon: lost, not held
    assert all(f.lost for f in out)
    out = assembler.close("b")
    assert [f.number for f in out] == [4, 5, 6, 7, 8, 9]


def test_flush_releases_everything_pending_as_lost():
    assembler = FrameAssembler(("a", "b"))
    assembler.add("a", stamp(0), 0)
    out = assembler.flush()
    assert len(out) == 1 and out[0].lost and out[0].missing == ("b",)
    assert assembler.backlog == 0
