"""Rerun node benchmark: the sim loop with and without ``dora-sim-rerun``, side by side.

Runs ``dataflows/dataflow-demo-rerun.yaml`` (sim <-> expert, + rerun) headless, once without
the rerun node and once with it saving an .rrd, alternating the order every round. A probe
(``scripts/probe_node.py``) records every ``observation.state`` frame with its send time and
the sim's last ``status``. Reported per variant: achieved tick rate after the warm-up, tick
interval spread, the sim's own busy time per tick; with the node also its CPU use, the display
frames it dropped (frames the sim sent that are missing from the .rrd) and the file size.

    uv run python scripts/bench.py rerun [--seconds 20] [--rounds 3] [--fps 60] [--json]
    uv run python scripts/bench_rerun.py --height 480 --width 640 --jpeg-quality 0
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from dora_sim.transport import with_overlay

REPO = Path(__file__).resolve().parents[1]
HEADLESS = {"MUJOCO_GL": "egl", "EGL_PLATFORM": "surfaceless"}
CPU_LINE = re.compile(r"\[dora-sim-rerun\] dropped frames final:.*\((\d+)% of a core\)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dataflow",
        type=Path,
        default=REPO / "dataflows/dataflow-demo-rerun.yaml",
        help="graph with a 'sim' node and a 'rerun' node",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measured sim seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="sim seconds not measured")
    parser.add_argument("--fps", type=int, default=30, help="above what the sim can do: stress")
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--cameras", default="front,wrist")
    parser.add_argument("--jpeg-quality", type=int, default=80, help="0 logs raw images")
    parser.add_argument("--rounds", type=int, default=1, help="without/with pairs")
    parser.add_argument("--json", action="store_true", help="print compact JSON")
    return parser


def make_graph(args: argparse.Namespace, with_rerun: bool, work: Path) -> tuple[Path, Path, Path]:
    """The dataflow with bench settings and the probe; returns (yaml, probe json, rrd)."""
    probe_out, rrd = work / "probe.json", work / "session.rrd"
    graph = yaml.safe_load(args.dataflow.read_text())
    if not with_rerun:
        graph["nodes"] = [node for node in graph["nodes"] if node["id"] != "rerun"]
    nodes = {node["id"]: node for node in graph["nodes"]}
    cameras = [cam for cam in args.cameras.split(",") if cam]
    sim = nodes["sim"]
    sim["inputs"]["tick"] = {"source": f"dora/timer/hz/{args.fps}", "queue_size": 1}
    sim["outputs"] = [o for o in sim["outputs"] if not o.startswith("observation.images.")]
    sim["outputs"] += [f"observation.images.{cam}" for cam in cameras]
    sim["env"] = {
        **sim.get("env", {}),
        "FPS": args.fps,
        "CAMERAS": args.cameras,
        "IMAGE_HEIGHT": args.height,
        "IMAGE_WIDTH": args.width,
        "NUM_EPISODES": 1,
        "EPISODE_TIME_S": args.seconds + args.warmup,
        "END_ON_SUCCESS": "false",
        **HEADLESS,
    }
    if with_rerun:
        rerun = nodes["rerun"]
        rerun["inputs"] = {
            key: wiring
            for key, wiring in rerun["inputs"].items()
            if not key.startswith("observation.images.")
        }
        for cam in cameras:
            source = {"source": f"sim/observation.images.{cam}", "queue_size": 1}
            rerun["inputs"][f"observation.images.{cam}"] = source
        rerun["env"] = {
            **rerun.get("env", {}),
            "RERUN_MODE": "save",
            "RERUN_RRD": str(rrd),
            "RERUN_JPEG_QUALITY": args.jpeg_quality,
        }
    graph["nodes"].append(
        {
            "id": "probe",
            "path": sys.executable,
            "args": str(REPO / "scripts" / "probe_node.py"),
            "inputs": {
                topic: {"source": f"sim/{topic}", "queue_size": 10_000}
                for topic in ("observation.state", "status")
            },
            "env": {"PROBE_OUT": str(probe_out)},
        }
    )
    for node in graph["nodes"]:  # run our nodes as modules of this interpreter: no PATH lookup
        if str(node["path"]).startswith("dora-sim-"):
            node["args"] = f"-m {node['path'].replace('-', '_')}.main"
            node["path"] = sys.executable
    path = work / "bench.yaml"
    path.write_text(yaml.safe_dump(graph, sort_keys=False))
    return path, probe_out, rrd


def loop_rate(probe: dict[str, Any], fps: int, warmup_s: float) -> dict[str, Any]:
    """Achieved tick rate and tick spread after the warm-up, from the sim's send times."""
    frames = np.asarray(probe["frames"]["observation.state"])
    arrivals = np.asarray(probe["arrivals"]["observation.state"])
    sent = arrivals - np.asarray(probe["hops_ms"]["observation.state"]) / 1e3
    keep = frames >= frames[0] + int(warmup_s * fps)
    f, t = frames[keep], sent[keep]
    if len(f) < 2:
        raise RuntimeError(f"only {len(frames)} frames: the sim did not run long enough")
    interval_ms = np.diff(t) / np.diff(f) * 1e3
    status = probe["status"] or {}
    return {
        "hz": round(float((f[-1] - f[0]) / (t[-1] - t[0])), 2),
        "tick_ms_median": round(float(np.median(interval_ms)), 2),
        "tick_ms_p95": round(float(np.percentile(interval_ms, 95)), 2),
        "sim_busy_ms": status.get("busy_ms"),
        "late_ticks": status.get("late_ticks"),
        "frames_sent": int(frames[-1] - frames[0] + 1),
    }


def display_frames(rrd: Path, cameras: list[str], frames_sent: int) -> dict[str, dict[str, int]]:
    from dora_sim_rerun import layout, readback

    result = {}
    for camera in cameras:
        logged = readback.row_count(rrd, layout.camera_path(camera))
        result[camera] = {"logged": logged, "dropped": frames_sent - logged}
    return result


def run_once(args: argparse.Namespace, with_rerun: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-rerun-") as tmp:
        work = Path(tmp)
        flow, probe_out, rrd = make_graph(args, with_rerun, work)
        env = {
            **os.environ,
            **HEADLESS,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        with_overlay(env)  # dora-sim's zenoh settings, as `dora-sim run` and the tests use
        done = subprocess.run(
            ["dora", "run", str(flow)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=args.seconds * 10 + 180,
        )
        output = done.stdout + done.stderr
        if done.returncode != 0 or not probe_out.exists():
            raise RuntimeError(f"dora run exited with {done.returncode}:\n{output[-3000:]}")
        result = loop_rate(json.loads(probe_out.read_text()), args.fps, args.warmup)
        if with_rerun:
            cpu = CPU_LINE.search(output)
            result["rerun_cpu_pct_of_core"] = int(cpu.group(1)) if cpu else None
            cameras = [cam for cam in args.cameras.split(",") if cam]
            result["display_frames"] = display_frames(rrd, cameras, result["frames_sent"])
            result["rrd_mb"] = round(rrd.stat().st_size / 1e6, 2)
        return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    rounds: dict[str, list[dict[str, Any]]] = {"without_rerun": [], "with_rerun": []}
    for i in range(args.rounds):
        # Alternate the order: on a shared machine, load drifts between consecutive runs.
        for with_rerun in (False, True) if i % 2 == 0 else (True, False):
            rounds["with_rerun" if with_rerun else "without_rerun"].append(
                run_once(args, with_rerun)
            )

    def median(name: str, key: str) -> float | None:
        values = [r[key] for r in rounds[name] if r[key] is not None]
        return round(statistics.median(values), 2) if values else None

    hz = {name: median(name, "hz") for name in rounds}
    return {
        "target_hz": args.fps,
        "hz_without_rerun": hz["without_rerun"],
        "hz_with_rerun": hz["with_rerun"],
        "hz_ratio": round(hz["with_rerun"] / hz["without_rerun"], 3),
        "sim_busy_ms_without_rerun": median("without_rerun", "sim_busy_ms"),
        "sim_busy_ms_with_rerun": median("with_rerun", "sim_busy_ms"),
        "rerun_cpu_pct_of_core": median("with_rerun", "rerun_cpu_pct_of_core"),
        "config": {
            "seconds": args.seconds,
            "warmup_s": args.warmup,
            "cameras": args.cameras,
            "image": [args.height, args.width],
            "jpeg_quality": args.jpeg_quality,
            "rounds": args.rounds,
            "cpu_count": os.cpu_count(),
        },
        "rounds": rounds,
    }


if __name__ == "__main__":
    from bench import run_and_print

    run_and_print(sys.modules[__name__], sys.argv[1:])
