"""Eval throughput benchmark (issue 16): ``dora-sim-eval`` lockstep vs realtime vs ``lerobot-eval``.

    uv run python scripts/bench.py eval --json                  (2-core defaults, ~10 minutes)
    uv run python scripts/bench.py eval --device cuda --sims 1,2,4,8,16 --json
    uv run python scripts/bench.py eval --policy outputs/train/…/pretrained_model --json

For each N in ``--sims``, side by side in one run (N by N, so a change of load on a shared host
hits every contender of one N alike):

1. ``dora-sim-eval --sims N --mode lockstep`` and ``--mode realtime``: E = max(N, ``--episodes``)
   episodes of ``--episode-time-s`` from seed ``--seed``, N sim + policy + scorer copies in one
   graph. ``episodes_per_hour`` from its merged ``overall.eval_s`` (from the first episode's start,
   as lerobot-eval times, to the scorer's close: that includes the 1 s each sim lingers after its
   last episode), ``episodes_per_hour_rollout`` from ``rollout_s`` (first episode start to last
   episode end over the copies, from the sims' logs: no start-up, no shutdown) and
   ``episodes_per_hour_wall`` from ``dora_sim.wall_s`` (start-up, i.e. N policies loading, and
   shutdown included); the sims' achieved rate (``sim_hz_mean``: their last status, and
   ``episode_hz_mean``: frames per wall second of each episode) and the policies' chunk latency
   p50 (``dora_sim.per_sim[*].policy_status``). Realtime paces each sim at ``--fps``,
   so its throughput is at most N x 3600 / episode_time (``realtime_ideal_episodes_per_hour``);
   lockstep runs as fast as sim and policy allow.
2. ``lerobot-eval --env.type=dora_sim`` on the same checkpoint, seeds, episode count, cameras and
   episode length, ``--eval.batch_size=N`` (``--lerobot-batch-sizes`` to pick a subset; LeRobot's
   default async vector envs unless ``--lerobot-async-envs false``), timed by its own
   ``overall.eval_s`` and by the process's wall time. As LeRobot ships it, lerobot-eval also
   writes videos of its first 10 episodes inside that time (only ``--eval.recording`` turns that
   off, and recording costs more): said in ``videos_rendered``.

``ratios`` per N: lockstep / lerobot-eval and lockstep / realtime episodes per hour, from each
tool's ``eval_s``, from lockstep's ``rollout_s``, and from wall time (start-up included). Every
process gets one torch thread (``OMP_NUM_THREADS=1``, as the other benches: several processes
share the cores). The default policy is LeRobot's default ACT (ResNet-18, dim 512, chunk 100)
with random weights built at the bench's image size (``--policy act-tiny`` for a small one, or a
checkpoint directory); an untrained policy never succeeds, so every episode runs to its time limit
in both evaluators. A row that fails holds ``error`` and the output's tail; the bench goes on.
``lockstep_same_episodes_across_sims`` checks that lockstep gave the same trajectory per seed
(``state_sha256``) whatever N.

Without console scripts (the GPU machine: sources on PYTHONPATH, docs/policy.md) the bench runs
``python -m dora_sim_policy.parallel`` on a graph whose nodes are ``python -m`` modules, and
LeRobot's ``lerobot_eval.main`` with the env plugin imported first (LeRobot finds plugins by
installed distribution only). ``dora-sim-eval`` needs the ``dora`` CLI (``dora-rs-cli``) either way.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from bench_lerobot_cli import BIN, REPO, cameras, env
from bench_policy import BUILDS, build_policy, module_graph

MODES = ("lockstep", "realtime")
TAIL = 2000  # characters of a failed run's output kept in the JSON
# lerobot-eval without its console script: LeRobot discovers plugins by installed distribution
LEROBOT_EVAL = "import lerobot_env_dora_sim; from lerobot.scripts.lerobot_eval import main; main()"
PLUGINS = {
    "lerobot_env_dora_sim": "lerobot-env-dora-sim",
    "lerobot_robot_dora_sim": "lerobot-robot-dora-sim",
}


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--policy", default="act", help=f"checkpoint dir or {'|'.join(BUILDS[:2])}")
    parser.add_argument("--device", default="cpu", help="cpu|cuda (both evaluators' policy)")
    parser.add_argument("--sims", default="1,2,4", help="simulators side by side (N), comma list")
    parser.add_argument("--modes", default=",".join(MODES), help="dora-sim-eval modes")
    parser.add_argument(
        "--lerobot-batch-sizes",
        default=None,
        help="Ns to run lerobot-eval for (default: every --sims N; 'none' skips it)",
    )
    parser.add_argument(
        "--lerobot-async-envs",
        default="true",
        choices=("true", "false"),
        help="lerobot-eval --eval.use_async_envs (LeRobot's default: true)",
    )
    parser.add_argument("--episodes", type=int, default=4, help="episodes per run: max(N, this)")
    parser.add_argument("--episode-time-s", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--task", default="pick-cube")
    parser.add_argument("--cameras", default="front,wrist")
    parser.add_argument("--height", type=int, default=120)
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument(
        "--timeout-s", type=float, default=900, help="per run; the run's process group is killed"
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    return parser


def child_env(home: Path) -> dict[str, str]:
    """bench lerobot-cli's environment (headless, offline, one torch thread), plus the LeRobot
    plugins' sources on PYTHONPATH where they are not installed."""
    variables = env(home)
    missing = [
        REPO / "nodes" / d for m, d in PLUGINS.items() if importlib.util.find_spec(m) is None
    ]
    if missing:
        paths = [*map(str, missing), variables.get("PYTHONPATH", "")]
        variables["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return variables


def dora_sim_eval_command(home: Path) -> tuple[list[str], Path]:
    """``dora-sim-eval`` and its eval graph: as installed, or as modules of this interpreter."""
    graph = REPO / "dataflows" / "dataflow-eval.yaml"
    if (BIN / "dora-sim-eval").exists() and shutil.which("dora-sim-mujoco", path=str(BIN)):
        return [str(BIN / "dora-sim-eval")], graph
    modules = home / "eval_module_graph.yaml"
    modules.write_text(yaml.safe_dump(module_graph(graph), sort_keys=False))
    return [sys.executable, "-m", "dora_sim_policy.parallel"], modules


def lerobot_eval_command() -> list[str]:
    if (BIN / "lerobot-eval").exists():
        return [str(BIN / "lerobot-eval")]
    return [sys.executable, "-c", LEROBOT_EVAL]


def run_process(home: Path, command: list[str], timeout: float) -> tuple[int, str, float]:
    """A CLI to completion in its own process group (killed whole on timeout): rc, output, wall."""
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        cwd=home,
        env=child_env(home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=20)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue
        output, _ = proc.communicate()
        output += f"\n[bench eval] killed after {timeout:g} s"
        return 124, output, time.monotonic() - started
    return proc.returncode, output, time.monotonic() - started


def per_hour(episodes: int, seconds: float | None) -> float | None:
    return round(3600 * episodes / seconds, 1) if seconds else None


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return round(statistics.median(values), 2) if values else None


def mean(values: list[float]) -> float | None:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return round(statistics.fmean(values), 2) if values else None


EPISODE_START = re.compile(r"episode \d+ started")
EPISODE_END = re.compile(r"^\[dora-sim\] episode \d+/\d+ ")


def rollout_s(out: Path) -> float | None:
    """First episode start to last episode end over every copy, from the sims' dora logs.

    Unlike ``eval_s`` (written when the scorer closes), this leaves out the graph's shutdown: each
    sim lingers ``LINGER_S`` (1 s) after its last episode so its last messages are not lost.
    """
    starts, ends = [], []
    for log in out.glob("out/*/log_sim-*.jsonl"):
        for line in log.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
                msg, ts = entry.get("msg") or "", entry.get("ts")
                if ts and EPISODE_START.search(msg):
                    starts.append(datetime.fromisoformat(ts))
                elif ts and EPISODE_END.match(msg):
                    ends.append(datetime.fromisoformat(ts))
            except (ValueError, AttributeError):
                continue
    if not starts or not ends:
        return None
    return round((max(ends) - min(starts)).total_seconds(), 2)


def finite_max(values: list[float]) -> float | None:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return max(values) if values else None


def dora_eval(args, home: Path, policy: Path, mode: str, sims: int, episodes: int) -> dict:
    out = home / "dora" / f"{mode}_{sims}"
    settings = {
        "TASK": args.task,
        "CAMERAS": args.cameras,
        "IMAGE_HEIGHT": args.height,
        "IMAGE_WIDTH": args.width,
        "FPS": args.fps,
        "POLICY_DEVICE": args.device,
        "OMP_NUM_THREADS": 1,
    }
    program, graph = dora_sim_eval_command(home)
    command = [
        *program,
        f"--policy={policy}",
        f"--episodes={episodes}",
        f"--seed={args.seed}",
        f"--sims={sims}",
        f"--mode={mode}",
        f"--episode-time-s={args.episode_time_s:g}",
        f"--output-dir={out}",
        f"--graph={graph}",
        *(f"--set={k}={v}" for k, v in settings.items()),
    ]
    rc, output, wall = run_process(home, command, args.timeout_s)
    row: dict[str, Any] = {"mode": mode, "sims": sims, "episodes": episodes, "rc": rc}
    path = out / "eval_info.json"
    if not path.is_file():
        return {**row, "error": f"no eval_info.json (rc {rc})", "output_tail": output[-TAIL:]}
    info = json.loads(path.read_text())
    overall, dora = info["overall"], info["dora_sim"]
    per_sim = dora.get("per_sim", [])
    sim_status = [s.get("sim_status", {}) for s in per_sim]
    policy_status = [s.get("policy_status", {}) for s in per_sim]
    episode_hz = [
        e["length"] / e["wall_time_s"] for e in info["per_episode"] if e.get("wall_time_s")
    ]
    scored = overall["n_episodes"]
    row.update(
        episodes_scored=scored,
        pc_success=overall["pc_success"],
        eval_s=round(overall["eval_s"], 2),
        rollout_s=rollout_s(out),
        wall_s=dora.get("wall_s", round(wall, 2)),
        episodes_per_hour=per_hour(scored, overall["eval_s"]),
        episodes_per_hour_wall=per_hour(scored, dora.get("wall_s", wall)),
        sim_hz_mean=mean([s.get("achieved_hz") for s in sim_status]),
        episode_hz_mean=mean(episode_hz),
        sim_late_ticks=sum(s.get("late_ticks", 0) for s in sim_status),
        sim_held_ticks=sum(s.get("held_ticks", 0) for s in sim_status),
        policy_chunk_latency_ms_p50=median([p.get("chunk_latency_ms_p50") for p in policy_status]),
        policy_chunk_latency_ms_max=finite_max(
            [p.get("chunk_latency_ms_max") for p in policy_status]
        ),
        policy_chunks=sum(p.get("chunks", 0) for p in policy_status),
        starved_frames=sum(p.get("starved_frames", 0) for p in policy_status),
        trajectories={e["seed"]: e.get("state_sha256") for e in info["per_episode"]},
    )
    row["episodes_per_hour_rollout"] = per_hour(scored, row["rollout_s"])
    if mode == "realtime":
        ideal_s = math.ceil(episodes / sims) * args.episode_time_s
        row["realtime_ideal_episodes_per_hour"] = per_hour(episodes, ideal_s)
    if rc != 0 or scored < episodes:
        row["error"] = f"dora-sim-eval exited {rc}, {scored} of {episodes} episodes scored"
        row["output_tail"] = output[-TAIL:]
    return row


def lerobot_eval(args, home: Path, policy: Path, batch: int, episodes: int) -> dict:
    out = home / "lerobot" / f"batch_{batch}"
    command = [
        *lerobot_eval_command(),
        f"--policy.path={policy}",
        f"--policy.device={args.device}",
        "--env.type=dora_sim",
        f"--env.task={args.task}",
        f"--env.cameras={cameras(args)}",
        f"--env.fps={args.fps}",
        f"--env.episode_time_s={args.episode_time_s:g}",
        f"--eval.n_episodes={episodes}",
        f"--eval.batch_size={batch}",
        f"--eval.use_async_envs={args.lerobot_async_envs}",
        f"--seed={args.seed}",
        f"--output_dir={out}",
    ]
    rc, output, wall = run_process(home, command, args.timeout_s)
    row: dict[str, Any] = {
        "batch_size": batch,
        "episodes": episodes,
        "async_envs": args.lerobot_async_envs == "true" and batch > 1,
        "rc": rc,
    }
    path = out / "eval_info.json"
    if rc != 0 or not path.is_file():
        return {**row, "error": f"lerobot-eval exited {rc}", "output_tail": output[-TAIL:]}
    overall = json.loads(path.read_text())["overall"]
    return {
        **row,
        "episodes_scored": overall["n_episodes"],
        "pc_success": overall["pc_success"],
        "eval_s": round(overall["eval_s"], 2),
        "wall_s": round(wall, 2),
        "episodes_per_hour": per_hour(overall["n_episodes"], overall["eval_s"]),
        "episodes_per_hour_wall": per_hour(overall["n_episodes"], wall),
        "videos_rendered": len(overall.get("video_paths") or []),
    }


def ratio(a: dict | None, b: dict | None, key: str, key_b: str | None = None) -> float | None:
    key_b = key_b or key
    if not a or not b or a.get("error") or b.get("error") or not a.get(key) or not b.get(key_b):
        return None
    return round(a[key] / b[key_b], 2)


def host(args) -> dict[str, Any]:
    import lerobot
    import torch

    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
        "device": args.device,
        "torch": torch.__version__,
        "lerobot": lerobot.__version__,
        "python": sys.version.split()[0],
    }
    if args.device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_count"] = torch.cuda.device_count()
    return info


def same_across_sims(rows: list[dict]) -> bool | None:
    """Lockstep rows agree on every seed they share (state hash chain), or None if < 2 rows."""
    runs = [r["trajectories"] for r in rows if r["mode"] == "lockstep" and "trajectories" in r]
    if len(runs) < 2:
        return None
    return all(run[s] == runs[0][s] for run in runs[1:] for s in set(run) & set(runs[0]))


def run(args: argparse.Namespace) -> dict[str, Any]:
    sims = [int(n) for n in args.sims.split(",") if n]
    modes = [m for m in args.modes.split(",") if m]
    batches = sims if args.lerobot_batch_sizes is None else [
        int(n) for n in args.lerobot_batch_sizes.split(",") if n and n != "none"
    ]  # fmt: skip
    result: dict[str, Any] = {"host": host(args)}
    dora_rows: list[dict] = []
    lerobot_rows: list[dict] = []
    ratios: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        home = Path(tmp)
        started = time.monotonic()
        policy = build_policy(args.policy, home / "policy", args)
        result["policy"] = {
            "policy": args.policy,
            "path": str(policy) if args.policy not in BUILDS else None,
            "build_s": round(time.monotonic() - started, 1),
            **policy_summary(policy),
        }
        for n in sims:
            episodes = max(n, args.episodes)
            by_mode = {}
            for mode in modes:
                try:
                    by_mode[mode] = dora_eval(args, home, policy, mode, n, episodes)
                except Exception as err:  # a failed row is reported, not fatal
                    by_mode[mode] = {"mode": mode, "sims": n, "error": repr(err)}
                dora_rows.append(by_mode[mode])
            lerobot = None
            if n in batches:
                try:
                    lerobot = lerobot_eval(args, home, policy, n, episodes)
                except Exception as err:
                    lerobot = {"batch_size": n, "error": repr(err)}
                lerobot_rows.append(lerobot)
            lockstep, realtime = by_mode.get("lockstep"), by_mode.get("realtime")
            ratios[str(n)] = {
                "lockstep_over_lerobot_eval": ratio(lockstep, lerobot, "episodes_per_hour"),
                "lockstep_over_lerobot_eval_wall": ratio(
                    lockstep, lerobot, "episodes_per_hour_wall"
                ),
                "lockstep_rollout_over_lerobot_eval": ratio(
                    lockstep, lerobot, "episodes_per_hour_rollout", "episodes_per_hour"
                ),
                "realtime_over_lerobot_eval": ratio(realtime, lerobot, "episodes_per_hour"),
                "lockstep_over_realtime": ratio(lockstep, realtime, "episodes_per_hour"),
                "lockstep_over_realtime_wall": ratio(lockstep, realtime, "episodes_per_hour_wall"),
            }
    result["host"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    result["lockstep_same_episodes_across_sims"] = same_across_sims(dora_rows)
    for row in dora_rows:
        row.pop("trajectories", None)
    result.update(
        settings={
            "task": args.task,
            "cameras": f"{args.cameras} at {args.height}x{args.width}",
            "fps": args.fps,
            "episode_time_s": args.episode_time_s,
            "episodes": f"max(N, {args.episodes})",
            "seed": args.seed,
            "torch_threads_per_process": 1,
        },
        dora_sim_eval=dora_rows,
        lerobot_eval=lerobot_rows,
        ratios=ratios,
    )
    return result


def policy_summary(path: Path) -> dict[str, Any]:
    """Type, size and chunk length from the checkpoint's config.json (no torch import)."""
    config = json.loads((path / "config.json").read_text())
    summary = {"type": config.get("type"), "chunk_size": config.get("chunk_size")}
    summary["n_action_steps"] = config.get("n_action_steps")
    weights = path / "model.safetensors"
    if weights.is_file():
        summary["weights_mb"] = round(weights.stat().st_size / 1e6, 1)
    return summary


if __name__ == "__main__":
    from bench import run_and_print

    run_and_print(sys.modules[__name__], sys.argv[1:])
