"""Packing: a session's per-episode files become LeRobot v3's few large ones, with every frame
where it was, and a SIGKILL at any instant of the packing leaves a complete dataset.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import recorder_testkit as kit

from dora_sim_recorder import packer
from dora_sim_recorder.store import DatasetStore, work_dir

PACKED = {"data": 1, "meta/episodes": 1, **dict.fromkeys(kit.CAMERAS, 1)}


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    for key, value in kit.recorder_env(tmp_path / "ds").items():
        monkeypatch.setenv(key, value)


def unpacked(root: Path, frames: list[int]) -> None:
    """A dataset as a killed session leaves it: one file per episode and stream."""
    writer = kit.writer_for(root)
    kit.record(writer, frames)
    writer.close(pack=False)


def test_sessions_end_packed_with_every_frame_in_place(tmp_path, capsys):
    root = tmp_path / "ds"
    writer = kit.writer_for(root)
    kit.record(writer, [6, 5, 7])
    assert kit.file_counts(root)["wrist"] == 3  # committed one by one while recording
    writer.close(pack=True)
    assert kit.file_counts(root) == PACKED
    assert "packed" in capsys.readouterr().out
    kit.check_dataset(root, [6, 5, 7])
    assert not work_dir(root).exists()
    # a resumed session appends and packs again: still one file per stream
    writer = kit.writer_for(root)
    kit.record(writer, [4, 8], first_index=3)
    writer.close(pack=True)
    assert kit.file_counts(root) == PACKED
    kit.check_dataset(root, [6, 5, 7, 4, 8])
    assert not packer.needs_packing(root)


def test_size_limits_start_new_files_as_lerobots_writer_does(tmp_path):
    root = tmp_path / "ds"
    unpacked(root, [6, 5, 7, 4, 8])
    info_path = root / "meta" / "info.json"
    info = json.loads(info_path.read_text())
    front = sorted((root / "videos" / "observation.images.front").glob("*/*.mp4"))
    data = sorted((root / "data").glob("*/*.parquet"))
    # limits that hold two episodes' files but not three
    info["video_files_size_in_mb"] = (front[0].stat().st_size * 2.5) / 2**20
    info["data_files_size_in_mb"] = (data[0].stat().st_size * 2.5) / 2**20
    info_path.write_text(json.dumps(info, indent=4))
    store = DatasetStore(root, work_dir(root))
    store.acquire()
    store.replace_root(lambda new: packer.pack(root, new))
    store.release(remove=True)
    counts = kit.file_counts(root)
    assert 2 <= counts["front"] < 5 and 2 <= counts["data"] < 5
    kit.check_dataset(root, [6, 5, 7, 4, 8])


def test_a_dataset_out_of_episode_order_is_left_alone(tmp_path):
    root = tmp_path / "ds"
    unpacked(root, [6, 5])
    files = sorted((root / "meta" / "episodes").glob("*/*.parquet"))
    files[0].rename(files[0].with_name("file-999.parquet"))  # episode 0's row now sorts last
    with pytest.raises(packer.PackError, match="not episodes"):
        packer.needs_packing(root)


@pytest.mark.slow
def test_sigkill_at_any_instant_of_packing_leaves_a_complete_dataset(tmp_path):
    template = tmp_path / "template"
    frames = [6, 5, 7, 4, 8, 6]
    unpacked(template / "ds", frames)
    script = (
        "import sys; from pathlib import Path\n"
        "from dora_sim_recorder import packer\n"
        "from dora_sim_recorder.store import DatasetStore, work_dir\n"
        "root = Path(sys.argv[1]); store = DatasetStore(root, work_dir(root)); store.acquire()\n"
        "print('packing', flush=True)\n"
        "store.replace_root(lambda new: packer.pack(root, new))\n"
        "store.release(remove=True)\n"
    )
    seed = int(os.environ.get("RECORDER_CRASH_SEED", time.time_ns() % 1000))
    print(f"RECORDER_CRASH_SEED={seed}")
    rng = random.Random(seed)
    duration = None
    outcomes = set()
    for case_index in range(8):
        case = tmp_path / f"case{case_index}"
        subprocess.run(["cp", "-a", str(template), str(case)], check=True)
        root = case / "ds"
        process = subprocess.Popen(
            [sys.executable, "-c", script, str(root)], stdout=subprocess.PIPE, text=True
        )
        assert process.stdout.readline() == "packing\n"
        started = time.monotonic()
        if duration is None:  # the first run measures how long packing takes
            assert process.wait(timeout=120) == 0
            duration = time.monotonic() - started
        else:
            time.sleep(rng.uniform(0, duration))
            process.send_signal(signal.SIGKILL)
            process.wait()
        packed = kit.file_counts(root) == PACKED
        outcomes.add(packed)
        kit.check_dataset(root, frames)  # the old or the new version, complete either way
        store = DatasetStore(root, work_dir(root))
        store.acquire()
        store.recover()  # removes what a kill left in the work directory
        assert not (store.work / "replacement").exists()
        if packer.needs_packing(root):
            store.replace_root(lambda new, root=root: packer.pack(root, new))
        store.release(remove=True)
        assert kit.file_counts(root) == PACKED
        kit.check_dataset(root, frames)
    assert True in outcomes
