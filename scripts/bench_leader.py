"""Benchmark the leader arm path: servo reading -> simulator action-applied latency.

Runs the shipped ``dataflows/dataflow-teleop.yaml`` (keyboard removed) against the virtual arm in
its own process, with a probe node logging the leader's actions (stamped ``read_at_ns`` when
the sync read began) and the simulator's per-tick applied action (stamped ``sent_at_ns`` as it
steps). Each reading is matched by value to the first tick that applied it
(:mod:`dora_sim_leader.latency`). Also reports the leader's achieved rate, its bus time per sync
read, its startup time and peak RSS.

    uv run python scripts/bench.py leader --json [--duration 20] [--rate-hz 59.5] [--cameras ""]
    (or ``uv run python scripts/bench_leader.py …``) prints one JSON object: ``latency_ms_p50``,
    ``latency_ms_p99``, ``achieved_hz``, ``bus_read_ms_p50``, …
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from dora_sim import contract as c
from dora_sim.transport import with_overlay
from dora_sim_leader.latency import Stamped, match_latencies
from dora_sim_leader.probe import instrument, read_log
from dora_sim_leader.status import LeaderStatus
from dora_sim_leader.virtual import physical

ROOT = Path(__file__).resolve().parents[1]
TELEOP = ROOT / "dataflows" / "dataflow-teleop.yaml"
WARMUP_S = 2.0  # of sim time after the episode starts: the leader is running steadily by then


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="one line of JSON (scripts/bench.py)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    parser.add_argument(
        "--rate-hz",
        type=float,
        default=59.5,
        help="the leader's RATE_HZ (node default 60). Just off 60 so that the phase between"
        " readings and ticks sweeps all values every 2 s; at exactly 60 it stays wherever the"
        " session started and one run measures one phase",
    )
    parser.add_argument(
        "--cameras",
        default="",
        help="the sim's CAMERAS (teleop renders none; 'front,wrist' to load it)",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="virtual arm wave speed")
    parser.add_argument("--keep", type=Path, help="keep the run's files in this folder")
    return parser


def run(args: argparse.Namespace | None = None) -> dict[str, Any]:
    """The benchmark; ``args`` may carry any of :func:`build_parser`'s options, the rest default."""
    options = build_parser().parse_args([])
    for name, value in vars(args or argparse.Namespace()).items():
        if name in vars(options) and value is not None:
            setattr(options, name, value)
    args = options
    if args.keep:
        keep = Path(args.keep)
        keep.mkdir(parents=True, exist_ok=True)
        return _run(args, keep)
    with tempfile.TemporaryDirectory(prefix="bench-leader-") as tmp:
        return _run(args, Path(tmp))


def _run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    calibration = tmp / "calibration"
    physical.write_calibration(calibration / "teleoperators" / "so_leader" / "virtual_arm.json")
    link = tmp / "arm"
    bin_dir = Path(sys.executable).parent
    episode_s = WARMUP_S + args.duration
    arm = subprocess.Popen(
        [
            str(bin_dir / "dora-sim-virtual-arm"),
            "--link",
            str(link),
            "--speed",
            str(args.speed),
            "--duration",
            str(episode_s + 120),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not link.exists():
            if time.monotonic() > deadline or arm.poll() is not None:
                raise RuntimeError("the virtual arm did not start")
            time.sleep(0.05)
        probed = {
            "leader_action": "leader/action",
            "leader_status": "leader/status",
            "sim_action": f"sim/{c.APPLIED_ACTION}",
        }
        dataflow, log = instrument(
            TELEOP,
            tmp,
            {name: {"source": source, "queue_size": 1000} for name, source in probed.items()},
            credits=("sim",),  # the probe acknowledges the sim's frames: it sees every one
            env={
                "sim": {
                    "NUM_EPISODES": 1,
                    "EPISODE_TIME_S": episode_s,
                    "END_ON_SUCCESS": 0,
                    "VIEWER": 0,
                    "CAMERAS": args.cameras,
                },
                "leader": {"RATE_HZ": args.rate_hz},
            },
            drop=("keyboard",),
        )
        if args.cameras:
            declare_camera_outputs(dataflow, args.cameras.split(","))
        env = {
            **os.environ,
            "LEADER_PORT": str(link),
            "LEADER_ID": "virtual_arm",
            "HF_LEROBOT_CALIBRATION": str(calibration),
        }
        env.pop("CALIBRATION_DIR", None)
        with_overlay(env)  # dora-sim's zenoh settings, as `dora-sim run` and the tests use
        env.setdefault("MUJOCO_GL", "egl")
        env.setdefault("EGL_PLATFORM", "surfaceless")
        done = subprocess.run(
            [str(bin_dir / "dora"), "run", str(dataflow)],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=episode_s + 180,
        )
        if done.returncode != 0:
            raise RuntimeError(f"dora run failed ({done.returncode}):\n{done.stdout[-3000:]}")
    finally:
        arm.terminate()
        arm.wait(timeout=10)
    return summarize(read_log(log), args)


def summarize(records: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    ticks = [
        r
        for r in records
        if r["id"] == "sim_action" and r["metadata"][c.MD_EPISODE_FRAME] >= WARMUP_S * c.DEFAULT_FPS
    ]
    if not ticks:
        raise RuntimeError("the simulator produced no ticks after the warm-up")
    start, end = ticks[0]["metadata"][c.MD_SENT_AT], ticks[-1]["metadata"][c.MD_SENT_AT]
    actions = [r for r in records if r["id"] == "leader_action"]
    window = [r for r in actions if start <= r["metadata"][c.MD_READ_AT] <= end]
    result = match_latencies(
        [Stamped(r["metadata"][c.MD_READ_AT], np.array(r["value"])) for r in actions],
        [Stamped(r["metadata"][c.MD_SENT_AT], np.array(r["value"])) for r in ticks],
    )
    latency = result.latencies_ms
    # The node stamps read_at_ns before the sync read and sent_at_ns right after it (and the
    # ~20 us encode): their difference is the bus time of each reading, retries included.
    bus_ms = [(r["metadata"][c.MD_SENT_AT] - r["metadata"][c.MD_READ_AT]) / 1e6 for r in window]
    status = LeaderStatus.from_json([r for r in records if r["id"] == "leader_status"][-1]["value"])
    span_s = (end - start) / 1e9
    return {
        "latency_ms_p50": round(float(np.percentile(latency, 50)), 2),
        "latency_ms_p90": round(float(np.percentile(latency, 90)), 2),
        "latency_ms_p99": round(float(np.percentile(latency, 99)), 2),
        "latency_ms_max": round(float(latency.max()), 2),
        "latency_samples": int(latency.size),
        "achieved_hz": round(len(window) / span_s, 2),
        "target_hz": args.rate_hz,
        "sim_hz": round((len(ticks) - 1) / span_s, 2),
        "bus_read_ms_p50": round(float(np.percentile(bus_ms, 50)), 3),
        "bus_read_ms_p99": round(float(np.percentile(bus_ms, 99)), 3),
        "unmatched_ticks": result.unmatched_ticks,
        "comm_errors": status.comm_errors,
        "leader_startup_s": status.startup_s,
        "leader_rss_mb": status.rss_mb,
        "duration_s": round(span_s, 2),
        "cameras": args.cameras,
    }


def declare_camera_outputs(dataflow: Path, cameras: list[str]) -> None:
    """The shipped teleop graph renders no camera; a sim that does must declare their outputs."""
    graph = yaml.safe_load(dataflow.read_text())
    sim = next(node for node in graph["nodes"] if node["id"] == "sim")
    sim["outputs"] += [c.image_topic(camera) for camera in cameras]
    dataflow.write_text(yaml.safe_dump(graph, sort_keys=False))


if __name__ == "__main__":
    from bench import run_and_print

    run_and_print(sys.modules[__name__], sys.argv[1:])
