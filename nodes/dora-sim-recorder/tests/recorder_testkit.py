"""Shared helpers of the recorder tests: simulator-like event streams and dataset checks.

The synthetic frames encode their own episode frame number — ``observation.state[0]`` is
``frame / 10`` degrees and every camera image is a flat grey of :func:`grey` — so a test can
check, row by row, that each decoded video frame belongs with its parquet row.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from dora_sim import codec
from dora_sim import contract as c

TASK = "Pick up the cube and lift it"
REPO_ID = "test/recorder"
CAMERAS = ("front", "wrist")
HEIGHT, WIDTH = 64, 80
VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Episode:
    frames: int
    reason: str = c.END_TIME_LIMIT
    success: bool = False


def grey(frame: int) -> int:
    return 30 + (frame * 37) % 190


ACTION = "action"  # the recorder's input (and LeRobot feature) fed by the sim's applied action


def node_config(cameras: tuple[str, ...] = CAMERAS, control: bool = True) -> dict[str, Any]:
    inputs = [ACTION, c.STATE, c.EPISODE, *(c.image_topic(cam) for cam in cameras)]
    if control:
        inputs.append(c.CONTROL)
    return {
        "inputs": {i: {"source": f"sim/{i}", "queue_size": 10000} for i in inputs},
        "outputs": [c.ACK, c.STATUS, c.CONTROL],
    }


def sim_events(
    episodes: list[Episode],
    cameras: tuple[str, ...] = CAMERAS,
    fps: int = 30,
    reset_frames: int = 2,
    shuffle_seed: int | None = 0,
    first_episode_index: int = 0,
) -> list[dict[str, Any]]:
    """Events as the simulator sends them, parts of nearby ticks interleaved as dora may."""
    events: list[dict[str, Any]] = []
    frame = 0
    rng = random.Random(shuffle_seed)
    for n, spec in enumerate(episodes):
        index = first_episode_index + n
        start = codec.EpisodeStart(frame, index, TASK, n, fps)
        events.append(_event(c.EPISODE, *codec.encode_episode(start)))
        ticks = []
        for i in range(spec.frames):
            stamp = codec.FrameStamp(frame, index, i, i / fps, c.PHASE_EPISODE)
            ticks.append(tick_parts(stamp, cameras))
            frame += 1
        end = codec.EpisodeEnd(
            frame=frame,
            episode_index=index,
            task=TASK,
            seed=n,
            fps=fps,
            success=spec.success,
            reason=spec.reason,
            num_frames=spec.frames,
            sim_time=spec.frames / fps,
            wall_time=spec.frames / fps,
            last=n == len(episodes) - 1,
        )
        for i in range(reset_frames):
            stamp = codec.FrameStamp(frame, index, i, i / fps, c.PHASE_RESET)
            ticks.append(tick_parts(stamp, cameras))
            frame += 1
        parts = [p for tick in ticks for p in tick]
        if shuffle_seed is not None:  # swap neighbouring parts of different inputs
            for k in range(len(parts) - 1):
                if rng.random() < 0.3 and parts[k]["id"] != parts[k + 1]["id"]:
                    parts[k], parts[k + 1] = parts[k + 1], parts[k]
        split = len(parts) - reset_frames * (2 + len(cameras))
        events += parts[:split]
        events.append(_event(c.EPISODE, *codec.encode_episode(end)))
        events += parts[split:]
    return events


def tick_parts(stamp: codec.FrameStamp, cameras: tuple[str, ...]) -> list[dict[str, Any]]:
    md = stamp.to_metadata()
    state = np.zeros(c.NUM_JOINTS, np.float32)
    state[0] = stamp.episode_frame / 10.0
    state[c.GRIPPER_INDEX] = 50.0
    action = state.copy()
    action[1] = 1.0
    parts = [
        _event(c.STATE, codec.encode_joints(state), md),
        _event(ACTION, codec.encode_joints(action), md),
    ]
    for camera in cameras:
        image = np.full((HEIGHT, WIDTH, 3), grey(stamp.episode_frame), np.uint8)
        data, image_md = codec.encode_image(image)
        parts.append(_event(c.image_topic(camera), data, {**md, **image_md}))
    return parts


def _event(input_id: str, value: pa.Array, metadata: dict[str, Any]) -> dict[str, Any]:
    """An input as dora delivers it from a dora-sim node (stamped with the contract version)."""
    md = {**metadata, c.MD_CONTRACT: c.CONTRACT_VERSION}
    return {"type": "INPUT", "id": input_id, "value": value, "metadata": md}


def recorder_env(root: Path, **extra: str) -> dict[str, str]:
    env = {
        "DATASET_ROOT": str(root),
        "REPO_ID": REPO_ID,
        "NUM_EPISODES": "0",
        "VCODEC": "h264",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_CACHE": str(root.parent / "hf-datasets-cache"),
        "HF_LEROBOT_HOME": str(root.parent / "hf-lerobot"),
    }
    env.update(extra)
    return env


def load(root: Path, backend: str = "pyav") -> Any:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    return LeRobotDataset(REPO_ID, root=root, video_backend=backend)


def check_dataset(root: Path, episode_frames: list[int], backend: str = "pyav") -> None:
    """Load with LeRobot, read every row and decode every video frame; check alignment."""
    dataset = load(root, backend)
    assert dataset.meta.total_episodes == len(episode_frames)
    assert dataset.meta.total_frames == sum(episode_frames) == len(dataset)
    assert dataset.meta.robot_type == c.ROBOT_TYPE
    assert dataset.meta.features[c.STATE]["names"] == list(c.MOTOR_FEATURE_NAMES)
    lengths = [int(ep["length"]) for ep in dataset.meta.episodes]
    assert lengths == episode_frames
    for i in range(len(dataset)):
        item = dataset[i]
        frame = int(item["frame_index"])
        assert abs(float(item["observation.state"][0]) - frame / 10.0) < 1e-4
        assert abs(float(item["timestamp"]) - frame / dataset.fps) < 1e-4
        assert item["task"] == TASK
        for camera in dataset.meta.video_keys:
            pixels = item[camera]
            assert tuple(pixels.shape) == (3, HEIGHT, WIDTH)
            grey_level = float(pixels.mean()) * 255.0
            assert abs(grey_level - grey(frame)) < 6, (i, camera, grey_level, grey(frame))


def ffmpeg_env(tmp_path: Path) -> dict[str, str]:
    """Environment in which torchcodec finds FFmpeg: the system's, or PyAV's bundled copy.

    torchcodec needs FFmpeg's shared libraries under their plain sonames; without a system
    FFmpeg, PyAV's bundled libraries (same FFmpeg 7 ABI) are linked under those names.
    """
    env = dict(os.environ)
    probe = [sys.executable, "-c", "import torchcodec.decoders"]
    if subprocess.run(probe, env=env, capture_output=True).returncode == 0:
        return env
    import av

    libs = Path(av.__file__).parent.parent / "av.libs"
    shim = tmp_path / "ffmpeg-shim"
    shim.mkdir(exist_ok=True)
    for lib in libs.iterdir():
        (shim / lib.name).symlink_to(lib)
        stem, _, version = lib.name.partition(".so.")
        soname = f"{stem.rsplit('-', 1)[0]}.so.{version.split('.')[0]}"
        if not (shim / soname).exists():
            (shim / soname).symlink_to(lib)
    env["LD_LIBRARY_PATH"] = f"{shim}:{env.get('LD_LIBRARY_PATH', '')}"
    return env


def check_recorded(root: Path, episodes: int, frames: int, backend: str = "pyav") -> None:
    """A dataset recorded from the simulator: counts, timestamps, every video frame decodes."""
    dataset = load(root, backend)
    assert dataset.meta.total_episodes == episodes
    assert [int(ep["length"]) for ep in dataset.meta.episodes] == [frames] * episodes
    assert len(dataset) == episodes * frames
    for i in range(len(dataset)):
        item = dataset[i]
        assert abs(float(item["timestamp"]) - int(item["frame_index"]) / dataset.fps) < 1e-4
        for camera in dataset.meta.video_keys:
            assert tuple(item[camera].shape) == (3, HEIGHT, WIDTH)


# --- the recorder's writer driven directly (no dora node), for store and packer tests ---------
def writer_for(root: Path) -> Any:
    """A recorder writer on ``root`` (resuming it when it exists), lock held, streams attached."""
    from dora_sim_recorder.config import EXPORT_ALL, RecorderConfig
    from dora_sim_recorder.layout import StreamLayout
    from dora_sim_recorder.store import DatasetStore
    from dora_sim_recorder.writer import DatasetWriter

    config = RecorderConfig(
        repo_id=REPO_ID,
        root=root,
        num_episodes=0,
        vcodec="h264",
        export_mode=EXPORT_ALL,
        push_to_hub=False,
        private=False,
        resume=root.exists(),
        state_inputs=(c.STATE,),
        extra_inputs=(),
        robot_type=c.ROBOT_TYPE,
        encoder_threads=None,
    )
    writer = DatasetWriter(config, DatasetStore(root, config.work_dir))
    writer.store.acquire()
    writer.prepare()
    cameras = tuple(c.image_topic(cam) for cam in CAMERAS)
    writer.attach(
        StreamLayout(action=True, state_inputs=(c.STATE,), extra_inputs=(), cameras=cameras)
    )
    return writer


def feed(writer: Any, index: int, frames: int, randomization: str | None = None) -> None:
    """Start sim episode ``index`` (seed ``index``) and hand the writer ``frames`` frames of it."""
    from dora_sim_recorder.sequencer import AddFrame, StartEpisode

    writer.handle(StartEpisode(index, TASK, 30, index, randomization))
    for i in range(frames):
        parts = {}
        for event in tick_parts(codec.FrameStamp(i, index, i, i / 30, "episode"), CAMERAS):
            value = event["value"].to_numpy(zero_copy_only=False)
            parts[event["id"]] = (
                value.reshape(HEIGHT, WIDTH, 3) if value.dtype == np.uint8 else value
            )
        writer.handle(AddFrame(index, i, parts))


def end(index: int, frames: int) -> Any:
    """The simulator's end of episode ``index`` (kept: time limit)."""
    from dora_sim_recorder.sequencer import EndEpisode

    return EndEpisode(index, True, c.END_TIME_LIMIT, False, frames, False, (), "")


def record(writer: Any, frames: list[int], first_index: int = 0) -> None:
    """Record and save one episode per entry of ``frames``."""
    for offset, count in enumerate(frames):
        feed(writer, first_index + offset, count)
        writer.handle(end(first_index + offset, count))


def file_counts(root: Path) -> dict[str, int]:
    """Files per stream: data, each camera's videos, episode metadata."""
    counts = {"data": len(list((root / "data").glob("*/*.parquet")))}
    counts["meta/episodes"] = len(list((root / "meta" / "episodes").glob("*/*.parquet")))
    for camera in CAMERAS:
        counts[camera] = len(list((root / "videos" / c.image_topic(camera)).glob("*/*.mp4")))
    return counts
