"""Soak benchmark: the expert record graph for a long session, every frame counted, RSS sampled.

    uv run python scripts/bench.py soak --minutes 30 --json

Runs ``dataflows/dataflow-record-expert.yaml`` (MuJoCo sim, scripted expert, recorder, with
``bench.py record``'s sink on the sim's clock) for ``--minutes`` of sim time: fixed-length
episodes (``--episode-time``, no early end on success), as many as fit. Reports frames produced
by the simulator and recorded in the dataset (loaded with LeRobot), and each node's RSS every
minute; ``rss_growth_after_5min_pct`` is each node's growth from the 5-minute sample to the last.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path
from typing import Any

import bench_record


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0, help="sim time to record")
    parser.add_argument("--episode-time", type=float, default=20.0, help="seconds per episode")
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--vcodec", default="h264")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    return parser


def growth(series: list[dict[str, Any]], after_s: float) -> dict[str, float]:
    """Per node: RSS growth (%) from the first sample at or after ``after_s`` to the last."""
    later = [sample for sample in series if sample["t_s"] >= after_s]
    if len(later) < 2:
        return {}
    first, last = later[0], later[-1]
    nodes = [k for k in first if k != "t_s" and k in last]
    return {node: round(100 * (last[node] / first[node] - 1), 1) for node in nodes}


def run(args: argparse.Namespace) -> dict[str, Any]:
    episodes = max(1, math.ceil(args.minutes * 60 / args.episode_time))
    record = bench_record.build_parser().parse_args(
        [
            f"--episodes={episodes}",
            f"--episode-time={args.episode_time}",
            f"--height={args.height}",
            f"--width={args.width}",
            f"--vcodec={args.vcodec}",
            "--skip-compare",
        ]
    )
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as name:
        tmp = Path(name)
        live = bench_record.run_dataflow(record, tmp, sample_every_s=60.0)
        dataset, videos_match = bench_record.check_dataset(tmp / "ds")
        produced = sum(int(e["num_frames"]) for e in live["episodes"] if e["kind"] == "end")
        final = live["recorder"][-1] if live["recorder"] else {}
        status = live["sim_status"] or {}
        series = live["rss_series"]
        return {
            "sim_minutes": round(produced / 30 / 60, 2),
            "wall_minutes": round(live["wall_s"] / 60, 2),
            "episodes": dataset.meta.total_episodes,
            "frames_produced": produced,
            "frames_recorded": len(dataset),
            "frames_lost": produced - len(dataset),
            "frames_duplicated": final.get("frames_duplicated"),
            "video_frames_match_rows": videos_match,
            "sim_held_ticks": status.get("held_ticks"),
            "sim_held_s": status.get("held_s"),
            "sim_late_ticks": status.get("late_ticks"),
            "rss_mb_per_node_per_minute": series,
            "rss_growth_after_5min_pct": growth(series, 300.0),
            "resolution": [args.height, args.width],
            "vcodec": args.vcodec,
        }
