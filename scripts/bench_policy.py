"""Policy benchmark: per-chunk inference latency, and the control rate the policy node holds.

Two measurements of one policy on one device, printed as one JSON object:

- in process: ``chunk_latency_ms_p50/p90`` of the policy node's own inference path
  (``dora_sim_policy.engine.ChunkPredictor``: preprocessor, ``predict_action_chunk``,
  postprocessor) on synthetic contract observations, after warm-up;
- in the graph: ``dataflows/dataflow-eval.yaml`` for ``--graph-seconds`` of sim time, from which
  the policy node's own counters give ``control_hz_held`` (actions delivered per second of sim
  time; the sim's fps when every frame got one), starved frames and latency in frames, and the
  sim's status its achieved tick rate. ``--graph-seconds 0`` skips it.

``--policy`` is a checkpoint directory or one of the offline builds (random weights, no
download): ``act`` (LeRobot's default ACT: ResNet-18, dim 512, chunk 100), ``act-tiny``,
``smolvla`` (SmolVLA at SmolVLM2-500M's dimensions, 16 VLM layers, ~450M parameters) and
``smolvla-tiny``.

    uv run python scripts/bench.py policy --json
    uv run python scripts/bench.py policy --policy smolvla --device cuda --json
    uv run python scripts/bench_policy.py --device cpu --graph-seconds 0 \
        --policy outputs/train/act/checkpoints/last/pretrained_model
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
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
BUILDS = ("act", "act-tiny", "smolvla", "smolvla-tiny")
SUMMARY = re.compile(r"\[dora-sim-policy\] summary (\{.*\})")


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--policy", default="act", help=f"checkpoint dir or {'|'.join(BUILDS)}")
    parser.add_argument("--device", default="auto", help="auto|cuda|mps|cpu")
    parser.add_argument("--cameras", default="front,wrist")
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--iters", type=int, default=20, help="timed chunks (after warm-up)")
    parser.add_argument(
        "--graph-seconds",
        type=float,
        default=10.0,
        help="sim seconds of dataflow-eval.yaml (0: in-process only)",
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    return parser


def build_policy(name: str, out: Path, args: argparse.Namespace) -> Path:
    """A checkpoint directory for ``name`` (an offline build when it names one)."""
    if name not in BUILDS:
        return Path(name).resolve()
    from dora_sim_policy.offline import build_act, build_smolvla

    shape = (3, args.height, args.width)
    cameras = tuple(x for x in args.cameras.split(",") if x)
    if name == "act":
        return build_act(out, cameras, shape)
    if name == "act-tiny":
        return build_act(
            out,
            cameras,
            shape,
            dim_model=64,
            n_heads=2,
            dim_feedforward=128,
            n_encoder_layers=1,
            n_decoder_layers=1,
            n_vae_encoder_layers=1,
            latent_dim=8,
            chunk_size=40,
            n_action_steps=40,
        )
    size = "base" if name == "smolvla" else "tiny"
    return build_smolvla(out, size, image_shape=(3, 256, 256) if size == "base" else shape)


def measure_latency(checkpoint: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The node's inference path, in this process, on synthetic observations."""
    import torch

    from dora_sim import contract as c
    from dora_sim.codec import FrameStamp
    from dora_sim_policy.assembler import Observation
    from dora_sim_policy.engine import ChunkPredictor, load_policy, policy_features

    loaded = load_policy(str(checkpoint), args.device)
    cameras = [c.image_topic(x) for x in args.cameras.split(",") if x]
    features = policy_features(loaded, cameras, loaded.saved_rename_map)
    predictor = ChunkPredictor(loaded, features)
    rng = np.random.default_rng(0)
    images = {k: rng.integers(0, 255, (args.height, args.width, 3), np.uint8) for k in cameras}
    state = rng.uniform(-30, 30, c.NUM_JOINTS).astype(np.float32)
    obs = [Observation(FrameStamp(0, 0, 0, 0.0, c.PHASE_EPISODE), state, images)]
    times = []
    for i in range(args.iters + 3):  # 3 warm-up chunks
        started = time.perf_counter()
        predictor.predict(obs * predictor.history, "Pick up the cube and lift it")
        if i >= 3:  # the postprocessor's copy to the CPU synchronises the device
            times.append(1000 * (time.perf_counter() - started))
    params = sum(p.numel() for p in loaded.policy.parameters())
    result = {
        "policy_type": loaded.config.type,
        "device": loaded.device,
        "params_m": round(params / 1e6, 1),
        "chunk_len": predictor.chunk_len,
        "chunk_latency_ms_p50": round(statistics.median(times), 2),
        "chunk_latency_ms_p90": round(float(np.percentile(times, 90)), 2),
        # Inference may take this long and every frame still gets an action (see runner.py).
        "full_rate_latency_budget_ms": round(1000 * (predictor.chunk_len - 3) / 2 / args.fps, 1),
    }
    del loaded, predictor
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return result


def module_graph(descriptor: Path) -> dict:
    """A dataflow whose dora-sim nodes run as ``python -m`` modules of this interpreter.

    Works with the workspace venv and with sources on PYTHONPATH (no console scripts installed).
    """
    graph = yaml.safe_load(descriptor.read_text())
    for node in graph["nodes"]:
        path = str(node.get("path", ""))
        if path.startswith("dora-sim-"):
            extra = f" {node['args']}" if node.get("args") else ""
            node["args"] = f"-m {path.replace('-', '_')}.main{extra}"
            node["path"] = sys.executable
    return graph


def run_dataflow(graph: dict, cwd: Path, env: dict[str, str], timeout: float):
    """``dora run`` through dora's Python API (no CLI needed), from ``cwd``; returns the result."""
    descriptor = cwd / "graph.yaml"
    descriptor.write_text(yaml.safe_dump(graph, sort_keys=False))
    full_env = {**os.environ, "PWD": str(cwd), **env}
    full_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{full_env.get('PATH', '')}"
    return subprocess.run(
        [sys.executable, "-c", "import sys, dora; dora.run(sys.argv[1])", str(descriptor)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def measure_graph(checkpoint: Path, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    graph = module_graph(REPO / "dataflows" / "dataflow-eval.yaml")
    sim = next(n for n in graph["nodes"] if n["id"] == "sim")
    sim["inputs"]["tick"]["source"] = f"dora/timer/hz/{args.fps}"
    env = {
        "POLICY_PATH": str(checkpoint),
        "POLICY_DEVICE": args.device,
        "NUM_EPISODES": "1",
        "EPISODE_TIME_S": str(args.graph_seconds),
        "END_ON_SUCCESS": "0",
        "FPS": str(args.fps),
        "CAMERAS": args.cameras,
        "IMAGE_HEIGHT": str(args.height),
        "IMAGE_WIDTH": str(args.width),
        "EVAL_OUTPUT_DIR": str(work / "eval"),
        "HF_HUB_OFFLINE": "1",
    }
    result = run_dataflow(graph, work, env, timeout=600 + 3 * args.graph_seconds)
    output = result.stdout + result.stderr
    found = SUMMARY.findall(output)
    if result.returncode != 0 or not found:
        raise RuntimeError(f"dataflow-eval.yaml failed ({result.returncode}):\n{output[-3000:]}")
    summary = json.loads(found[-1])
    info = json.loads((work / "eval" / "eval_info.json").read_text())
    status = info["dora_sim"].get("sim_status", {})
    return {
        "control_hz_held": summary["control_hz_held"],
        "graph_chunk_latency_ms_p50": summary["chunk_latency_ms_p50"],
        "graph_chunk_latency_frames_max": summary["chunk_latency_frames_max"],
        "starved_frames": summary["starved_frames"],
        "first_chunk_frames": summary["first_chunk_frames"],
        "frames": summary["frames"],
        "sim_achieved_hz": status.get("achieved_hz"),
        "sim_late_ticks": status.get("late_ticks"),
    }


def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        checkpoint = build_policy(args.policy, work / "policy", args)
        result: dict[str, Any] = {"policy": args.policy, **measure_latency(checkpoint, args)}
        if args.graph_seconds > 0:
            result.update(measure_graph(checkpoint, args, work))
    result.update(
        target_hz=args.fps,
        resolution=[args.height, args.width],
        cameras=args.cameras.split(","),
        cpu_count=os.cpu_count(),
    )
    return result


if __name__ == "__main__":
    from bench import run_and_print

    run_and_print(sys.modules[__name__], sys.argv[1:])
