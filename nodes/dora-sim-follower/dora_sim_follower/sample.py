"""A small SO-101 dataset written with LeRobot's own writer: smooth joint actions (the state
equal to them) and, per camera, frames whose colour encodes the frame number.

For the replay and dataset-camera tests, the follower benchmark, and trying the replay graph
without a recorded dataset: ``python -m dora_sim_follower.sample ROOT``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from dora_sim import contract as c

SAMPLE_REPO_ID = "local/dora-sim-follower-sample"
SAMPLE_TASK = "Wave the arm"
# A calm demonstration: at most ~60 deg/s (2 deg per tick at 30 Hz), which a follower tracks
# without its max_relative_target ever holding a step back.
CENTER = np.array([0.0, -20.0, 20.0, 10.0, 0.0, 50.0])
AMPLITUDE = np.array([25.0, 15.0, 15.0, 20.0, 40.0, 25.0])
PERIOD_S = np.array([4.0, 5.0, 3.5, 3.0, 6.0, 3.0])


def sample_action(t: float, episode: int) -> np.ndarray:
    """A pose on every joint's own sine (so101 units), shifted per episode."""
    phase = 2 * math.pi * t / PERIOD_S + episode
    return (CENTER + AMPLITUDE * np.sin(phase)).astype(np.float32)


LEVEL = 32  # colour step per digit: far beyond a video codec's error on a flat colour


def sample_image(frame: int, height: int, width: int) -> np.ndarray:
    """An RGB image that tells which frame it is (mod 64), through a lossy video codec: red
    and blue are flat colours holding the frame number's two base-8 digits."""
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = frame % 8 * LEVEL
    image[..., 1] = np.linspace(0, 255, width, dtype=np.uint8)
    image[..., 2] = frame // 8 % 8 * LEVEL
    return image


def sample_frame_number(image: np.ndarray) -> int:
    """The frame number (mod 64) :func:`sample_image` drew, from a decoded image."""
    low, high = (round(float(image[..., channel].mean()) / LEVEL) % 8 for channel in (0, 2))
    return low + 8 * high


def write_sample_dataset(
    root: Path,
    episodes: int = 2,
    frames: int = 60,
    fps: int = c.DEFAULT_FPS,
    cameras: tuple[str, ...] = ("front", "wrist"),
    size: tuple[int, int] = (96, 128),
) -> Path:
    """Write it at ``root`` (which must not exist); returns ``root``."""
    from lerobot.configs import RGBEncoderConfig
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    joints = {"dtype": "float32", "shape": (c.NUM_JOINTS,), "names": list(c.MOTOR_FEATURE_NAMES)}
    features = {c.ACTION: joints, c.STATE: joints}
    for camera in cameras:
        names = ["height", "width", "channels"]
        features[c.image_topic(camera)] = {"dtype": "video", "shape": (*size, 3), "names": names}
    dataset = LeRobotDataset.create(
        SAMPLE_REPO_ID,
        fps=fps,
        features=features,
        root=root,
        robot_type=c.ROBOT_TYPE,
        use_videos=bool(cameras),
        rgb_encoder=RGBEncoderConfig(vcodec="h264"),  # fast to encode and decode
    )
    for episode in range(episodes):
        for k in range(frames):
            action = sample_action(k / fps, episode)
            frame = {c.ACTION: action, c.STATE: action, "task": SAMPLE_TASK}
            for camera in cameras:
                frame[c.image_topic(camera)] = sample_image(k, *size)
            dataset.add_frame(frame)
        dataset.save_episode()
    dataset.finalize()
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path, help="where to write it (must not exist)")
    parser.add_argument("--episodes", type=int, default=2)
    parser.add_argument("--frames", type=int, default=150)
    args = parser.parse_args()
    print(write_sample_dataset(args.root, args.episodes, args.frames))


if __name__ == "__main__":
    main()
