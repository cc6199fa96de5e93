"""Run lerobot_train with video decoding through PyAV directly.

The GPU image's torchvision (with torch 2.11) has no torchvision.io.VideoReader, which lerobot
0.4.4's "pyav" backend uses, and the image has no torchcodec: this replaces lerobot's
torchvision decoder with a PyAV one (same contract: float32 (N, C, H, W) in [0, 1], the nearest
frame within tolerance_s).
"""

import runpy

import torch
from lerobot.datasets import video_utils


def decode_video_frames_pyav(
    video_path, timestamps, tolerance_s, backend=None, log_loaded_timestamps=False
):
    import av

    first_ts, last_ts = min(timestamps), max(timestamps)
    frames, loaded = [], []
    with av.open(str(video_path)) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        container.seek(max(0, int(first_ts / tb)), stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            t = float(frame.pts * tb)
            frames.append(torch.from_numpy(frame.to_ndarray(format="rgb24")))
            loaded.append(t)
            if t >= last_ts:
                break
    query = torch.tensor(timestamps, dtype=torch.float64)
    have = torch.tensor(loaded, dtype=torch.float64)
    dist = (query[:, None] - have[None, :]).abs()
    min_, argmin_ = dist.min(1)
    if not (min_ < tolerance_s).all():
        raise ValueError(
            f"{video_path}: no frame within {tolerance_s}s of {timestamps} (loaded {loaded})"
        )
    out = torch.stack([frames[i] for i in argmin_.tolist()]).permute(0, 3, 1, 2)
    return out.to(torch.float32) / 255


video_utils.decode_video_frames_torchvision = decode_video_frames_pyav
runpy.run_module("lerobot.scripts.lerobot_train", run_name="__main__", alter_sys=True)
