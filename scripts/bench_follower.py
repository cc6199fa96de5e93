"""Benchmark the follower: its bus cost per tick, and the rate it holds in a graph with cameras.

``bus``: LeRobot's ``SOFollower`` against the virtual follower (served from its own process, as
a USB adapter would answer), ticked at 30 Hz: ``get_observation()`` (one sync read of the six
positions), ``send_action()`` with ``max_relative_target`` (LeRobot's extra sync read, then the
sync write of the six goals), and without it (the sync write alone).

``graph``: ``dora run`` of the follower node with two dataset cameras (a sample episode's frames
at 240x320, decoded as they are due, like USB cameras) driven by the replay node at 30 Hz, as
``dataflow-replay.yaml`` runs it; a probe logs every frame. Reports the achieved frame rate,
frames per camera, late ticks, the node's bus time per observation, start-up and peak RSS.

    uv run python scripts/bench.py follower --json [--duration 20] [--bus-ticks 300]
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from dora_sim import contract as c
from dora_sim.headless import headless_env
from dora_sim_follower.sample import write_sample_dataset
from dora_sim_follower.status import ARM_STATUS, FollowerStatus
from dora_sim_leader.probe import instrument, read_log
from dora_sim_leader.virtual import physical
from dora_sim_leader.virtual.process import ArmProcess
from dora_sim_leader.virtual.roles import FOLLOWER, FOLLOWER_ROBOT_NAME

ROOT = Path(__file__).resolve().parents[1]
REPLAY = ROOT / "dataflows" / "dataflow-replay.yaml"
CAMERAS = ("front", "wrist")
IMAGE_SIZE = (240, 320)
FPS = c.DEFAULT_FPS
CAP = 10.0
WARMUP_S = 1.0  # of the replayed episode, before the rate is measured


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="one line of JSON (scripts/bench.py)")
    parser.add_argument("--duration", type=float, default=20.0, help="graph seconds measured")
    parser.add_argument("--bus-ticks", type=int, default=300, help="ticks of the bus benchmark")
    parser.add_argument("--keep", type=Path, help="keep the run's files in this folder")
    return parser


def run(args: argparse.Namespace | None = None) -> dict[str, Any]:
    options = build_parser().parse_args([])
    for name, value in vars(args or argparse.Namespace()).items():
        if name in vars(options) and value is not None:
            setattr(options, name, value)
    if options.keep:
        options.keep.mkdir(parents=True, exist_ok=True)
        return _run(options, options.keep)
    with tempfile.TemporaryDirectory(prefix="bench-follower-") as tmp:
        return _run(options, Path(tmp))


def _run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    calibration = tmp / "calibration"
    physical.write_calibration(
        calibration / "robots" / FOLLOWER_ROBOT_NAME / f"{FOLLOWER.calibration_id}.json",
        physical.FOLLOWER_CALIBRATION,
    )
    return {
        **bench_bus(tmp, calibration / "robots" / FOLLOWER_ROBOT_NAME, args.bus_ticks),
        **bench_graph(tmp, calibration, args.duration),
    }


# --- the bus ---------------------------------------------------------------------------------
def bench_bus(tmp: Path, calibration_dir: Path, ticks: int) -> dict[str, Any]:
    from lerobot.robots.so_follower import SOFollower, SOFollowerRobotConfig

    gc.collect()
    gc.freeze()  # as the node does: no collection over torch's objects in the middle of a read
    arm = ArmProcess(tmp / "bus-arm", None, physical.FOLLOWER_CALIBRATION, np.zeros(6))
    times: dict[str, list[float]] = {"read": [], "write": [], "capped": []}
    try:
        for capped in (False, True):
            config = SOFollowerRobotConfig(
                port=str(arm.link),
                id=FOLLOWER.calibration_id,
                calibration_dir=calibration_dir,
                max_relative_target=CAP if capped else None,
            )
            robot = SOFollower(config)
            robot.bus.connect()
            robot.bus.write_calibration(robot.calibration)
            robot.bus.disconnect(disable_torque=False)
            robot.connect(calibrate=False)
            start = time.monotonic()
            for k in range(ticks):
                time.sleep(max(0.0, start + k / FPS - time.monotonic()))
                t0 = time.perf_counter()
                robot.get_observation()
                t1 = time.perf_counter()
                pose = 20 * np.sin(2 * np.pi * k / FPS / np.array([4, 5, 3.5, 3, 6, 3]))
                pose[c.GRIPPER_INDEX] += 50
                robot.send_action(
                    {f"{n}.pos": float(v) for n, v in zip(c.JOINT_NAMES, pose, strict=True)}
                )
                t2 = time.perf_counter()
                times["read"].append(t1 - t0)
                times["capped" if capped else "write"].append(t2 - t1)
            robot.disconnect()
    finally:
        arm.stop()

    def ms(name: str, q: float) -> float:
        return round(1e3 * float(np.percentile(times[name], q)), 3)

    tick = np.array(times["read"][ticks:]) + np.array(times["capped"])
    return {
        "bus_sync_read_ms_p50": ms("read", 50),
        "bus_sync_read_ms_p99": ms("read", 99),
        "bus_sync_write_ms_p50": ms("write", 50),
        "bus_sync_write_ms_p99": ms("write", 99),
        "bus_send_action_capped_ms_p50": ms("capped", 50),
        "bus_send_action_capped_ms_p99": ms("capped", 99),
        "bus_tick_ms_p50": round(1e3 * float(np.percentile(tick, 50)), 3),
        "bus_tick_ms_p99": round(1e3 * float(np.percentile(tick, 99)), 3),
        "bus_ticks": ticks,
    }


# --- the node in a graph -----------------------------------------------------------------------
def bench_graph(tmp: Path, calibration: Path, duration: float) -> dict[str, Any]:
    frames = int((duration + WARMUP_S) * FPS)
    dataset = write_sample_dataset(
        tmp / "dataset", episodes=1, frames=frames, cameras=CAMERAS, size=IMAGE_SIZE
    )
    arm = ArmProcess(tmp / "graph-arm", None, physical.FOLLOWER_CALIBRATION, np.zeros(6))
    probed = {
        "state": "follower/observation.state",
        "episode": "follower/episode",
        "status": "follower/status",
        "arm_status": f"follower/{ARM_STATUS}",
        **{camera: f"follower/{c.image_topic(camera)}" for camera in CAMERAS},
    }
    dataflow, log = instrument(
        REPLAY,
        tmp,
        {name: {"source": source, "queue_size": 1000} for name, source in probed.items()},
        drop=("keyboard", "sim"),
    )
    cameras = {
        camera: {"type": "dora_sim_dataset", "root": str(dataset), "key": camera}
        for camera in CAMERAS
    }
    graph = yaml.safe_load(dataflow.read_text())
    follower = next(node for node in graph["nodes"] if node["id"] == "follower")
    follower["outputs"] += [c.image_topic(camera) for camera in CAMERAS]
    dataflow.write_text(yaml.safe_dump(graph, sort_keys=False))
    env = headless_env(
        FOLLOWER_PORT=str(arm.link),
        FOLLOWER_ID=FOLLOWER.calibration_id,
        HF_LEROBOT_CALIBRATION=str(calibration),
        FOLLOWER_CAMERAS=json.dumps(cameras),
        REPLAY_DATASET=str(dataset),
        MAX_RELATIVE_TARGET=str(CAP),
    )
    try:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("dora")), "run", str(dataflow)],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=duration + 180,
        )
    finally:
        arm.stop()
    if done.returncode != 0:
        raise RuntimeError(f"dora run failed ({done.returncode}):\n{done.stdout[-3000:]}")
    records = read_log(log)
    replayed = max(r["metadata"][c.MD_EPISODE] for r in records if r["id"] == "state")
    window = [
        r["metadata"]
        for r in records
        if r["id"] == "state"
        and r["metadata"][c.MD_EPISODE] == replayed
        and r["metadata"][c.MD_EPISODE_FRAME] >= WARMUP_S * FPS
    ]
    frames_in = {md[c.MD_FRAME] for md in window}
    span_s = (window[-1][c.MD_READ_AT] - window[0][c.MD_READ_AT]) / 1e9
    per_camera = {
        camera: sum(
            1 for r in records if r["id"] == camera and r["metadata"][c.MD_FRAME] in frames_in
        )
        for camera in CAMERAS
    }
    status = FollowerStatus.from_json([r for r in records if r["id"] == "arm_status"][-1]["value"])
    loop = json.loads([r for r in records if r["id"] == "status"][-1]["value"])
    return {
        "graph_target_hz": FPS,
        "graph_achieved_hz": round((len(window) - 1) / span_s, 2),
        "graph_frames": len(window),
        "graph_frames_per_camera": per_camera,
        "graph_cameras": f"{len(CAMERAS)} x {IMAGE_SIZE[0]}x{IMAGE_SIZE[1]}",
        "graph_late_ticks": loop["late_ticks"],
        "graph_bus_ms_p50": status.bus_ms_p50,
        "graph_bus_ms_p99": status.bus_ms_p99,
        "graph_comm_errors": status.comm_errors,
        "graph_camera_errors": status.camera_errors,
        "follower_startup_s": status.startup_s,
        "follower_rss_mb": status.rss_mb,
        "duration_s": round(span_s, 2),
    }


if __name__ == "__main__":
    print(json.dumps(run(build_parser().parse_args())))
