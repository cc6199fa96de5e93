"""EpisodeSequencer: frames paired with the simulator's episode events, whatever their skew."""

from __future__ import annotations

from typing import Any

from dora_sim import contract as c
from dora_sim.codec import EpisodeEnd, EpisodeStart, FrameStamp
from dora_sim_recorder.assembler import Frame
from dora_sim_recorder.config import EXPORT_ALL, EXPORT_SUCCEEDED
from dora_sim_recorder.sequencer import AddFrame, EndEpisode, EpisodeSequencer, StartEpisode


def start(index: int, frame: int) -> EpisodeStart:
    return EpisodeStart(frame, index, "t", 0, 30)


def end(index: int, frame: int, frames: int, **extra: Any) -> EpisodeEnd:
    fields = {"success": False, "reason": c.END_TIME_LIMIT, "last": False, **extra}
    return EpisodeEnd(frame, index, "t", 0, 30, num_frames=frames, sim_time=frames / 30,
                      wall_time=frames / 30, **fields)  # fmt: skip


def frame(number: int, episode: int, episode_frame: int, phase: str = c.PHASE_EPISODE) -> Frame:
    return Frame(
        number, FrameStamp(number, episode, episode_frame, episode_frame / 30, phase), {"x": number}
    )


def episode_frames(episode: int, first: int, count: int) -> list[Frame]:
    return [frame(first + i, episode, i) for i in range(count)]


def run(events: list[tuple[str, Any]], mode: str = EXPORT_ALL) -> list[Any]:
    seq = EpisodeSequencer(mode)
    out: list[Any] = []
    for kind, item in events:
        if kind == "start":
            out += seq.on_start(item)
        elif kind == "end":
            out += seq.on_end(item)
        else:
            out += seq.on_frame(item)
    return out + seq.flush()


def summary(commands: list[Any]) -> list[tuple]:
    rows = []
    for cmd in commands:
        if isinstance(cmd, StartEpisode):
            rows.append(("start", cmd.index))
        elif isinstance(cmd, AddFrame):
            rows.append(("frame", cmd.index, cmd.episode_frame))
        elif isinstance(cmd, EndEpisode):
            rows.append(("end", cmd.index, cmd.keep))
    return rows


def test_events_before_or_after_frames_give_the_same_clean_stream():
    frames0 = episode_frames(0, 0, 3)
    resets = [frame(3, 0, 0, c.PHASE_RESET)]
    frames1 = episode_frames(1, 4, 2)
    expected = [
        ("start", 0),
        ("frame", 0, 0),
        ("frame", 0, 1),
        ("frame", 0, 2),
        ("end", 0, True),
        ("start", 1),
        ("frame", 1, 0),
        ("frame", 1, 1),
        ("end", 1, True),
    ]
    in_order = [
        ("start", start(0, 0)),
        *[("f", f) for f in frames0],
        ("end", end(0, 3, 3)),
        *[("f", f) for f in resets],
        ("start", start(1, 4)),
        *[("f", f) for f in frames1],
        ("end", end(1, 6, 2, last=True)),
    ]
    events_late = [
        *[("f", f) for f in frames0 + resets + frames1],
        ("start", start(0, 0)),
        ("end", end(0, 3, 3)),
        ("start", start(1, 4)),
        ("end", end(1, 6, 2, last=True)),
    ]
    events_early = [
        ("start", start(0, 0)),
        ("end", end(0, 3, 3)),
        ("start", start(1, 4)),
        ("end", end(1, 6, 2)),
        *[("f", f) for f in frames0 + resets + frames1],
    ]
    for events in (in_order, events_late, events_early):
        assert summary(run(events)) == expected


def test_an_episode_ends_as_soon_as_its_last_frame_is_in():
    seq = EpisodeSequencer(EXPORT_ALL)
    seq.on_start(start(0, 0))
    seq.on_frame(frame(0, 0, 0))
    assert seq.on_end(end(0, 2, 2)) == []  # frame 1 still in flight
    out = seq.on_frame(frame(1, 0, 1))
    assert summary(out) == [("frame", 0, 1), ("end", 0, True)]


def test_rerecord_and_reset_are_discarded_and_export_mode_filters_failures():
    events = [
        ("start", start(0, 0)),
        *[("f", f) for f in episode_frames(0, 0, 2)],
        ("end", end(0, 2, 2, reason=c.END_RERECORD)),
        ("start", start(1, 2)),
        *[("f", f) for f in episode_frames(1, 2, 2)],
        ("end", end(1, 4, 2, reason=c.END_SUCCESS, success=True)),
        ("start", start(2, 4)),
        *[("f", f) for f in episode_frames(2, 4, 2)],
        ("end", end(2, 6, 2)),
    ]
    ends = [cmd for cmd in run(events, EXPORT_SUCCEEDED) if isinstance(cmd, EndEpisode)]
    assert [(e.index, e.keep) for e in ends] == [(0, False), (1, True), (2, False)]
    assert "rerecord" in ends[0].why_dropped and "succeeded" in ends[2].why_dropped
    ends = [cmd for cmd in run(events, EXPORT_ALL) if isinstance(cmd, EndEpisode)]
    assert [(e.index, e.keep) for e in ends] == [(0, False), (1, True), (2, True)]


def test_a_lost_or_duplicated_frame_discards_its_episode_and_says_why():
    lost = Frame(1, FrameStamp(1, 0, 1, 1 / 30, c.PHASE_EPISODE), {}, lost=True, missing=("x",))
    events = [
        ("start", start(0, 0)),
        ("f", frame(0, 0, 0)),
        ("f", lost),
        ("f", frame(2, 0, 2)),
        ("end", end(0, 3, 3)),
    ]
    (ended,) = [cmd for cmd in run(events) if isinstance(cmd, EndEpisode)]
    assert not ended.keep and "frame 1 lost: no x" in ended.why_dropped
    events = [
        ("start", start(0, 0)),
        ("f", frame(0, 0, 0)),
        ("f", frame(1, 0, 0)),
        ("f", frame(2, 0, 1)),
        ("end", end(0, 3, 2)),
    ]
    (ended,) = [cmd for cmd in run(events) if isinstance(cmd, EndEpisode)]
    assert not ended.keep and "duplicated" in ended.why_dropped
    events = [
        ("start", start(0, 0)),
        ("f", frame(0, 0, 0)),
        ("f", frame(1, 0, 1)),
        ("end", end(0, 4, 4)),
        ("f", frame(4, 0, 0, c.PHASE_RESET)),
    ]
    (ended,) = [cmd for cmd in run(events) if isinstance(cmd, EndEpisode)]
    assert not ended.keep and "2..3 missing" in ended.why_dropped


def test_a_tick_lost_on_every_input_counts_against_the_open_episode():
    events = [
        ("start", start(0, 0)),
        ("f", frame(0, 0, 0)),
        ("f", Frame(1, None, lost=True)),
        ("f", frame(2, 0, 2)),
        ("end", end(0, 3, 3)),
    ]
    (ended,) = [cmd for cmd in run(events) if isinstance(cmd, EndEpisode)]
    assert not ended.keep and "lost on every input" in ended.why_dropped


def test_stop_before_the_end_event_drops_the_open_episode():
    events = [("start", start(0, 0)), *[("f", f) for f in episode_frames(0, 0, 3)]]
    commands = run(events)
    assert summary(commands)[-1] == ("end", 0, False)
    assert "stopped before the episode ended" in commands[-1].why_dropped


def test_frames_without_a_start_event_are_bounded_and_reported():
    seq = EpisodeSequencer(EXPORT_ALL, max_held=5)
    for f in episode_frames(3, 0, 8):
        assert seq.on_frame(f) == []
    assert seq.counters.orphans == 3 and len(seq.held) == 5
    assert any("no episode start event" in m for m in seq.messages)


def test_an_episode_of_which_no_frame_arrived_is_reported():
    events = [
        ("start", start(0, 0)),
        ("end", end(0, 2, 2)),
        ("start", start(1, 2)),
        *[("f", f) for f in episode_frames(1, 2, 2)],
        ("end", end(1, 4, 2)),
    ]
    seq = EpisodeSequencer(EXPORT_ALL)
    out = []
    for kind, item in events:
        out += {"start": seq.on_start, "end": seq.on_end, "f": seq.on_frame}[kind](item)
    assert summary(out)[0] == ("start", 1)
    assert seq.counters.episodes_dropped == 1
    assert any("not one of its frames" in m for m in seq.messages)
