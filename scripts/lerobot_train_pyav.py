"""Run ``lerobot_train`` with every video of the dataset decoded once, up front, not per sample.

Where torchcodec cannot load (the GPU image has no FFmpeg libraries), LeRobot 0.6 decodes with its
"pyav" backend, plain PyAV since 0.5 (0.4.4's needed ``torchvision.io.VideoReader``, which the
image's torchvision lacks: this script used to replace it). That backend opens, seeks and decodes
the file for every sample: measured on 2 CPU cores, two 240x320 cameras, ``return_uint8`` as
training asks, 19.9 ms a sample (h264) / 13.4 ms (libsvtav1) against 9.9 / 10.4 ms served from
memory. With ``PRELOAD_VIDEOS=<dataset root>`` this script decodes every ``.mp4`` there in the
main process (threads: PyAV drops the GIL; 200 episodes of two 240x320 cameras are ~7 GB of RGB)
and the data loader's workers are forked, so they share those pages (LeRobot 0.6 spawns them by
default: spawned workers would get neither the frames nor the hook).

LeRobot has no public hook for a decoder: this replaces
``lerobot.datasets.video_utils.decode_video_frames_pyav``, which ``decode_video_frames`` calls for
the "pyav" backend, and checks at start-up, by decoding through ``decode_video_frames``, that
LeRobot still goes through it (an upgrade that changes this fails loudly). Videos that were not
preloaded, and depth videos, go to LeRobot's own function.

    PRELOAD_VIDEOS=/tmp/ds python scripts/lerobot_train_pyav.py --config_path=… \
        --dataset.root=/tmp/ds …
"""

from __future__ import annotations

import inspect
import os
import runpy
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from lerobot.datasets import video_utils

# What LeRobot 0.6's decode_video_frames passes to decode_video_frames_pyav.
PARAMETERS = (
    "video_path",
    "timestamps",
    "tolerance_s",
    "log_loaded_timestamps",
    "return_uint8",
    "is_depth",
)
FORK = "--dataloader_multiprocessing_context=fork"


def decode_whole(video_path: str) -> tuple[np.ndarray, np.ndarray]:
    """(frame timestamps in seconds, RGB frames (N, H, W, 3) uint8) of a whole video file."""
    import av

    with av.open(video_path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frames, stamps = [], []
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            frames.append(frame.to_ndarray(format="rgb24"))
            stamps.append(float(frame.pts * stream.time_base))
    order = np.argsort(stamps)
    return np.asarray(stamps, dtype=np.float64)[order], np.stack(frames)[order]


class DecodedVideos:
    """Decoded videos by real path; ``decode`` is a drop-in for LeRobot's PyAV decoder."""

    def __init__(self, fallback: Callable[..., torch.Tensor]) -> None:
        self.fallback = fallback  # LeRobot's own decoder, for anything not preloaded
        self.videos: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.served = 0

    def preload(self, root: Path) -> None:
        paths = sorted(os.path.realpath(p) for p in (root / "videos").rglob("*.mp4"))
        started = time.time()
        with ThreadPoolExecutor(max_workers=min(8, len(paths) or 1)) as pool:
            self.videos.update(zip(paths, pool.map(decode_whole, paths), strict=True))
        frames = sum(len(stamps) for stamps, _ in self.videos.values())
        size_gb = sum(pixels.nbytes for _, pixels in self.videos.values()) / 1e9
        print(
            f"[lerobot_train_pyav] decoded {len(paths)} videos, {frames} frames "
            f"({size_gb:.1f} GB) in {time.time() - started:.1f} s",
            flush=True,
        )

    def decode(
        self,
        video_path: Path | str,
        timestamps: Sequence[float],
        tolerance_s: float,
        log_loaded_timestamps: bool = False,
        return_uint8: bool = False,
        is_depth: bool = False,
    ) -> torch.Tensor:
        """The frames nearest ``timestamps``, (N, C, H, W): uint8, or float32 in [0, 1]."""
        decoded = self.videos.get(os.path.realpath(video_path))
        if decoded is None or is_depth:
            return self.fallback(
                video_path,
                timestamps,
                tolerance_s,
                log_loaded_timestamps=log_loaded_timestamps,
                return_uint8=return_uint8,
                is_depth=is_depth,
            )
        stamps, pixels = decoded
        query = np.asarray(timestamps, dtype=np.float64)
        right = np.clip(np.searchsorted(stamps, query), 1, len(stamps) - 1)
        nearest = np.where(
            np.abs(stamps[right - 1] - query) <= np.abs(stamps[right] - query), right - 1, right
        )
        if not (np.abs(stamps[nearest] - query) < tolerance_s).all():
            raise video_utils.FrameTimestampError(
                f"{video_path}: no frame within {tolerance_s} s of {list(query)} "
                f"(the file has {stamps[0]:.3f}..{stamps[-1]:.3f} s)"
            )
        self.served += 1
        frames = torch.from_numpy(pixels[nearest]).permute(0, 3, 1, 2).contiguous()
        return frames if return_uint8 else frames.to(torch.float32) / 255


def install(videos: DecodedVideos) -> Callable[..., torch.Tensor]:
    """Make LeRobot decode through ``videos``; returns the function it replaced.

    Raises RuntimeError if LeRobot's decoder no longer has the expected parameters, or if a
    decode through ``decode_video_frames`` does not reach ``videos``.
    """
    replaced = video_utils.decode_video_frames_pyav
    found = tuple(inspect.signature(replaced).parameters)
    if found != PARAMETERS:
        raise RuntimeError(
            f"lerobot.datasets.video_utils.decode_video_frames_pyav takes {found}, not "
            f"{PARAMETERS}: this LeRobot is not the one this script was written for"
        )
    video_utils.decode_video_frames_pyav = videos.decode
    if videos.videos:
        path, (stamps, _) = next(iter(videos.videos.items()))
        before = videos.served
        video_utils.decode_video_frames(path, [float(stamps[0])], 1e-4, "pyav", return_uint8=True)
        if videos.served != before + 1:
            video_utils.decode_video_frames_pyav = replaced
            raise RuntimeError(
                "lerobot.datasets.video_utils.decode_video_frames no longer calls "
                "decode_video_frames_pyav for the 'pyav' backend: the preloaded frames would "
                "not be used"
            )
    return replaced


def main() -> None:
    videos = DecodedVideos(video_utils.decode_video_frames_pyav)
    if root := os.environ.get("PRELOAD_VIDEOS"):
        videos.preload(Path(root))
        contexts = [a for a in sys.argv[1:] if a.startswith("--dataloader_multiprocessing_context")]
        if any(a != FORK for a in contexts):
            raise SystemExit(f"PRELOAD_VIDEOS needs forked data-loader workers: pass {FORK}")
        if not contexts:
            sys.argv.append(FORK)
    install(videos)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    runpy.run_module("lerobot.scripts.lerobot_train", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
