"""Image bandwidth benchmark: what camera frames cost on a link between machines, raw vs JPEG.

Renders real frames from the MuJoCo simulator (the scripted expert moving the arm through a few
seeded pick-cube episodes), front and wrist, at each resolution, and encodes every frame through
``dora_sim.codec`` as the simulator node does: raw ``rgb8`` and JPEG at each quality. Prints one
JSON object: bytes per frame and per second (one simulator, both cameras, at ``--fps``), JPEG
encode/decode time per image (p50, one core), PSNR vs the raw frame, and how many simulators fit
a link (``--link-gbit``) each way. Within one machine dora moves raw frames through shared memory;
these bytes matter only on edges that cross machines.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time

import numpy as np


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", default="pick-cube")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--cameras", default="front,wrist")
    parser.add_argument("--resolutions", default="240x320,480x640", help="HxW,HxW,…")
    parser.add_argument("--qualities", default="90,75", help="JPEG qualities, comma-separated")
    parser.add_argument("--profile", default="fast", help="RENDER_PROFILE")
    parser.add_argument("--episodes", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument("--frames", type=int, default=150, help="sim frames per episode")
    parser.add_argument("--every", type=int, default=5, help="keep every n-th frame")
    parser.add_argument("--link-gbit", type=float, default=1.0, help="link speed, Gbit/s")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    return parser


def render_frames(args: argparse.Namespace, height: int, width: int) -> dict[str, list]:
    """Frames of each camera while the expert works through seeded episodes."""
    from dora_sim_expert.planner import Expert
    from dora_sim_expert.rollout import ExpertDriver
    from dora_sim_mujoco.simulator import SimConfig, Simulator

    cameras = tuple(x for x in args.cameras.split(",") if x)
    sim = Simulator(SimConfig(args.task, args.fps, cameras, height, width, args.profile))
    frames: dict[str, list] = {camera: [] for camera in cameras}
    try:
        for seed in range(args.episodes):
            sim.reset(seed)
            driver = ExpertDriver(sim, Expert(args.fps), seed)
            for i in range(args.frames):
                if i % args.every == 0:
                    for camera in cameras:
                        frames[camera].append(sim.render(camera).copy())
                driver.command()
                sim.step()
    finally:
        sim.close()
    return frames


def psnr(decoded: np.ndarray, raw: np.ndarray) -> float:
    mse = float(np.mean((decoded.astype(np.float64) - raw.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def measure_jpeg(images: list[np.ndarray], quality: int) -> dict:
    """Encode and decode each image through the contract's codec, as sender and receiver do."""
    from dora_sim import codec
    from dora_sim import contract as c

    sizes, encode_ms, decode_ms, quality_db = [], [], [], []
    for image in images:
        start = time.perf_counter()
        array, metadata = codec.encode_image(image, c.IMAGE_ENCODING_JPEG, quality)
        encoded = time.perf_counter()
        decoded = codec.decode_image(array, metadata)
        decode_ms.append(1000 * (time.perf_counter() - encoded))
        encode_ms.append(1000 * (encoded - start))
        sizes.append(len(array))
        quality_db.append(psnr(decoded, image))
    return {
        "bytes_mean": round(statistics.mean(sizes)),
        "ratio": round(images[0].nbytes / statistics.mean(sizes), 1),
        "encode_ms_p50": round(statistics.median(encode_ms), 3),
        "decode_ms_p50": round(statistics.median(decode_ms), 3),
        "psnr_db_mean": round(statistics.mean(quality_db), 2),
        "psnr_db_min": round(min(quality_db), 2),
    }


def per_second(bytes_per_frame: float, fps: int) -> dict:
    rate = bytes_per_frame * fps
    return {"bytes_per_s": round(rate), "mbit_per_s": round(8 * rate / 1e6, 1)}


def run(args: argparse.Namespace) -> dict:
    from dora_sim import codec

    codec.warm_up()  # Pillow imported before anything is timed
    link_bytes_per_s = args.link_gbit * 1e9 / 8
    qualities = [int(q) for q in args.qualities.split(",") if q]
    started = time.monotonic()
    results = []
    for resolution in args.resolutions.split(","):
        height, width = (int(v) for v in resolution.split("x"))
        frames = render_frames(args, height, width)
        raw_frame = height * width * 3
        raw_sim = raw_frame * len(frames)  # bytes per tick of one simulator, every camera
        entry: dict = {
            "resolution": [height, width],
            "images_per_camera": len(next(iter(frames.values()))),
            "raw": {
                "bytes_per_frame_per_camera": raw_frame,
                **per_second(raw_sim, args.fps),
                "sims_per_link": int(link_bytes_per_s // (raw_sim * args.fps)),
            },
            "jpeg": {},
        }
        for quality in qualities:
            cameras = {cam: measure_jpeg(images, quality) for cam, images in frames.items()}
            jpeg_sim = sum(m["bytes_mean"] for m in cameras.values())
            entry["jpeg"][str(quality)] = {
                "cameras": cameras,
                **per_second(jpeg_sim, args.fps),
                "ratio": round(raw_sim / jpeg_sim, 1),
                "encode_ms_per_tick": round(sum(m["encode_ms_p50"] for m in cameras.values()), 3),
                "sims_per_link": int(link_bytes_per_s // (jpeg_sim * args.fps)),
            }
        results.append(entry)
    return {
        "task": args.task,
        "fps": args.fps,
        "cameras": args.cameras.split(","),
        "profile": args.profile,
        "episodes": args.episodes,
        "link_gbit": args.link_gbit,
        "results": results,
        "elapsed_s": round(time.monotonic() - started, 1),
        "cpu_count": os.cpu_count(),
    }


if __name__ == "__main__":
    from bench import run_and_print

    run_and_print(sys.modules[__name__], sys.argv[1:])
