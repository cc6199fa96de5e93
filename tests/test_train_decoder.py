"""The training shim's decoder (scripts/lerobot_train_pyav.py) against LeRobot's own.

`lerobot_train_pyav` decodes each video once and serves samples from memory; a wrong timestamp
lookup would silently train on the wrong frames, so samples must equal what LeRobotDataset gives
with its own "pyav" backend (the same FFmpeg: bit for bit), frame for frame, across episodes in
one concatenated file, as uint8 (what lerobot-train asks for) and as float.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
FPS, FRAMES, HEIGHT, WIDTH = 30, (12, 9), 48, 64
CAMERA = "observation.images.front"


def load_shim() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "lerobot_train_pyav", REPO / "scripts" / "lerobot_train_pyav.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def frame_image(episode: int, index: int) -> np.ndarray:
    """A frame whose content says which one it is (a bar moving with the index, per episode)."""
    image = np.full((HEIGHT, WIDTH, 3), 40 + 120 * episode, dtype=np.uint8)
    image[:, 4 * index : 4 * index + 8] = 250
    return image


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory) -> Path:
    from lerobot.configs import RGBEncoderConfig
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root = tmp_path_factory.mktemp("decoder") / "dataset"
    features = {
        "action": {"dtype": "float32", "shape": (2,), "names": ["episode", "index"]},
        CAMERA: {"dtype": "video", "shape": (HEIGHT, WIDTH, 3), "names": ["h", "w", "c"]},
    }
    dataset = LeRobotDataset.create(
        "local/decoder", FPS, features, root=root, rgb_encoder=RGBEncoderConfig(vcodec="h264")
    )
    for episode, frames in enumerate(FRAMES):
        for index in range(frames):
            dataset.add_frame(
                {
                    "action": np.array([episode, index], dtype=np.float32),
                    CAMERA: frame_image(episode, index),
                    "task": "t",
                }
            )
        dataset.save_episode()
    dataset.finalize()
    return root


@pytest.mark.parametrize("return_uint8", [True, False])
def test_samples_equal_lerobots_pyav_decoder(dataset_root: Path, return_uint8: bool) -> None:
    from lerobot.datasets import video_utils
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    def samples() -> list[dict]:
        dataset = LeRobotDataset(
            "local/decoder", root=dataset_root, video_backend="pyav", return_uint8=return_uint8
        )
        return [dataset[index] for index in range(sum(FRAMES))]

    reference = samples()
    shim = load_shim()
    videos = shim.DecodedVideos(video_utils.decode_video_frames_pyav)
    videos.preload(dataset_root)
    assert len(videos.videos) == 1  # both episodes live in one concatenated file
    replaced = shim.install(videos)
    try:
        served = videos.served
        patched = samples()
        assert videos.served == served + sum(FRAMES)  # every sample came from memory
    finally:
        video_utils.decode_video_frames_pyav = replaced

    dtype = torch.uint8 if return_uint8 else torch.float32
    for want, got in zip(reference, patched, strict=True):
        assert got[CAMERA].dtype == dtype and got[CAMERA].shape == (3, HEIGHT, WIDTH)
        assert torch.equal(got["action"], want["action"])
        assert torch.equal(got[CAMERA], want[CAMERA])


def test_timestamp_without_frame_is_an_error(dataset_root: Path) -> None:
    from lerobot.datasets import video_utils

    shim = load_shim()
    videos = shim.DecodedVideos(video_utils.decode_video_frames_pyav)
    videos.preload(dataset_root)
    video = next(iter(videos.videos))
    with pytest.raises(video_utils.FrameTimestampError, match="no frame within"):
        videos.decode(video, [sum(FRAMES) / FPS + 1.0], 1 / FPS - 1e-4)


def test_install_refuses_a_lerobot_whose_decoder_changed(monkeypatch) -> None:
    from lerobot.datasets import video_utils

    def renamed(path, timestamps, tolerance_s, backend_options=None):  # a future signature
        raise AssertionError("never called")

    monkeypatch.setattr(video_utils, "decode_video_frames_pyav", renamed)
    shim = load_shim()
    with pytest.raises(RuntimeError, match="not the one this script was written for"):
        shim.install(shim.DecodedVideos(renamed))
    assert video_utils.decode_video_frames_pyav is renamed
