"""The training shim's decoder (scripts/lerobot_train_pyav.py) against LeRobot's own.

`lerobot_train_pyav` decodes each video once and serves samples from memory; a wrong timestamp
lookup would silently train on the wrong frames, so samples must match what LeRobotDataset gives
with its default torchcodec decoder, frame for frame, across episodes in one concatenated file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
FPS, FRAMES, HEIGHT, WIDTH = 30, (12, 9), 48, 64
CAMERA = "observation.images.front"


def load_shim():
    spec = importlib.util.spec_from_file_location(
        "lerobot_train_pyav", REPO / "scripts" / "lerobot_train_pyav.py"
    )
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
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root = tmp_path_factory.mktemp("decoder") / "dataset"
    features = {
        "action": {"dtype": "float32", "shape": (2,), "names": ["episode", "index"]},
        CAMERA: {"dtype": "video", "shape": (HEIGHT, WIDTH, 3), "names": ["h", "w", "c"]},
    }
    dataset = LeRobotDataset.create("local/decoder", FPS, features, root=root, vcodec="h264")
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


def test_samples_match_lerobot_decoder(dataset_root, monkeypatch):
    from lerobot.datasets import video_utils
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    reference = LeRobotDataset("local/decoder", root=dataset_root, video_backend="torchcodec")
    shim = load_shim()
    shim.preload(dataset_root)
    assert len(shim._DECODED) == 1  # both episodes live in one concatenated file
    monkeypatch.setattr(
        video_utils, "decode_video_frames_torchvision", shim.decode_video_frames_pyav
    )
    patched = LeRobotDataset("local/decoder", root=dataset_root, video_backend="pyav")

    for index in range(sum(FRAMES)):
        want, got = reference[index], patched[index]
        assert got[CAMERA].dtype == torch.float32 and got[CAMERA].shape == (3, HEIGHT, WIDTH)
        assert torch.equal(got["action"], want["action"])
        # Same frame (one codec, two FFmpeg builds: colour conversion may differ by a level).
        assert (got[CAMERA] - want[CAMERA]).abs().mean() < 2 / 255


def test_timestamp_without_frame_is_an_error(dataset_root):
    shim = load_shim()
    video = next((dataset_root / "videos").rglob("*.mp4"))
    with pytest.raises(ValueError, match="no frame within"):
        shim.decode_video_frames_pyav(video, [sum(FRAMES) / FPS + 1.0], 1 / FPS - 1e-4)
