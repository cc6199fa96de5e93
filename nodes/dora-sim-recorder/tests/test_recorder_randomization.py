"""Each episode's domain randomization is stored with the dataset: one line per saved episode in
``meta/randomization.jsonl``, committed atomically with the episode, kept through packing and
resume; a randomized suite dataset recorded by a real graph loads in LeRobot."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import recorder_testkit as kit

from dora_sim import contract as c
from dora_sim_recorder import randomization
from dora_sim_recorder.sequencer import EndEpisode
from dora_sim_recorder.store import DatasetStore

FRAMES = 5
REPO = Path(__file__).resolve().parents[3]


def sampled(seed: int) -> str:
    """What a simulator sends on an episode start (the shape of Randomizer.record())."""
    values = {"lights.sun.intensity": 1.0 + seed / 100, "latency.ticks": seed % 2}
    return json.dumps({"profile": "test.yaml", "digest": "d", "frequency": {}, "values": values})


def lines(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / randomization.SIDECAR).read_text().splitlines()]


def total_episodes(root: Path) -> int:
    return int(json.loads((root / "meta" / "info.json").read_text())["total_episodes"])


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    for key, value in kit.recorder_env(tmp_path / "ds").items():
        monkeypatch.setenv(key, value)


def test_each_saved_episode_gets_its_line_through_pack_and_resume(tmp_path):
    root = tmp_path / "ds"
    writer = kit.writer_for(root)
    kit.feed(writer, 0, FRAMES, sampled(0))
    writer.handle(kit.end(0, FRAMES))
    assert [line["seed"] for line in lines(root)] == [0]
    kit.feed(writer, 1, FRAMES, sampled(1))  # re-recorded: discarded, no line
    writer.handle(EndEpisode(1, False, c.END_RERECORD, False, FRAMES, False, (), "rerecord"))
    kit.feed(writer, 2, FRAMES, sampled(2))
    writer.handle(kit.end(2, FRAMES))
    writer.close(pack=True)
    kit.check_dataset(root, [FRAMES, FRAMES])  # LeRobot loads it, every frame decodes
    assert len(list((root / "data").glob("*/*.parquet"))) == 1  # packed, the sidecar kept

    writer = kit.writer_for(root)  # a second session resumes it
    kit.feed(writer, 7, FRAMES, sampled(7))
    writer.handle(kit.end(7, FRAMES))
    writer.close(pack=True)
    kit.check_dataset(root, [FRAMES] * 3)
    stored = randomization.read(root)
    assert sorted(stored) == [0, 1, 2]  # dataset episode indices
    assert [stored[i]["seed"] for i in range(3)] == [0, 2, 7]
    assert stored[1] == {"episode_index": 1, "seed": 2, "task": kit.TASK, **json.loads(sampled(2))}


def test_an_episode_without_randomization_has_no_line(tmp_path):
    root = tmp_path / "ds"
    writer = kit.writer_for(root)
    kit.feed(writer, 0, FRAMES)
    writer.handle(kit.end(0, FRAMES))
    kit.feed(writer, 1, FRAMES, sampled(1))
    writer.handle(kit.end(1, FRAMES))
    writer.close(pack=True)
    assert sorted(randomization.read(root)) == [1]


def test_deleting_episodes_carries_the_lines_over_renumbered(tmp_path):
    """scripts/delete_episodes.py (LeRobot's dataset_tools underneath) keeps the sidecar in step."""
    import importlib.util

    script = REPO / "scripts" / "delete_episodes.py"
    spec = importlib.util.spec_from_file_location("delete_episodes", script)
    delete_episodes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(delete_episodes)
    root = tmp_path / "ds"
    writer = kit.writer_for(root)
    for seed in (3, 4, 5):
        kit.feed(writer, seed, FRAMES, sampled(seed))
        writer.handle(kit.end(seed, FRAMES))
    writer.close(pack=True)
    args = ["--repo_id", kit.REPO_ID, "--root", str(root), "--episode_indices", "[1]"]
    assert delete_episodes.main(args) == 0
    kit.check_dataset(root, [FRAMES, FRAMES])
    stored = randomization.read(root)
    assert {i: line["seed"] for i, line in stored.items()} == {0: 3, 1: 5}
    assert stored[1]["values"] == json.loads(sampled(5))["values"]


def test_a_crash_anywhere_in_a_commit_keeps_the_lines_in_step_with_the_episodes(
    tmp_path, monkeypatch
):
    from test_recorder_store import Crash, crash_after

    template = tmp_path / "template"
    root = template / "ds"
    writer = kit.writer_for(root)
    kit.feed(writer, 0, FRAMES, sampled(0))
    writer.handle(kit.end(0, FRAMES))
    kit.feed(writer, 1, FRAMES, sampled(1))
    writer.dataset.save_episode()  # what _save does before its commit, by hand
    writer.dataset.finalize()
    randomization.append(writer.store.lerobot_root, {"episode_index": 1, **json.loads(sampled(1))})
    writer.store.release(remove=False)
    points = 0
    while True:
        case = tmp_path / f"crash{points}"
        shutil.copytree(template, case, symlinks=True)
        store = DatasetStore(case / "ds", case / ".ds.recorder")
        store._known = writer.store._known
        crash_after(monkeypatch, points)
        try:
            store.commit()
            finished = True
        except Crash:
            finished = False
        monkeypatch.undo()
        assert len(lines(case / "ds")) == total_episodes(case / "ds") == (2 if finished else 1)
        if finished:
            break
        store.recover()
        assert len(lines(case / "ds")) == total_episodes(case / "ds") == 2
        shutil.rmtree(case)
        points += 1
    assert points >= 10


@pytest.mark.slow
def test_a_randomized_suite_recorded_by_a_real_graph_loads_in_lerobot(tmp_path):
    """dataflow-record-expert.yaml with TASK=suite:all RANDOMIZATION=moderate: each episode's
    instruction in LeRobot, each episode's values beside it, the same a simulator samples."""
    from dora_sim.headless import headless_env
    from dora_sim_mujoco.randomization_config import PROFILE_DIR, load
    from dora_sim_mujoco.simulator import SimConfig, Simulator
    from dora_sim_mujoco.tasks import TASKS

    root = tmp_path / "ds"
    flow = tmp_path / "record.yaml"
    shutil.copyfile(REPO / "dataflows" / "dataflow-record-expert.yaml", flow)
    # Short episodes (2 s, no early end): what is checked is what was stored, not success.
    env = headless_env(**kit.recorder_env(root, NUM_EPISODES="5", TASK="suite:all",
                                          RANDOMIZATION="moderate", SEED="20",
                                          EPISODE_TIME_S="2", END_ON_SUCCESS="0",
                                          IMAGE_HEIGHT=str(kit.HEIGHT),
                                          IMAGE_WIDTH=str(kit.WIDTH)))  # fmt: skip
    result = subprocess.run([str(kit.VENV_BIN / "dora"), "run", str(flow)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]

    dataset = kit.load(root)
    assert dataset.meta.total_episodes == 5
    tasks = [list(ep["tasks"]) for ep in dataset.meta.episodes]
    expected = [TASKS[name].description for name in TASKS]  # seeds 20..24: tasks 0..4 in turn
    assert tasks == [[description] for description in expected]
    stored = randomization.read(root)
    assert sorted(stored) == list(range(5))
    profile = load(REPO / PROFILE_DIR / "moderate.yaml")
    sim = Simulator(SimConfig(task="suite:all", cameras=("front", "wrist"), height=kit.HEIGHT,
                              width=kit.WIDTH, randomization=profile))  # fmt: skip
    try:
        for index, line in stored.items():
            assert line["seed"] == 20 + index and line["task"] == expected[index]
            sim.reset(line["seed"])
            assert line["values"] == sim.randomization()["values"]
            assert line["digest"] == profile.digest
    finally:
        sim.close()
