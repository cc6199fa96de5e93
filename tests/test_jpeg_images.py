"""IMAGE_ENCODING=jpeg end to end: the demo graph records a complete dataset from JPEG frames.

The sim compresses every camera frame (``dora_sim.sim_node.ImageSettings``); the recorder, like
every consumer, decodes through ``codec.decode_image`` and takes JPEG as it takes rgb8. Nothing
may be lost on the way: every frame of every episode is in the dataset, with both images.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import DATAFLOWS

from dora_sim import contract as c

pytestmark = pytest.mark.slow
EPISODES = 2
REPO_ID = "local/jpeg-demo"
EPISODE_LINE = re.compile(  # the sim's per-episode line: ... SUCCESS (success), 97 frames, ...
    r"\[dora-sim\] episode \d+/\d+ \S+: (SUCCESS|failure) \(\w+\), (\d+) frames"
)


def test_demo_records_every_frame_from_jpeg_images(run_dataflow, tmp_path):
    root = tmp_path / "jpeg-dataset"
    result = run_dataflow(
        DATAFLOWS / "dataflow-demo.yaml",
        NUM_EPISODES=str(EPISODES),
        DATASET_ROOT=str(root),
        IMAGE_ENCODING="jpeg",
        JPEG_QUALITY="90",
        REPO_ID=REPO_ID,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "camera images go out as jpeg (quality 90)" in output  # the sim did send JPEG
    assert "rejected" not in output and "frames missing" not in output, output[-3000:]
    episodes = EPISODE_LINE.findall(output)
    assert [verdict for verdict, _ in episodes] == ["SUCCESS"] * EPISODES, output[-3000:]
    sim_frames = [int(frames) for _, frames in episodes]

    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset(REPO_ID, root=root, video_backend="pyav")
    cameras = [c.image_topic("front"), c.image_topic("wrist")]
    assert sorted(dataset.meta.video_keys) == sorted(cameras)
    # every frame the sim produced, in every episode: nothing dropped between sim and recorder
    assert [int(ep["length"]) for ep in dataset.meta.episodes] == sim_frames
    assert len(dataset) == sum(sim_frames)
    for i in range(len(dataset)):  # and each frame's images decode from the videos
        item = dataset[i]
        for camera in cameras:
            image = item[camera]
            assert tuple(image.shape) == (3, 240, 320), (i, camera, image.shape)
            assert float(np.asarray(image).std()) > 0.01, (i, camera)  # a picture, not a blank
