"""The recorder node end to end on dora's MockNode: real LeRobot writer, real datasets on disk.

Every dataset written here is loaded back with LeRobotDataset; every row is read and every video
frame decoded, and each frame's grey level must match its row (see recorder_testkit).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import recorder_testkit as kit
from dora.testing import MockNode

from dora_sim import codec
from dora_sim import contract as c
from dora_sim_recorder import main as recorder

TESTS = Path(__file__).parent


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "ds"
    for key, value in kit.recorder_env(path).items():
        monkeypatch.setenv(key, value)
    for key in ("RESUME_RECORDING", "EXPORT_MODE", "STATE_INPUTS", "EXTRA_INPUTS"):
        monkeypatch.delenv(key, raising=False)
    return path


def run_node(events: list[dict[str, Any]], **config: Any) -> tuple[int, MockNode]:
    node = MockNode(events, node_config=config.pop("node_config", kit.node_config()))
    return recorder.main([], node=node), node


def said(capsys, caplog) -> str:
    """Everything the node printed or logged (pytest may own the logging handlers)."""
    return capsys.readouterr().out + caplog.text


def last_status(node: MockNode) -> dict[str, Any]:
    return json.loads(node.outputs[c.STATUS][-1][0].as_py())


def snapshot(path: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(path)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """One session: a kept episode, a rerecorded one (discarded), a successful one."""
    path = tmp_path_factory.mktemp("recorded") / "ds"
    saved = dict(os.environ)
    os.environ.update(kit.recorder_env(path))
    try:
        episodes = [kit.Episode(20), kit.Episode(12, c.END_RERECORD), kit.Episode(15, success=True)]
        code, node = run_node(kit.sim_events(episodes))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert code == 0
    status = last_status(node)
    assert (status["saved"], status["discarded"], status["episodes"]) == (2, 1, 2)
    assert status["frames_lost"] == status["frames_duplicated"] == status["rejected_messages"] == 0
    return path


def test_kept_episodes_load_and_every_video_frame_matches_its_row(recorded):
    kit.check_dataset(recorded, [20, 15])
    assert not (recorded.parent / ".ds.recorder").exists()  # work copy gone after a clean end


def test_torchcodec_decodes_every_frame_too(recorded, tmp_path):
    script = (
        "import sys, recorder_testkit as kit; from pathlib import Path; "
        "kit.check_dataset(Path(sys.argv[1]), [20, 15], backend='torchcodec')"
    )
    env = kit.ffmpeg_env(tmp_path)
    env["PYTHONPATH"] = f"{TESTS}:{env.get('PYTHONPATH', '')}"
    result = subprocess.run(
        [sys.executable, "-c", script, str(recorded)], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_export_succeeded_keeps_only_successful_episodes(root, monkeypatch):
    monkeypatch.setenv("EXPORT_MODE", "succeeded")
    episodes = [kit.Episode(8), kit.Episode(9, c.END_SUCCESS, success=True), kit.Episode(7)]
    code, node = run_node(kit.sim_events(episodes))
    assert code == 0
    kit.check_dataset(root, [9])
    assert last_status(node)["discarded"] == 2


def test_goal_reached_stops_the_simulator_and_resume_records_the_rest(root, monkeypatch):
    monkeypatch.setenv("NUM_EPISODES", "2")
    code, node = run_node(kit.sim_events([kit.Episode(6), kit.Episode(7), kit.Episode(8)]))
    assert code == 0
    assert [a[0].as_py() for a in node.outputs[c.CONTROL]] == [c.CONTROL_STOP]
    kit.check_dataset(root, [6, 7])
    # a new session (the simulator counts episodes from 0 again) continues the dataset
    monkeypatch.setenv("RESUME_RECORDING", "1")
    monkeypatch.setenv("NUM_EPISODES", "4")
    code, node = run_node(
        kit.sim_events([kit.Episode(5), kit.Episode(9, c.END_RESET), kit.Episode(4)])
    )
    assert code == 0
    kit.check_dataset(root, [6, 7, 5, 4])
    # already full: nothing recorded, the simulator is told to stop at once
    code, node = run_node(kit.sim_events([kit.Episode(5)]))
    assert code == 0 and node.outputs[c.CONTROL][0][0].as_py() == c.CONTROL_STOP
    kit.check_dataset(root, [6, 7, 5, 4])


def corrupt(events: list[dict[str, Any]], input_id: str, episode_frame: int, how: str) -> None:
    """Replace one message of ``input_id`` (first episode, ``episode_frame``) by a bad one."""
    for event in events:
        md = event["metadata"]
        if event["id"] == input_id and md.get(c.MD_EPISODE_FRAME) == episode_frame:
            if how == "nan":
                event["value"] = pa.array([np.nan] * 6, type=pa.float32())
            elif how == "short":
                event["value"] = pa.array([0.0] * 5, type=pa.float32())
            elif how == "radians-as-ticks":
                event["value"] = pa.array([2048.0] * 6, type=pa.float32())
            elif how == "bad-size":
                event["metadata"] = {**md, c.MD_WIDTH: kit.WIDTH + 1}
            elif how == "no-counters":
                event["metadata"] = {k: v for k, v in md.items() if k != c.MD_FRAME}
            elif how == "struct":
                event["value"] = pa.array([{"x": 1.0}])
            return
    raise AssertionError(f"no {input_id} message at episode frame {episode_frame}")


@pytest.mark.parametrize(
    ("input_id", "how"),
    [
        (kit.ACTION, "nan"),
        (c.STATE, "short"),
        (c.STATE, "radians-as-ticks"),
        (c.image_topic("front"), "bad-size"),
        (c.image_topic("wrist"), "no-counters"),
        (kit.ACTION, "struct"),
    ],
)
def test_malformed_messages_are_rejected_and_their_episode_discarded(root, input_id, how):
    events = kit.sim_events([kit.Episode(6), kit.Episode(5)])
    corrupt(events, input_id, 3, how)
    code, node = run_node(events)
    assert code == 0
    kit.check_dataset(root, [5])  # the first episode lost a frame: not written, nothing mixed
    status = last_status(node)
    assert status["rejected_messages"] == 1 and status["frames_lost"] == 1
    assert status["discarded"] == 1


def test_a_duplicated_message_is_refused_and_reported_without_harm(root):
    events = kit.sim_events([kit.Episode(6)], shuffle_seed=None)
    duplicate = next(e for e in events if e["id"] == c.STATE and e["metadata"][c.MD_FRAME] == 2)
    events.insert(events.index(duplicate) + 1, dict(duplicate))
    code, node = run_node(events)
    assert code == 0
    kit.check_dataset(root, [6])
    assert last_status(node)["frames_duplicated"] == 1


def test_bad_episode_events_and_unknown_control_are_rejected(root):
    events = kit.sim_events([kit.Episode(6)])
    events[0:0] = [
        kit._event(c.CONTROL, pa.array(["jump"]), {}),
        kit._event(c.EPISODE, codec.encode_text("pause"), {c.MD_EPISODE: 0}),
        kit._event(c.EPISODE, codec.encode_text("start"), {c.MD_EPISODE: "zero"}),
    ]
    code, node = run_node(events)
    assert code == 0
    kit.check_dataset(root, [6])
    assert last_status(node)["rejected_messages"] == 3


def test_a_peer_of_another_contract_version_fails_the_session_and_saves_nothing(root):
    events = kit.sim_events([kit.Episode(6)])
    events[0]["metadata"][c.MD_CONTRACT] = "1"  # an episode start from a first-wave simulator
    code, _ = run_node(events)
    assert code == 1
    assert not root.exists()


def test_existing_root_without_resume_is_refused_and_left_untouched(root):
    root.mkdir(parents=True)
    (root / "precious.txt").write_text("mine")
    before = snapshot(root.parent)
    code, node = run_node(kit.sim_events([kit.Episode(4)]))
    assert code == 2  # before connecting to dora: `dora run` fails at once with this error
    assert node.outputs == {}
    assert snapshot(root.parent) == before


def test_resume_without_a_dataset_is_a_clear_error(root, monkeypatch, capsys, caplog):
    monkeypatch.setenv("RESUME_RECORDING", "1")
    code, _ = run_node(kit.sim_events([kit.Episode(4)]))
    assert code == 2
    assert "no dataset at" in said(capsys, caplog)
    assert not (root.parent / ".ds.recorder").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fps": 15}, "fps: dataset has 30, the simulator runs at 15"),
        ({"cameras": ("front",)}, "feature 'observation.images.wrist' is in the dataset"),
        ({"robot": "koch_follower"}, "robot_type: dataset has 'so101_follower'"),
    ],
)
def test_resume_mismatch_names_the_difference_and_changes_nothing(
    root, monkeypatch, capsys, caplog, change, message
):
    assert run_node(kit.sim_events([kit.Episode(4)]))[0] == 0
    before = snapshot(root)
    monkeypatch.setenv("RESUME_RECORDING", "1")
    if "robot" in change:
        monkeypatch.setenv("ROBOT_TYPE", change["robot"])
    cameras = change.get("cameras", kit.CAMERAS)
    events = kit.sim_events([kit.Episode(4)], cameras=cameras, fps=change.get("fps", 30))
    code, node = run_node(events, node_config=kit.node_config(cameras))
    assert code == 1
    assert message in said(capsys, caplog)
    assert node.outputs[c.CONTROL][0][0].as_py() == c.CONTROL_STOP
    assert snapshot(root) == before
    kit.check_dataset(root, [4])


@pytest.mark.parametrize("where", ["file-as-parent", "proc"])
def test_unwritable_root_is_a_clear_error(root, monkeypatch, capsys, caplog, where):
    if where == "file-as-parent":
        blocker = root.parent / "not-a-dir"
        blocker.write_text("")
        monkeypatch.setenv("DATASET_ROOT", str(blocker / "ds"))
    else:
        monkeypatch.setenv("DATASET_ROOT", "/proc/dora-sim-recorder-test/ds")
    code, _ = run_node(kit.sim_events([kit.Episode(4)]))
    assert code == 2
    assert "cannot write next to the dataset" in said(capsys, caplog)


def test_config_errors_are_reported_not_raised(root, monkeypatch, capsys, caplog):
    monkeypatch.setenv("EXPORT_MODE", "some")
    assert run_node(kit.sim_events([kit.Episode(4)]))[0] == 2
    assert "EXPORT_MODE='some'" in said(capsys, caplog)
    monkeypatch.setenv("EXPORT_MODE", "all")
    monkeypatch.setenv("STATE_INPUTS", "joints")
    assert run_node(kit.sim_events([kit.Episode(4)]))[0] == 2
    assert "joints" in said(capsys, caplog)


def test_a_camera_the_simulator_never_sends_is_reported(root, capsys, caplog):
    events = kit.sim_events([kit.Episode(120)], cameras=("front",))
    code, node = run_node(events)  # the node is wired for front and wrist
    assert code == 1
    assert "observation.images.wrist sent nothing" in said(capsys, caplog)
    assert node.outputs[c.CONTROL][0][0].as_py() == c.CONTROL_STOP


@pytest.fixture
def lerobot_imported() -> None:
    """A session past its start: LeRobot already imported, so a STOP finds the writer ready (a
    Ctrl-C while it still imports, ~30 s on a slow machine, can only save what is done by
    then: nothing, and the sim held after 3 s of frames)."""
    import lerobot.datasets.lerobot_dataset  # noqa: F401


@pytest.mark.usefixtures("lerobot_imported")
def test_dora_stop_mid_episode_keeps_finished_episodes_and_drops_the_open_one(root):
    events = kit.sim_events([kit.Episode(6), kit.Episode(30)], shuffle_seed=None)
    end = max(i for i, e in enumerate(events) if e["id"] == c.EPISODE)
    events = events[: end - 20]  # stopped in the middle of the second episode
    events.append({"type": "STOP", "id": "CTRL_C"})
    code, node = run_node(events)
    assert code == 0
    kit.check_dataset(root, [6])
    assert last_status(node)["discarded"] == 1


@pytest.mark.usefixtures("lerobot_imported")
def test_inputs_queued_before_a_stop_still_complete_their_episode(root):
    """dora's scheduler gives STOP priority over queued inputs: an episode that ended just
    before a Ctrl-C arrives in part after the STOP, and is saved all the same."""
    events = kit.sim_events([kit.Episode(6), kit.Episode(30)], shuffle_seed=None)
    end = max(i for i, e in enumerate(events) if e["id"] == c.EPISODE)
    events.insert(end - 8, {"type": "STOP", "id": "CTRL_C"})  # last 2 ticks + end after it
    code, node = run_node(events)
    assert code == 0
    kit.check_dataset(root, [6, 30])
    assert last_status(node)["discarded"] == 0


def test_extra_inputs_become_their_own_features(root, monkeypatch):
    monkeypatch.setenv("EXTRA_INPUTS", "observation.environment_state=scene")
    events = kit.sim_events([kit.Episode(5)], shuffle_seed=None)
    for event in list(events):
        if event["id"] == c.STATE:
            scene = {**event, "id": c.SCENE, "value": pa.array(np.arange(14, dtype=np.float32))}
            events.insert(events.index(event) + 1, scene)
    config = kit.node_config()
    config["inputs"][c.SCENE] = {"source": "sim/scene"}
    code, _ = run_node(events, node_config=config)
    assert code == 0
    dataset = kit.load(root)
    assert dataset.meta.features["observation.environment_state"]["shape"] == (14,)
    assert float(dataset[3]["observation.environment_state"][13]) == 13.0


def test_relative_dataset_root_is_taken_from_the_shell_directory(tmp_path, monkeypatch):
    for key, value in kit.recorder_env(tmp_path / "unused").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DATASET_ROOT", "rel/ds")
    monkeypatch.setenv("PWD", str(tmp_path))
    assert run_node(kit.sim_events([kit.Episode(3)]))[0] == 0
    kit.check_dataset(tmp_path / "rel" / "ds", [3])
    shutil.rmtree(tmp_path / "rel")


def test_push_to_hub_failure_is_reported_and_the_local_dataset_kept(root, monkeypatch, caplog):
    monkeypatch.setenv("PUSH_TO_HUB", "1")  # HF_HUB_OFFLINE=1: the real Hub call fails at once
    code, _ = run_node(kit.sim_events([kit.Episode(4)]))
    assert code == 0
    assert "push to the Hub failed (the local dataset is intact)" in caplog.text
    kit.check_dataset(root, [4])
