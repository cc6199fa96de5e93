"""Fuzzing the recorder with damaged simulator streams: it never crashes, never saves a corrupt
episode, and the dataset loads after every case.

Each case takes a clean four-episode stream (episodes of 6, 7, 8 and 9 frames, so a saved
episode's length names it) and damages it a few times at random: parts dropped, duplicated,
re-ordered across ticks, NaN states, images of the wrong size, counters that disagree, episode
events moved, duplicated or garbled. Episodes no damage touched must be saved; every saved
episode is checked frame by frame (state and grey level against its frame index).
"""

from __future__ import annotations

import copy
import random
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import recorder_testkit as kit
from dora.testing import MockNode

from dora_sim import contract as c
from dora_sim_recorder import main as recorder

pytestmark = pytest.mark.slow
LENGTHS = [6, 7, 8, 9]
Event = dict[str, Any]


def episode_of(event: Event) -> int | None:
    return event["metadata"].get(c.MD_EPISODE)


def drop(events: list[Event], i: int, rng: random.Random) -> None:
    del events[i]


def duplicate(events: list[Event], i: int, rng: random.Random) -> None:
    events.insert(i + rng.randint(1, 8), copy.deepcopy(events[i]))


def move_late(events: list[Event], i: int, rng: random.Random) -> None:
    events.insert(min(len(events), i + rng.randint(5, 40)), events.pop(i))


def nan_state(events: list[Event], i: int, rng: random.Random) -> None:
    if events[i]["id"] in (c.STATE, kit.ACTION):
        events[i]["value"] = pa.array([np.nan] * 6, type=pa.float32())


def wrong_size(events: list[Event], i: int, rng: random.Random) -> None:
    if events[i]["id"].startswith(c.IMAGE_PREFIX):
        events[i]["metadata"][c.MD_HEIGHT] = kit.HEIGHT - 2


def bad_counter(events: list[Event], i: int, rng: random.Random) -> None:
    md = events[i]["metadata"]
    if c.MD_EPISODE_FRAME in md:
        md[c.MD_EPISODE_FRAME] += rng.choice([-1, 1, 5])


def garble_event(events: list[Event], i: int, rng: random.Random) -> None:
    if events[i]["id"] == c.EPISODE:
        events[i]["metadata"][rng.choice([c.MD_FPS, c.MD_NUM_FRAMES, c.MD_SUCCESS])] = "??"


DAMAGES = [drop, duplicate, move_late, nan_state, wrong_size, bad_counter, garble_event]


def damaged_stream(seed: int) -> tuple[list[Event], set[int]]:
    """A clean stream with 1-4 random damages; returns it and the episodes left untouched."""
    rng = random.Random(seed)
    events = kit.sim_events([kit.Episode(n) for n in LENGTHS], shuffle_seed=seed)
    touched: set[int] = set()
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(events))
        damage = rng.choice(DAMAGES)
        before = copy.deepcopy(events[i])
        damage(events, i, rng)
        if before != events[i] or damage in (drop, duplicate, move_late):
            episode = before["metadata"].get(c.MD_EPISODE)
            touched.add(episode if episode is not None else -1)
            if before["id"] == c.EPISODE or damage is move_late:
                touched.update({episode - 1, episode + 1})  # events sit between episodes
    return events, set(range(len(LENGTHS))) - touched


@pytest.mark.parametrize("seed", range(12))
def test_a_damaged_stream_never_crashes_the_recorder_nor_corrupts_the_dataset(
    seed, tmp_path, monkeypatch
):
    root = tmp_path / "ds"
    for key, value in kit.recorder_env(root).items():
        monkeypatch.setenv(key, value)
    events, untouched = damaged_stream(seed)
    code = recorder.main([], node=MockNode(events, node_config=kit.node_config()))
    assert code == 0
    if not root.exists():
        assert not untouched, f"untouched episodes {untouched} were not saved"
        return
    dataset = kit.load(root)
    saved = [int(episode["length"]) for episode in dataset.meta.episodes]
    assert saved == sorted(saved) and len(set(saved)) == len(saved)  # in order, none twice
    assert {LENGTHS[i] for i in untouched} <= set(saved), (saved, untouched)
    kit.check_dataset(root, saved)  # every saved frame is the right one
