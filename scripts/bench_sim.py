"""Simulator benchmark: in-process floor vs the same work inside the demo dataflow.

Prints one JSON object (see ``--help``). Absolute times depend on the machine; the ratios
(dataflow vs floor) are measured side by side in one run. ``--randomize <profile>`` measures
everything twice, without and with that domain randomization profile, and prints both.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import yaml

from dora_sim.transport import with_overlay

REPO = Path(__file__).resolve().parents[1]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", default="pick-cube")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--cameras", default="front,wrist")
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--profile", default="fast")
    parser.add_argument("--floor-ticks", type=int, default=150)
    parser.add_argument("--duration", type=float, default=20.0, help="dataflow seconds")
    parser.add_argument("--extra-node", action="append", default=[],
                        help="YAML file with one more node to add to the graph")  # fmt: skip
    parser.add_argument("--randomize", metavar="PROFILE",
                        help="also measure with this randomization profile")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    return parser


def randomization(args: argparse.Namespace):
    """The profile to measure with (None: off). Other benches reuse this module's graph with
    namespaces of their own, which have no ``randomize``."""
    name = getattr(args, "randomize", None)
    if not name:
        return None
    from dora_sim_mujoco.randomization_config import load, resolve

    return load(resolve(name, (Path.cwd(), REPO)))


def floor_ms_per_tick(args: argparse.Namespace) -> tuple[float, float]:
    """Step + render + encode per tick, in this process, with no dora in the way; and the
    mean time of an episode reset."""
    from dora_sim import codec
    from dora_sim_mujoco.simulator import SimConfig, Simulator

    cameras = tuple(x for x in args.cameras.split(",") if x)
    sim = Simulator(SimConfig(args.task, args.fps, cameras, args.height, args.width, args.profile,
                              randomization=randomization(args)))  # fmt: skip
    resets = []
    for seed in range(6):
        start = time.perf_counter()
        sim.reset(seed)
        resets.append(time.perf_counter() - start)
    times = []
    try:
        for i in range(args.floor_ticks + 10):
            start = time.perf_counter()
            codec.encode_joints(sim.state())
            codec.encode_joints(sim.target_contract())
            codec.encode_ee_state(np.r_[sim.ee_pose(), 0, 0, 0, 1, 0, 0, 0])  # pose + no change
            for camera in cameras:
                codec.encode_image(sim.render(camera))
            codec.encode_scene(sim.object_poses())
            sim.success()
            sim.step()
            if i >= 10:  # warm-up excluded
                times.append(time.perf_counter() - start)
    finally:
        sim.close()
    return 1000 * statistics.mean(times), 1000 * statistics.mean(resets[1:])


def graph(args: argparse.Namespace, probe_out: str) -> dict:
    """The demo graph's sim <-> expert plus a probe on every camera and the state."""
    demo = yaml.safe_load((REPO / "dataflows" / "dataflow-demo.yaml").read_text())
    # The simulator's own cost: sim <-> expert only (`bench.py record` measures the recorder).
    demo["nodes"] = [n for n in demo["nodes"] if n["id"] in ("sim", "expert")]
    sim = next(n for n in demo["nodes"] if n["id"] == "sim")
    for name in ("control", "ack.recorder"):  # wired to the recorder
        sim["inputs"].pop(name, None)
    cameras = [x for x in args.cameras.split(",") if x]
    sim["inputs"]["tick"]["source"] = f"dora/timer/hz/{args.fps}"
    sim["outputs"] = [o for o in sim["outputs"] if not o.startswith("observation.images.")]
    sim["outputs"] += [f"observation.images.{cam}" for cam in cameras]
    sim["env"] = {
        "TASK": args.task, "FPS": args.fps, "CAMERAS": args.cameras, "IMAGE_HEIGHT": args.height,
        "IMAGE_WIDTH": args.width, "RENDER_PROFILE": args.profile, "NUM_EPISODES": 0,
        "EPISODE_TIME_S": 12,
    }  # fmt: skip
    profile = randomization(args)
    if profile is not None:
        sim["env"]["RANDOMIZATION"] = profile.source
    probe_inputs = {o: {"source": f"sim/{o}", "queue_size": 100} for o in sim["outputs"]}
    demo["nodes"].append({
        "id": "probe", "path": sys.executable, "args": str(REPO / "scripts" / "probe_node.py"),
        "inputs": probe_inputs, "env": {"PROBE_OUT": probe_out},
    })  # fmt: skip
    for extra in args.extra_node:
        demo["nodes"].append(yaml.safe_load(Path(extra).read_text()))
    for node in demo["nodes"]:  # run our nodes as modules of this interpreter: no PATH lookup
        if str(node["path"]).startswith("dora-sim-"):
            node["args"] = f"-m {node['path'].replace('-', '_')}.main"
            node["path"] = sys.executable
    return demo


def tree_rss_mb(root: psutil.Process) -> float:
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total / 2**20


def run_dataflow(args: argparse.Namespace) -> tuple[dict, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        probe_out = os.path.join(tmp, "probe.json")
        descriptor = os.path.join(tmp, "bench.yaml")
        Path(descriptor).write_text(yaml.safe_dump(graph(args, probe_out)))
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        with_overlay(env)  # dora-sim's zenoh settings, as `dora-sim run` and the tests use
        log = open(os.path.join(tmp, "dora.log"), "w")  # noqa: SIM115 (closed with the tmp dir)
        launched = time.time()
        run_graph = "import sys, dora; dora.run(sys.argv[1], stop_after=float(sys.argv[2]))"
        proc = subprocess.Popen(  # dora.run == `dora run`, without needing the CLI installed
            [sys.executable, "-c", run_graph, descriptor, str(args.duration)],
            cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        root, peak = psutil.Process(proc.pid), 0.0
        while proc.poll() is None:
            peak = max(peak, tree_rss_mb(root))
            time.sleep(0.5)
        if proc.returncode != 0:
            tail = Path(log.name).read_text()[-3000:]
            raise RuntimeError(f"dora run exited with {proc.returncode}:\n{tail}")
        return json.loads(Path(probe_out).read_text()), launched, peak


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def run(args: argparse.Namespace) -> dict:
    if not args.randomize:
        return measure(args)
    off = measure(argparse.Namespace(**{**vars(args), "randomize": None}))
    on = measure(args)
    keys = ("achieved_hz", "floor_ms_per_tick", "floor_reset_ms", "dataflow_ms_per_tick")
    return {
        "randomize": args.randomize,
        "side_by_side": {key: {"off": off[key], "on": on[key]} for key in keys},
        "off": off,
        "on": on,
    }


def measure(args: argparse.Namespace) -> dict:
    floor, reset = floor_ms_per_tick(args)
    probe, launched, rss = run_dataflow(args)
    arrivals = probe["arrivals"]["observation.state"]
    steady = arrivals[len(arrivals) // 5 :]  # skip start-up
    achieved = (len(steady) - 1) / (steady[-1] - steady[0])
    frames = probe["frames"]["observation.state"]
    status = probe["status"] or {}
    camera_hops = [h for k, v in probe["hops_ms"].items() if "images" in k for h in v]
    return {
        "target_hz": args.fps,
        "achieved_hz": round(achieved, 2),
        "floor_ms_per_tick": round(floor, 2),
        "floor_reset_ms": round(reset, 2),
        "dataflow_ms_per_tick": status.get("busy_ms"),
        "overhead_ratio": round(status["busy_ms"] / floor, 3) if status else None,
        "hop_latency_ms_p50": round(percentile(camera_hops, 50), 3),
        "hop_latency_ms_p99": round(percentile(camera_hops, 99), 3),
        "late_ticks": status.get("late_ticks"),
        "image_decode_errors": probe["image_errors"],
        "frames_received": len(frames),
        "frames_missing": (frames[-1] - frames[0] + 1) - len(set(frames)),
        "cameras": args.cameras.split(","),
        "resolution": [args.height, args.width],
        "profile": args.profile,
        "startup_s": round(probe["first_frame_wall"] - launched, 2),
        "rss_mb_total": round(rss, 1),
        "duration_s": args.duration,
        "cpu_count": os.cpu_count(),
    }


if __name__ == "__main__":
    from bench import run_and_print

    run_and_print(sys.modules[__name__], sys.argv[1:])
