"""LeRobot CLI benchmark: LeRobot's own lerobot-record and lerobot-eval on the simulated SO-101.

    uv run python scripts/bench.py lerobot-cli --json     (or: python scripts/bench_lerobot_cli.py)

1. ``lerobot-record --robot.type=dora_sim_so101 --teleop.type=so101_leader`` against the virtual
   leader arm (``dora-sim-virtual-arm``), 2 cameras at 240x320, ``--dataset.fps=30``, headless,
   once as LeRobot sets it up by default (PNG frames, encoded at ``save_episode``) and once with
   ``--dataset.streaming_encoding=true``. ``achieved_fps`` per episode is frames / wall seconds
   between its first and last frame, as the robot logs them; the dataset's frame count is
   checked against the robot's. Sim time stays true either way (one tick per frame): a slow
   loop records fewer frames, not stretched ones.
2. A tiny ACT (configs/train_act_tiny_cpu.json, ``--train-steps`` steps of lerobot-train on that
   dataset), evaluated by ``lerobot-eval --env.type=dora_sim`` on CPU at ``--eval.batch_size`` 1
   and 4: ``episodes_per_min`` from lerobot-eval's own ``eval_s`` (start-up excluded, given
   apart as ``wall_s``), and ``env_steps_per_s``. An untrained policy never succeeds, so every
   episode runs to the time limit: the worst case.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LEADER_ID = "virtual_arm"
EPISODE = re.compile(
    r"episode (\d+) \(seed \d+\) ended: .*; (\d+) frames = [\d.]+ s of sim time in ([\d.]+) s wall"
)


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--episodes", type=int, default=2, help="lerobot-record episodes per run")
    parser.add_argument("--episode-time", type=float, default=10.0, help="seconds per episode")
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--train-steps", type=int, default=10)
    parser.add_argument("--eval-episodes", type=int, default=4)
    parser.add_argument("--eval-episode-time", type=float, default=10.0)
    parser.add_argument("--batch-sizes", default="1,4")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    return parser


def env(home: Path, **overrides: str) -> dict[str, str]:
    from dora_sim.headless import headless_env

    return headless_env(
        OMP_NUM_THREADS="1",
        HF_LEROBOT_CALIBRATION=str(home / "calibration"),
        HF_LEROBOT_HOME=str(home / "lerobot"),
        **overrides,
    )


def run_cli(home: Path, name: str, *args: str, timeout: float = 900) -> tuple[str, float]:
    """A CLI to completion (stdin: ENTER for LeRobot's calibration question); output, wall s."""
    started = time.monotonic()
    done = subprocess.run(
        [str(BIN / name), *args],
        input="\n",
        cwd=home,
        env=env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed ({done.returncode}):\n{output[-3000:]}")
    return output, time.monotonic() - started


def start_leader(home: Path) -> tuple[subprocess.Popen, Path]:
    link, calibration = home / "leader_arm", home / "calibration" / "teleoperators" / "so_leader"
    arm = subprocess.Popen(
        [str(BIN / "dora-sim-virtual-arm"), "--link", str(link), "--write-calibration"],
        env=env(home, CALIBRATION_DIR=str(calibration)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not (link.exists() and (calibration / f"{LEADER_ID}.json").exists()):
        if arm.poll() is not None or time.monotonic() > deadline:
            arm.kill()
            raise RuntimeError("dora-sim-virtual-arm did not come up")
        time.sleep(0.1)
    return arm, link


def cameras(args: argparse.Namespace) -> str:
    size = f"{{height: {args.height}, width: {args.width}}}"
    return f"{{front: {size}, wrist: {size}}}"


def record(args: argparse.Namespace, home: Path, port: Path, name: str, *extra: str) -> dict:
    root = home / "datasets" / name
    output, wall = run_cli(
        home,
        "lerobot-record",
        "--robot.type=dora_sim_so101",
        f"--robot.cameras={cameras(args)}",
        f"--robot.fps={args.fps}",
        "--teleop.type=so101_leader",
        f"--teleop.port={port}",
        f"--teleop.id={LEADER_ID}",
        f"--dataset.repo_id=bench/{name}",
        f"--dataset.root={root}",
        f"--dataset.fps={args.fps}",
        f"--dataset.num_episodes={args.episodes}",
        f"--dataset.episode_time_s={args.episode_time}",
        "--dataset.reset_time_s=0",
        "--dataset.single_task=Pick up the cube and lift it",
        "--dataset.push_to_hub=false",
        "--play_sounds=false",
        *extra,
    )
    episodes = [(int(f), float(w)) for _, f, w in EPISODE.findall(output)]
    info = json.loads((root / "meta" / "info.json").read_text())
    frames = [f for f, _ in episodes]
    if info["total_frames"] != sum(frames):
        raise RuntimeError(f"dataset has {info['total_frames']} frames, the robot made {frames}")
    fps = [round((f - 1) / w, 1) for f, w in episodes]
    return {
        "root": str(root),
        "frames": frames,
        "achieved_fps": fps,
        "achieved_fps_mean": round(sum(fps) / len(fps), 1),
        "wall_s": round(wall, 1),
    }


def train(args: argparse.Namespace, home: Path, dataset: str) -> Path:
    out = home / "train"
    run_cli(
        home,
        "lerobot-train",
        f"--config_path={REPO / 'configs' / 'train_act_tiny_cpu.json'}",
        "--dataset.repo_id=bench/record",
        f"--dataset.root={dataset}",
        f"--output_dir={out}",
        f"--steps={args.train_steps}",
        f"--save_freq={args.train_steps}",
    )
    return out / "checkpoints" / "last" / "pretrained_model"


def evaluate(args: argparse.Namespace, home: Path, policy: Path, batch: int) -> dict:
    out = home / "eval" / f"batch{batch}"
    _, wall = run_cli(
        home,
        "lerobot-eval",
        f"--policy.path={policy}",
        "--policy.device=cpu",
        "--env.type=dora_sim",
        f"--env.cameras={cameras(args)}",
        f"--env.fps={args.fps}",
        f"--env.episode_time_s={args.eval_episode_time}",
        f"--eval.n_episodes={args.eval_episodes}",
        f"--eval.batch_size={batch}",
        "--seed=1000",
        f"--output_dir={out}",
    )
    overall = json.loads((out / "eval_info.json").read_text())["overall"]
    steps = round(args.eval_episode_time * args.fps) * overall["n_episodes"]
    return {
        "episodes": overall["n_episodes"],
        "pc_success": overall["pc_success"],
        "eval_s": round(overall["eval_s"], 1),
        "episodes_per_min": round(60 * overall["n_episodes"] / overall["eval_s"], 2),
        "env_steps_per_s": round(steps / overall["eval_s"], 1),
        "wall_s": round(wall, 1),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "load_avg_1m_at_start": round(os.getloadavg()[0], 2)},
        "cameras": f"2x{args.height}x{args.width}",
        "fps_target": args.fps,
    }
    with tempfile.TemporaryDirectory(prefix="bench-lerobot-cli-") as tmp:
        home = Path(tmp)
        arm, port = start_leader(home)
        try:
            result["record_default"] = record(args, home, port, "record")
            result["record_streaming"] = record(
                args, home, port, "record_streaming", "--dataset.streaming_encoding=true"
            )
        finally:
            arm.terminate()
            arm.wait(timeout=10)
        policy = train(args, home, result["record_default"]["root"])
        result["eval"] = {
            "episode_time_s": args.eval_episode_time,
            **{
                f"batch_{batch}": evaluate(args, home, policy, batch)
                for batch in (int(b) for b in args.batch_sizes.split(","))
            },
        }
    for key in ("record_default", "record_streaming"):
        result[key].pop("root")
    return result


if __name__ == "__main__":
    arguments = build_parser().parse_args()
    print(json.dumps(run(arguments), indent=None if arguments.json else 2))
