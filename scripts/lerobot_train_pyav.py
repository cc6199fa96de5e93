"""Run lerobot_train with video decoding through PyAV directly, each video decoded once.

The GPU image's torchvision (with torch 2.11) has no torchvision.io.VideoReader, which lerobot
0.4.4's "pyav" backend uses, and the image has no torchcodec: this replaces lerobot's
torchvision decoder with a PyAV one (same contract: float32 (N, C, H, W) in [0, 1], the nearest
frame within tolerance_s).

Seeking and decoding per sample held training to ~10 steps/s on an H200 (the GPU mostly idle).
So every video file is decoded whole, once, and later samples are read from memory. With
``PRELOAD_VIDEOS=<dataset root>`` the main process decodes them all before the data loader forks
its workers, which then share those pages instead of each decoding its own copy (a 200-episode
240x320 two-camera dataset is ~6 GB of RGB).
"""

import os
import runpy
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from lerobot.datasets import video_utils

# path -> (frame timestamps in seconds, RGB frames (N, H, W, 3) uint8)
_DECODED: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def _decode_whole(video_path: str) -> tuple[np.ndarray, np.ndarray]:
    import av

    with av.open(video_path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = stream.time_base
        frames, stamps = [], []
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            stamps.append(float(frame.pts * tb))
    order = np.argsort(stamps)
    return np.asarray(stamps, dtype=np.float64)[order], np.stack(frames)[order]


def _decoded(video_path) -> tuple[np.ndarray, np.ndarray]:
    key = os.path.realpath(video_path)
    if key not in _DECODED:
        _DECODED[key] = _decode_whole(key)
    return _DECODED[key]


def decode_video_frames_pyav(
    video_path, timestamps, tolerance_s, backend=None, log_loaded_timestamps=False
):
    stamps, frames = _decoded(video_path)
    query = np.asarray(timestamps, dtype=np.float64)
    right = np.clip(np.searchsorted(stamps, query), 1, len(stamps) - 1)
    nearest = np.where(
        np.abs(stamps[right - 1] - query) <= np.abs(stamps[right] - query), right - 1, right
    )
    if not (np.abs(stamps[nearest] - query) < tolerance_s).all():
        raise ValueError(
            f"{video_path}: no frame within {tolerance_s}s of {timestamps} "
            f"(the file has {stamps[0]:.3f}..{stamps[-1]:.3f} s)"
        )
    out = torch.from_numpy(frames[nearest]).permute(0, 3, 1, 2)
    return out.to(torch.float32) / 255


def preload(root: Path) -> None:
    """Decode every video of the dataset at ``root`` into memory (threads: PyAV drops the GIL)."""
    paths = sorted(os.path.realpath(p) for p in (root / "videos").rglob("*.mp4"))
    started = time.time()
    with ThreadPoolExecutor(max_workers=min(8, len(paths) or 1)) as pool:
        for path, decoded in zip(paths, pool.map(_decode_whole, paths), strict=True):
            _DECODED[path] = decoded
    frames = sum(len(s) for s, _ in _DECODED.values())
    size_gb = sum(f.nbytes for _, f in _DECODED.values()) / 1e9
    print(
        f"[lerobot_train_pyav] decoded {len(paths)} videos, {frames} frames ({size_gb:.1f} GB) "
        f"in {time.time() - started:.1f} s",
        flush=True,
    )


if __name__ == "__main__":
    video_utils.decode_video_frames_torchvision = decode_video_frames_pyav
    if os.environ.get("PRELOAD_VIDEOS"):
        preload(Path(os.environ["PRELOAD_VIDEOS"]))
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    runpy.run_module("lerobot.scripts.lerobot_train", run_name="__main__", alter_sys=True)
