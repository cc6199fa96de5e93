"""The follower's cameras: LeRobot's camera syntax, and the two virtual cameras (a recorded
episode's frames, frames from the dataflow) read through SOFollower like USB cameras."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.config import ConfigError
from dora_sim.episode import EpisodeConfig, EpisodeMachine
from dora_sim.link import NodeLink
from dora_sim_follower.config import FollowerConfig, episode_config
from dora_sim_follower.device import FollowerDevice
from dora_sim_follower.node import FollowerNode
from dora_sim_follower.sample import sample_frame_number, sample_image
from dora_sim_follower.status import ARM_STATUS, FollowerStatus
from dora_sim_leader.virtual.roles import FOLLOWER

pytest_plugins = ["follower_helpers"]  # fixtures: sample_dataset, start_follower, lenient_bus

FPS = 30
CONTRACT_MD = {c.MD_CONTRACT: c.CONTRACT_VERSION}


def test_cameras_take_lerobot_record_syntax(sample_dataset: Path) -> None:
    from dora_sim_follower.cameras.spec import parse_cameras

    spec = (
        "{front: {type: opencv, index_or_path: 0, width: 640, height: 480, fps: 30},"
        f" replay: {{type: dora_sim_dataset, root: {sample_dataset}, key: wrist, episode: 1}},"
        " sim: {type: dora_sim_graph, width: 32, height: 24, fps: 30}}"
    )
    cameras = parse_cameras(spec)
    assert [cfg.type for cfg in cameras.values()] == [
        "opencv",
        "dora_sim_dataset",
        "dora_sim_graph",
    ]
    assert cameras["front"].width == 640 and cameras["replay"].episode == 1
    assert (cameras["replay"].fps, cameras["replay"].height) == (FPS, 96)  # the dataset's
    assert parse_cameras("") == {}
    with pytest.raises(ConfigError, match="camera types: ") as err:
        parse_cameras("{front: {type: webcam}}")
    assert "'webcam'" in str(err.value)
    assert all(kind in str(err.value) for kind in ("opencv", "dora_sim_dataset", "dora_sim_graph"))
    with pytest.raises(ConfigError, match=r"--robot\.cameras"):
        parse_cameras("front,wrist")  # the simulator's CAMERAS syntax, not LeRobot's


def test_dataset_camera_plays_the_episode_at_its_fps_and_loops(sample_dataset: Path) -> None:
    from lerobot.cameras.utils import make_cameras_from_configs

    from dora_sim_follower.cameras import DatasetCamera, DatasetCameraConfig

    config = DatasetCameraConfig(root=sample_dataset, key="front", episode=1)
    camera = make_cameras_from_configs({"front": config})["front"]  # LeRobot finds the plugin
    assert isinstance(camera, DatasetCamera)
    assert (camera.fps, camera.height, camera.width) == (FPS, 96, 128)
    camera.connect()
    try:
        start = time.monotonic()
        seen = [sample_frame_number(camera.async_read(timeout_ms=500)) for _ in range(75)]
        elapsed = time.monotonic() - start
        assert camera.read_latest().shape == (96, 128, 3)
    finally:
        camera.disconnect()
    # In order, each frame new (async_read waits for one), a frame skipped at most where this
    # reader was late; after frame 59 the episode starts over.
    steps = np.diff(seen) % 60
    assert np.all((steps >= 1) & (steps <= 2)), seen
    assert seen.index(59) < seen.index(0, seen.index(59))  # it looped
    assert 75 / FPS * 0.8 < elapsed < 75 / FPS * 1.5
    assert not camera.is_connected


@pytest.fixture
def follower_with_cameras(
    lenient_bus, start_follower, calibration_dir: Path, rest_pose: np.ndarray
) -> Callable[..., tuple]:
    from follower_helpers import ScriptedNode

    from dora_sim_follower.cameras.spec import parse_cameras

    def run(spec: str, duration: float, script: list = ()) -> tuple:
        arm = start_follower(rest_pose)
        config = FollowerConfig(
            port=str(arm.link),
            id=FOLLOWER.calibration_id,
            calibration_dir=calibration_dir,
            max_relative_target=10.0,
            cameras=spec,
            fps=FPS,
            task="t",
            hand_success=False,
            read_retries=2,
        )
        device = FollowerDevice(config, parse_cameras(spec))
        machine = EpisodeMachine(episode_config(EpisodeConfig(num_episodes=0)), FPS)
        mock = ScriptedNode(duration, list(script), FPS)
        FollowerNode(NodeLink(mock), device, machine, config, time.monotonic()).run()
        return mock

    return run


def test_follower_frames_carry_the_dataset_cameras_images(
    follower_with_cameras, sample_dataset: Path
) -> None:
    spec = f"{{front: {{type: dora_sim_dataset, root: {sample_dataset}, key: front}}}}"
    mock = follower_with_cameras(spec, 1.5)
    images = mock.of(c.image_topic("front"))
    states = mock.of(c.STATE)
    assert len(images) == len(states) > 0.8 * 1.5 * FPS
    for (value, md), (_, state_md) in zip(images, states, strict=True):
        image = codec.decode_image(value, md)
        assert image.shape == (96, 128, 3)
        assert md[c.MD_FRAME] == state_md[c.MD_FRAME]  # same counters as the joints
    steps = np.diff([sample_frame_number(codec.decode_image(v, md)) for v, md in images]) % 60
    assert np.all(steps <= 2)  # the camera's newest frame at each tick, about one per tick


def test_graph_camera_images_come_out_on_the_followers_frames(follower_with_cameras) -> None:
    """Images sent to the follower's observation.images.front input (e.g. a simulator's render)
    come out as its camera; when they stop, frames stop instead of carrying a stale image."""
    script = [
        (t / FPS, (c.image_topic("front"), *_image(k)))
        for k, t in enumerate(np.arange(0, 45) + 0.5)  # 1.5 s of images, half a tick early
    ]
    spec = "{front: {type: dora_sim_graph, width: 32, height: 24, fps: 30}}"
    mock = follower_with_cameras(spec, 2.5, script)
    images = mock.of(c.image_topic("front"))
    assert len(images) > 0.8 * 1.5 * FPS
    last_sent = 44
    assert sample_frame_number(codec.decode_image(*images[-1])) == last_sent
    late = [md for _, md in mock.of(c.STATE) if md[c.MD_WALL_TIME] > 2.2]
    assert not late  # read_latest refused frames older than 500 ms: no frame, not a stale one
    status = FollowerStatus.from_json(codec.decode_text(mock.of(ARM_STATUS)[-1][0], "s"))
    assert status.camera_errors > 0


def _image(k: int) -> tuple[pa.Array, dict]:
    pixels, metadata = codec.encode_image(sample_image(k, 24, 32))
    return pixels, {**metadata, **CONTRACT_MD}
