"""scripts/delete_episodes.py: validates before touching, swaps atomically, and a resumed session
re-records the deleted count. Datasets come from the recorder node on dora's MockNode.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import recorder_testkit as kit
from dora.testing import MockNode

from dora_sim_recorder import main as recorder
from dora_sim_recorder.store import DatasetStore

REPO = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location(
    "delete_episodes", REPO / "scripts" / "delete_episodes.py"
)
delete_episodes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(delete_episodes)


@pytest.fixture
def recorded(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "ds"
    for key, value in kit.recorder_env(root).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("RESUME_RECORDING", raising=False)
    events = kit.sim_events([kit.Episode(5), kit.Episode(6), kit.Episode(7)])
    assert recorder.main([], node=MockNode(events, node_config=kit.node_config())) == 0
    return root


def snapshot(path: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in sorted(path.parent.rglob("*")) if p.is_file()}


def test_delete_then_resume_rerecords_the_deleted_count(recorded, monkeypatch):
    assert (
        delete_episodes.main(
            ["--repo_id", kit.REPO_ID, "--root", str(recorded), "--episode_indices", "[1]"]
        )
        == 0
    )
    kit.check_dataset(recorded, [5, 7])
    assert not [p for p in recorded.parent.iterdir() if p.name.startswith(".ds")]  # no leftovers
    monkeypatch.setenv("RESUME_RECORDING", "1")
    monkeypatch.setenv("NUM_EPISODES", "3")
    events = kit.sim_events([kit.Episode(8), kit.Episode(9)])
    assert recorder.main([], node=MockNode(events, node_config=kit.node_config())) == 0
    kit.check_dataset(recorded, [5, 7, 8])


@pytest.mark.parametrize(
    ("indices", "message"),
    [
        ("[3]", "do not exist"),
        ("[0, 1, 2]", "every episode"),
        ("[]", "empty"),
        ("[1.5]", "list of integers"),
        ("41,42]", "expected a list"),
    ],
)
def test_bad_indices_are_refused_before_anything_is_touched(recorded, capsys, indices, message):
    before = snapshot(recorded)
    code = delete_episodes.main(
        ["--repo_id", kit.REPO_ID, "--root", str(recorded), "--episode_indices", indices]
    )
    assert code == 2
    assert message in capsys.readouterr().err
    assert snapshot(recorded) == before


def test_refuses_while_a_recorder_writes_or_left_an_interrupted_save(recorded, capsys):
    store = DatasetStore(recorded, recorded.parent / ".ds.recorder")
    store.acquire()
    args = ["--repo_id", kit.REPO_ID, "--root", str(recorded), "--episode_indices", "[0]"]
    assert delete_episodes.main(args) == 2
    assert "a recorder is writing" in capsys.readouterr().err
    store.manifest.write_text("{}")
    store.release(remove=False)
    assert delete_episodes.main(args) == 2
    assert "RESUME_RECORDING=1" in capsys.readouterr().err
    kit.check_dataset(recorded, [5, 6, 7])


def test_a_missing_dataset_is_a_clear_error(tmp_path, capsys):
    code = delete_episodes.main(
        ["--repo_id", kit.REPO_ID, "--root", str(tmp_path / "none"), "--episode_indices", "[0]"]
    )
    assert code == 2 and "no LeRobot dataset" in capsys.readouterr().err
