"""Crash safety of the commit, step by step: a crash after any file operation of a commit leaves a
dataset that LeRobot loads with the episodes committed before, and the next session completes
the interrupted commit. (A crash is simulated by making the n-th file placement raise; the real
SIGKILL tests are in test_recorder_crash.py.)
"""

from __future__ import annotations

import shutil

import pytest
import recorder_testkit as kit

from dora_sim_recorder import store as store_module
from dora_sim_recorder.store import DatasetStore, StoreError

FRAMES = (6, 5)
writer_for, feed, end = kit.writer_for, kit.feed, kit.end


class Crash(Exception):
    pass


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    for key, value in kit.recorder_env(tmp_path / "ds").items():
        monkeypatch.setenv(key, value)


def crash_after(monkeypatch, operations: int) -> None:
    """Make the store's file operations (link, copy, place, exchange) raise after ``operations``."""
    calls = {"n": 0}

    def counted(name):
        real = getattr(store_module, name)

        def operation(*args, **kwargs):
            if calls["n"] >= operations:
                raise Crash(f"simulated kill before {name}{args}")
            calls["n"] += 1
            return real(*args, **kwargs)

        return operation

    for name in ("_place", "_link", "_copy", "_exchange"):
        monkeypatch.setattr(store_module, name, counted(name))


def test_every_crash_point_of_a_commit_is_loadable_and_rolls_forward(tmp_path, monkeypatch):
    template = tmp_path / "template"
    root = template / "ds"
    writer = writer_for(root)
    feed(writer, 0, FRAMES[0])
    writer.handle(end(0, FRAMES[0]))
    feed(writer, 1, FRAMES[1])
    writer.dataset.save_episode()  # the second episode saved in the work copy, not committed
    writer.dataset.finalize()
    writer.store.release(remove=False)
    points = 0
    while True:
        case = tmp_path / f"crash{points}"
        shutil.copytree(template, case, symlinks=True)
        store = DatasetStore(case / "ds", case / ".ds.recorder")
        store._known = writer.store._known  # the work copy's files before the second save
        crash_after(monkeypatch, points)
        try:
            store.commit()
            finished = True
        except Crash:
            finished = False
        monkeypatch.undo()
        for key, value in kit.recorder_env(case / "ds").items():
            monkeypatch.setenv(key, value)
        # whatever the crash point, what is on disk loads, with 1 or 2 whole episodes
        kit.check_dataset(case / "ds", [FRAMES[0]] if not finished else list(FRAMES))
        if finished:
            break
        assert DatasetStore(case / "ds", case / ".ds.recorder").recover() is not None
        kit.check_dataset(case / "ds", list(FRAMES))
        shutil.rmtree(case)
        points += 1
    assert points >= 10  # data, 2 videos, every file of the new meta/, the exchange


def test_an_interrupted_first_commit_never_leaves_a_half_made_root(tmp_path, monkeypatch):
    root = tmp_path / "ds"
    writer = writer_for(root)
    feed(writer, 0, FRAMES[0])
    crash_after(monkeypatch, 3)
    with pytest.raises(Crash):
        writer.handle(end(0, FRAMES[0]))
    monkeypatch.undo()
    assert not root.exists()
    store = DatasetStore(root, tmp_path / ".ds.recorder")
    assert store.pending() is not None
    store.recover()
    kit.check_dataset(root, [FRAMES[0]])


def test_a_dataset_changed_since_the_interrupted_commit_is_not_touched(tmp_path):
    root = tmp_path / "ds"
    writer = writer_for(root)
    feed(writer, 0, FRAMES[0])
    writer.handle(end(0, FRAMES[0]))
    work = tmp_path / ".ds.recorder"
    (work / "commit.json").write_text(
        '{"files": [], "meta": [], "base_episodes": 7, "target_episodes": 8}'
    )
    with pytest.raises(StoreError, match="changed since"):
        DatasetStore(root, work).recover()
    writer.store.release(remove=False)
    kit.check_dataset(root, [FRAMES[0]])
