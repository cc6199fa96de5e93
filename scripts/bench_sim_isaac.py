"""Simulator benchmark, Isaac Lab 3.0 kit-less beside MuJoCo: ``bench.py sim --sim isaac``.

Prints one JSON object with, for each simulator (the Isaac node on Newton + Newton's Warp camera,
and the MuJoCo node, in the same run):

- ``floor``: in-process ms per tick at each ``--resolutions`` entry (two cameras): physics for
  one tick (``step``), then rendering and copying both images to the host (``render``), and the
  sum with the contract's encoding (``tick``) — :mod:`bench_sim`'s floor, split;
- ``dataflow``: the achieved rate and the sim's busy time inside the demo graph (sim ↔ expert ↔
  a probe, :func:`bench_sim.graph`) with the timer capped at ``--fps`` and uncapped (ticking at
  1 kHz, so the sim runs as fast as it can), at each resolution.

This script runs in the Python of the MuJoCo node (the workspace's, or the GPU recipe's
``scripts/isaac_gpu.sh``); the Isaac parts run in ``$ISAAC_PYTHON`` (docs/isaac.md), in a
subprocess for the floor (``--isaac-floor``) and through ``nodes/dora-sim-isaac/dora-sim-isaac.sh``
in the graphs. ``ISAAC_DEVICE`` (default ``cuda:0``) picks Isaac's device.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
LAUNCHER = REPO / "nodes" / "dora-sim-isaac" / "dora-sim-isaac.sh"
UNCAPPED = "dora/timer/millis/1"
RESULT = "ISAAC_FLOOR "  # prefix of the floor subprocess's result line (Isaac Lab logs on stdout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sim", choices=("isaac",), default="isaac")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--cameras", default="front,wrist")
    parser.add_argument("--resolutions", default="240x320,480x640", help="HxW,HxW,…")
    parser.add_argument("--floor-ticks", type=int, default=150)
    parser.add_argument(
        "--duration",
        type=float,
        default=12.0,
        help="seconds each dataflow runs after its start-up allowance",
    )
    parser.add_argument(
        "--startup-s",
        type=float,
        default=30.0,
        help="start-up allowance of the Isaac graphs (MuJoCo: a third of it)",
    )
    parser.add_argument(
        "--graph-resolutions", default="240x320", help="resolutions of the dataflow runs, HxW,…"
    )
    parser.add_argument("--skip-mujoco", action="store_true", help="Isaac only")
    parser.add_argument("--isaac-floor", metavar="HxW", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    return parser


def resolutions(text: str) -> list[tuple[int, int]]:
    return [tuple(int(v) for v in item.split("x")) for item in text.split(",") if item]


def timed_floor(sim, cameras: tuple[str, ...], ticks: int) -> dict[str, float]:
    """Mean ms of step / render+copy / whole tick (with the contract's encoding) of a sim."""
    from dora_sim import codec

    sim.reset(0)
    step_ms, render_ms, tick_ms = [], [], []
    frames = {cam: None for cam in cameras}
    for i in range(ticks + 10):
        start = time.perf_counter()
        codec.encode_joints(sim.state())
        codec.encode_joints(sim.target_contract())
        rendered = time.perf_counter()
        for cam in cameras:
            frames[cam] = sim.render(cam, frames[cam])
            codec.encode_image(frames[cam])
        render_end = time.perf_counter()
        codec.encode_ee_state(np.r_[sim.ee_pose(), 0, 0, 0, 1, 0, 0, 0])  # pose + no change
        codec.encode_scene(sim.object_poses())
        sim.success()
        stepped = time.perf_counter()
        sim.step()
        end = time.perf_counter()
        if i >= 10:  # warm-up excluded
            render_ms.append(render_end - rendered)
            step_ms.append(end - stepped)
            tick_ms.append(end - start)
    return {
        "physics_ms": round(1000 * statistics.mean(step_ms), 3),
        "render_2cams_ms": round(1000 * statistics.mean(render_ms), 3),
        "tick_ms": round(1000 * statistics.mean(tick_ms), 3),
    }


def isaac_floor_here(height: int, width: int, args: argparse.Namespace) -> dict:
    """Runs in ISAAC_PYTHON: the Isaac node's simulator, timed in process."""
    from dataclasses import replace

    from dora_sim_isaac.config import IsaacConfig
    from dora_sim_isaac.isaac_env import build, launch_app
    from dora_sim_isaac.simulator import IsaacSimulator

    cameras = tuple(x for x in args.cameras.split(",") if x)
    config = replace(
        IsaacConfig.from_env(), fps=args.fps, cameras=cameras, height=height, width=width
    )
    app = launch_app(config)
    started = time.perf_counter()
    sim = IsaacSimulator(config, build(config, num_envs=1))
    build_s = time.perf_counter() - started
    try:
        result = timed_floor(sim, cameras, args.floor_ticks)
    finally:
        sim.close()
        app.close()
    return {**result, "build_s": round(build_s, 1), "device": config.device}


def isaac_floor(height: int, width: int, args: argparse.Namespace) -> dict:
    python = os.environ.get("ISAAC_PYTHON")
    if not python:
        raise SystemExit("set ISAAC_PYTHON to the Python that runs Isaac Lab (docs/isaac.md)")
    command = [
        python,
        __file__,
        "--isaac-floor",
        f"{height}x{width}",
        "--fps",
        str(args.fps),
        "--cameras",
        args.cameras,
        "--floor-ticks",
        str(args.floor_ticks),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"Isaac floor failed:\n{done.stderr[-3000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    return json.loads(lines[-1][len(RESULT) :])


def mujoco_floor(height: int, width: int, args: argparse.Namespace) -> dict:
    from dora_sim_mujoco.simulator import SimConfig, Simulator

    cameras = tuple(x for x in args.cameras.split(",") if x)
    sim = Simulator(SimConfig("pick-cube", args.fps, cameras, height, width, "fast"))
    try:
        return timed_floor(sim, cameras, args.floor_ticks)
    finally:
        sim.close()


def dataflow(sim_kind: str, height: int, width: int, capped: bool, args) -> dict:
    """The demo graph (sim ↔ expert + probe) with the MuJoCo or the Isaac sim node."""
    import bench_sim

    startup = args.startup_s if sim_kind == "isaac" else args.startup_s / 3
    graph_args = argparse.Namespace(
        task="pick-cube",
        fps=args.fps,
        cameras=args.cameras,
        height=height,
        width=width,
        profile="fast",
        duration=args.duration + startup,
        extra_node=[],
    )
    original = bench_sim.graph

    def graph(namespace, probe_out):
        descriptor = original(namespace, probe_out)
        sim = next(n for n in descriptor["nodes"] if n["id"] == "sim")
        for name in list(sim["inputs"]):  # wired to the recorder, which this graph leaves out
            if name == "control" or name.startswith("ack"):
                del sim["inputs"][name]
        if not capped:
            sim["inputs"]["tick"]["source"] = UNCAPPED
        if sim_kind == "isaac":
            sim["path"] = str(LAUNCHER)
            sim.pop("args", None)
        return descriptor

    bench_sim.graph = graph
    try:
        probe, launched, rss = bench_sim.run_dataflow(graph_args)
    finally:
        bench_sim.graph = original
    arrivals = probe["arrivals"].get("observation.state", [])
    if len(arrivals) < 10:
        seconds = graph_args.duration
        return {"error": f"{len(arrivals)} frames in {seconds:.0f} s (start-up slower than that?)"}
    steady = arrivals[len(arrivals) // 5 :]  # the first fifth: warming up
    frames = probe["frames"]["observation.state"]
    status = probe["status"] or {}
    return {
        "timer": f"dora/timer/hz/{args.fps}" if capped else UNCAPPED,
        "achieved_hz": round((len(steady) - 1) / (steady[-1] - steady[0]), 2),
        "busy_ms_per_tick": status.get("busy_ms"),
        "late_ticks": status.get("late_ticks"),
        "frames_received": len(frames),
        "frames_missing": (frames[-1] - frames[0] + 1) - len(set(frames)),
        "image_decode_errors": probe["image_errors"],
        "startup_s": round(probe["first_frame_wall"] - launched, 2),
        "rss_mb_total": round(rss, 1),
    }


def run(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(Path(__file__).parent))
    floors = resolutions(args.resolutions)
    graphs = resolutions(args.graph_resolutions)
    sims = ("isaac",) if args.skip_mujoco else ("isaac", "mujoco")
    result: dict = {
        "fps": args.fps,
        "cameras": args.cameras.split(","),
        "isaac_device": os.environ.get("ISAAC_DEVICE", "cuda:0"),
    }
    for kind in sims:
        measure = isaac_floor if kind == "isaac" else mujoco_floor
        entry = result.setdefault(kind, {"floor": {}, "dataflow": {}})
        for h, w in floors:
            entry["floor"][f"{h}x{w}"] = measure(h, w, args)
        for h, w in graphs:
            for capped in (True, False):
                key = f"{h}x{w}_{'capped' if capped else 'uncapped'}"
                entry["dataflow"][key] = dataflow(kind, h, w, capped, args)
    result["dataflow_seconds_after_startup"] = args.duration
    result["cpu_count"] = os.cpu_count()
    return result


if __name__ == "__main__":
    cli = build_parser().parse_args(sys.argv[1:])
    if cli.isaac_floor:
        height, width = resolutions(cli.isaac_floor)[0]
        print(RESULT + json.dumps(isaac_floor_here(height, width, cli)), flush=True)
    else:
        from bench import run_and_print

        run_and_print(sys.modules[__name__], sys.argv[1:])
