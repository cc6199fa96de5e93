"""Record → train ACT → eval → bench on a machine with an NVIDIA GPU and no internet.

Run it through ``scripts/gpu_train_eval.sh`` (it installs the carried wheels and sets PYTHONPATH
to the repo's sources); see the header of that file for the wheels and the call plan. Stages, each
resumable, state under ``--work`` (default ``outputs/gpu_run``):

- ``record``: ``--episodes`` successful scripted-expert pick-cube episodes (seeds 0, 1, …; the
  expert's rare failures are skipped) written in process with ``LeRobotDataset.create``, the same
  features as ``dora-sim-recorder`` writes (so101 joint names, front + wrist video), faster than
  real time. ``--record-with dataflow`` uses ``dataflows/dataflow-record-expert.yaml`` instead
  (sim + expert + recorder), its timer sped up ``--record-speed`` times.
- ``train``: ``lerobot-train`` (through ``scripts/lerobot_train_pyav.py``, which decodes each
  video once, up front, and forks the data-loader workers) with ``configs/train_act_so101.json``
  on that dataset or on ``--dataset``, on cuda in bf16, for ``--steps`` or until
  ``--train-minutes`` have passed (then stopped after its last saved checkpoint); a second
  ``train`` call resumes from ``checkpoints/last``.
- ``eval``: ``dataflows/dataflow-eval.yaml`` with ``--eval-checkpoint`` (default the last) on
  cuda, ``--eval-episodes`` episodes seeded from ``--eval-seed`` (held-out seeds), at real time,
  into ``<work>/eval_<checkpoint>/``.
- ``protocol``: ``scripts/eval_protocol.py`` over every saved checkpoint: ``--validation-episodes``
  seeds from ``--validation-seed`` choose, ``--eval-episodes`` (≥ 100 for a reportable rate)
  from ``--eval-seed`` report, in lockstep, ``--sims`` simulators side by side; resumable, into
  ``<work>/protocol/`` (``protocol.json``).
- ``bench``: ``scripts/bench_policy.py`` for the trained ACT and a SmolVLA-sized policy (random
  weights) on cuda and cpu.

Every stage appends its results to ``<work>/summary.json`` and copies it (and eval_info.json as
``eval_<checkpoint>.json``, bench.json) into ``$OUT`` when that is set, each named
``<work folder>.<file>`` so that two runs (``--work``) can share one call.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import yaml  # noqa: E402
from bench_policy import module_graph, run_dataflow  # noqa: E402

REPO_ID = "local/dora_sim_pick_cube"
# Modules each stage imports: checked first so a missing wheel costs seconds, not a stage.
NEEDED = {
    "record": [
        "mujoco",
        "dora",
        "lerobot.datasets.lerobot_dataset",
        "av",
        "dora_sim_mujoco",
        "dora_sim_expert.planner",
    ],
    "train": ["lerobot.scripts.lerobot_train", "accelerate", "torchvision", "av"],
    "eval": ["dora", "mujoco", "dora_sim_policy.node", "lerobot.policies.act.modeling_act"],
    "protocol": ["dora", "mujoco", "dora_sim_policy.parallel", "lerobot.policies.act.modeling_act"],
    "bench": ["dora_sim_policy.offline", "transformers"],
}


def log(message: str) -> None:
    print(f"[gpu_train_eval] {message}", flush=True)


# --- bookkeeping -------------------------------------------------------------------------------
class Run:
    def __init__(self, work: Path, dataset: Path | None = None):
        self.work = work
        self._dataset = dataset
        self.work.mkdir(parents=True, exist_ok=True)
        self.summary_path = work / "summary.json"

    @property
    def dataset(self) -> Path:
        return self._dataset or self.work / "dataset"

    @property
    def train_dir(self) -> Path:
        return self.work / "train_act"

    @property
    def checkpoint(self) -> Path:
        return self.checkpoint_at("last")

    def checkpoint_dir(self, name: str) -> Path:
        """``last`` or a saved step's folder name (e.g. ``010000``)."""
        return self.train_dir / "checkpoints" / name

    def checkpoint_at(self, name: str) -> Path:
        return self.checkpoint_dir(name) / "pretrained_model"

    def step_of(self, name: str) -> int:
        state = self.checkpoint_dir(name) / "training_state" / "training_step.json"
        return int(json.loads(state.read_text())["step"])

    def save(self, stage: str, result: dict[str, Any]) -> None:
        # Read again: a train stage in the background and an eval may share this file.
        summary = json.loads(self.summary_path.read_text()) if self.summary_path.exists() else {}
        summary[stage] = result
        self.summary_path.write_text(json.dumps(summary, indent=2))
        log(f"{stage}: {json.dumps(result)}")
        self.export(self.summary_path)

    def export(self, path: Path, name: str | None = None) -> None:
        """Copy into $OUT, named after the work folder: two runs may share one call's $OUT."""
        out = os.environ.get("OUT")
        if out:
            shutil.copy(path, Path(out) / f"{self.work.name}.{name or path.name}")


def preflight(stages: list[str]) -> None:
    import importlib

    missing = []
    for module in sorted({m for s in stages for m in NEEDED.get(s, [])}):
        try:
            importlib.import_module(module)
        except Exception as err:  # an ImportError, or a wheel that does not fit the image
            missing.append(f"{module}: {type(err).__name__}: {err}")
    if missing:
        raise SystemExit(
            "missing or broken modules (carry their wheels):\n  " + "\n  ".join(missing)
        )
    import torch

    log(
        f"python {sys.version.split()[0]}, torch {torch.__version__}, "
        f"cuda {torch.cuda.is_available()} ({torch.cuda.device_count()} device(s))"
    )


def check_rendering() -> None:
    """One frame of the sim's front camera (MuJoCo on EGL); fails fast with a hint."""
    code = (
        "from dora_sim_mujoco.simulator import SimConfig, Simulator\n"
        "s = Simulator(SimConfig(cameras=('front',), height=48, width=64)); s.reset(0)\n"
        "print(s.render('front').mean())"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            "MuJoCo cannot render (EGL): carry the .gl debs and unpack them first "
            f"(see scripts/gpu_train_eval.sh)\n{result.stderr[-2000:]}"
        )


# --- record ------------------------------------------------------------------------------------
def features(height: int, width: int) -> dict[str, dict]:
    """What dora-sim-recorder writes: so101 joint names, one video stream per camera."""
    from dora_sim import contract as c

    joints = {"dtype": "float32", "shape": (c.NUM_JOINTS,), "names": list(c.MOTOR_FEATURE_NAMES)}
    video = {
        "dtype": "video",
        "shape": (height, width, 3),
        "names": ["height", "width", "channels"],
    }
    return {
        c.ACTION: dict(joints),
        c.STATE: dict(joints),
        **{c.image_topic(cam): dict(video) for cam in ("front", "wrist")},
    }


def record_in_process(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    from lerobot.configs import RGBEncoderConfig
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from dora_sim import contract as c
    from dora_sim_expert.planner import Expert
    from dora_sim_expert.rollout import ExpertDriver
    from dora_sim_mujoco.simulator import SimConfig, Simulator

    if run.dataset.exists():
        shutil.rmtree(run.dataset)
    fps = c.DEFAULT_FPS
    sim = Simulator(SimConfig("pick-cube", fps, ("front", "wrist"), args.height, args.width))
    dataset = LeRobotDataset.create(
        REPO_ID,
        fps,
        features(args.height, args.width),
        root=run.dataset,
        robot_type=c.ROBOT_TYPE,
        use_videos=True,
        rgb_encoder=RGBEncoderConfig(vcodec="h264"),
        image_writer_threads=4,
    )
    started, seed, failed = time.time(), 0, []
    hold, limit = fps // 2, int(args.episode_time_s * fps)  # the sim's defaults: 0.5 s held
    while dataset.meta.total_episodes < args.episodes:
        sim.reset(seed)
        driver = ExpertDriver(sim, Expert(fps), seed)
        held = 0
        for _ in range(limit):
            state = sim.state()
            driver.command()
            action = sim.target_contract()  # the joint target the sim applies, as recorded
            dataset.add_frame(
                {
                    c.STATE: state.astype("float32"),
                    c.ACTION: action,
                    c.image_topic("front"): sim.render("front").copy(),
                    c.image_topic("wrist"): sim.render("wrist").copy(),
                    "task": sim.task.description,
                }
            )
            sim.step()
            held = held + 1 if sim.success() else 0
            if held >= hold:
                break
        if held >= hold:
            dataset.save_episode()
        else:
            dataset.clear_episode_buffer()
            failed.append(seed)
        seed += 1
    dataset.finalize()
    sim.close()
    return {
        "episodes": dataset.meta.total_episodes,
        "frames": dataset.meta.total_frames,
        "seeds_used": seed,
        "expert_failures": failed,
        "seconds": round(time.time() - started, 1),
        "method": "in-process LeRobotDataset.create",
        "resolution": [args.height, args.width],
    }


def record_with_dataflow(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    graph = module_graph(REPO / "dataflows" / "dataflow-record-expert.yaml")
    sim = next(n for n in graph["nodes"] if n["id"] == "sim")
    sim["inputs"]["tick"]["source"] = f"dora/timer/hz/{30 * args.record_speed}"
    started, attempts = time.time(), 0
    total = 0
    while total < args.episodes and attempts < 3:
        env = {
            "NUM_EPISODES": str(args.episodes),
            "DATASET_ROOT": str(run.dataset),
            "REPO_ID": REPO_ID,
            "EPISODE_TIME_S": str(args.episode_time_s),
            "VCODEC": "h264",
            "IMAGE_HEIGHT": str(args.height),
            "IMAGE_WIDTH": str(args.width),
            "SEED": "0",
            "RESUME_RECORDING": "1" if run.dataset.exists() else "0",
        }
        result = run_dataflow(graph, run.work, env, timeout=3600)
        (run.work / f"record_{attempts}.log").write_text(result.stdout + result.stderr)
        attempts += 1
        info = json.loads((run.dataset / "meta" / "info.json").read_text())
        total = info["total_episodes"]
    return {
        "episodes": total,
        "attempts": attempts,
        "seconds": round(time.time() - started, 1),
        "method": f"dataflow-record-expert.yaml at {args.record_speed}x real time",
    }


# --- train -------------------------------------------------------------------------------------
def train(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    resume = run.checkpoint_dir("last").exists()
    command = [sys.executable, str(REPO / "scripts" / "lerobot_train_pyav.py")]
    if resume:
        config = run.checkpoint / "train_config.json"
        command += [f"--config_path={config}", "--resume=true", f"--steps={args.steps}"]
    else:
        command += [
            f"--config_path={REPO / 'configs' / 'train_act_so101.json'}",
            f"--dataset.repo_id={REPO_ID}",
            f"--dataset.root={run.dataset}",
            f"--output_dir={run.train_dir}",
            f"--policy.device={args.device}",
            f"--steps={args.steps}",
            f"--batch_size={args.batch_size}",
            f"--num_workers={args.num_workers}",
            f"--save_freq={args.save_freq}",
            f"--policy.pretrained_backbone_weights={args.backbone}",
            f"--policy.optimizer_lr={args.lr}",
            f"--policy.optimizer_lr_backbone={args.lr}",
        ]
    # The shim decodes the videos once, up front; accelerate reads the mixed precision here.
    env = {
        **os.environ,
        "PRELOAD_VIDEOS": str(run.dataset),
        "ACCELERATE_MIXED_PRECISION": args.precision,
    }
    log(f"ACCELERATE_MIXED_PRECISION={args.precision} " + " ".join(command))
    started = time.time()
    logfile = run.work / "train.log"
    with logfile.open("a") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, cwd=run.work, env=env
        )
        deadline = started + 60 * args.train_minutes
        while proc.poll() is None and time.time() < deadline:
            time.sleep(5)
        stopped = proc.poll() is None
        if stopped:  # keep the last complete checkpoint; `train` again resumes from it
            proc.send_signal(signal.SIGINT)  # its data-loader workers exit with it
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    if not run.checkpoint_dir("last").exists():
        raise SystemExit(
            f"lerobot-train saved no checkpoint (see {logfile}): give it more --train-minutes "
            "or a lower --save-freq"
        )
    step = run.step_of("last")
    return {
        "command": f"ACCELERATE_MIXED_PRECISION={args.precision} " + " ".join(command),
        "resumed": resume,
        "stopped_at_time_limit": stopped,
        "checkpoint_step": step,
        "minutes": round((time.time() - started) / 60, 2),
        "returncode": proc.returncode,
        "log_tail": logfile.read_text()[-1500:],
    }


# --- eval ----------------------------------------------------------------------------------------
def evaluate(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    graph = module_graph(REPO / "dataflows" / "dataflow-eval.yaml")
    # Pinned now: `last` moves on while a train stage runs beside this eval.
    step_dir = run.checkpoint_dir(args.eval_checkpoint).resolve()
    checkpoint = run.checkpoint_at(step_dir.name)
    out_dir = run.work / f"eval_{args.eval_checkpoint}"
    env = {
        "POLICY_PATH": str(checkpoint),
        "CHUNK_THRESHOLD": str(args.chunk_threshold),
        "POLICY_DEVICE": args.device,
        "NUM_EPISODES": str(args.eval_episodes),
        "SEED": str(args.eval_seed),
        "EPISODE_TIME_S": str(args.eval_time_s),
        "EVAL_OUTPUT_DIR": str(out_dir),
        "IMAGE_HEIGHT": str(args.height),
        "IMAGE_WIDTH": str(args.width),
        "EVAL_VIDEOS": str(args.eval_videos),
    }
    started = time.time()
    result = run_dataflow(graph, run.work, env, timeout=3600)
    (run.work / f"eval_{args.eval_checkpoint}.log").write_text(result.stdout + result.stderr)
    info = json.loads((out_dir / "eval_info.json").read_text())
    run.export(out_dir / "eval_info.json", f"eval_{args.eval_checkpoint}.json")
    lines = [x for x in result.stdout.splitlines() if "[dora-sim-policy] summary" in x]
    return {
        "returncode": result.returncode,
        "aggregated": info["aggregated"],
        "seeds": [e["seed"] for e in info["per_episode"]],
        "successes": [e["success"] for e in info["per_episode"]],
        "policy_summary": lines[-1].split("summary ", 1)[1] if lines else None,
        "sim_status": info["dora_sim"].get("sim_status"),
        "checkpoint": str(checkpoint),
        "checkpoint_step": run.step_of(step_dir.name),
        "env": env,
        "seconds": round(time.time() - started, 1),
    }


def protocol(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    """scripts/eval_protocol.py on every saved checkpoint: validation seeds choose, the test
    seeds report (lockstep, ``--sims`` simulators side by side); resumes what it has."""
    from eval_protocol import main as eval_protocol

    graph = run.work / "eval_module_graph.yaml"  # nodes as python -m (no console scripts here)
    graph.write_text(yaml.safe_dump(module_graph(REPO / "dataflows" / "dataflow-eval.yaml")))
    out_dir = run.work / "protocol"
    settings = {
        "POLICY_DEVICE": args.device,
        "IMAGE_HEIGHT": str(args.height),
        "IMAGE_WIDTH": str(args.width),
    }
    status = eval_protocol(
        [
            str(run.train_dir),
            *("--graph", str(graph), "--output-dir", str(out_dir), "--sims", str(args.sims)),
            *("--validation-seed", str(args.validation_seed)),
            *("--validation-episodes", str(args.validation_episodes)),
            *("--test-seed", str(args.eval_seed), "--test-episodes", str(args.eval_episodes)),
            *("--episode-time-s", str(args.eval_time_s)),
            *(arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")),
        ]
    )
    doc = json.loads((out_dir / "protocol.json").read_text())
    run.export(out_dir / "protocol.json")
    return {"returncode": status, **doc}


# --- bench ---------------------------------------------------------------------------------------
def bench(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    import bench_policy

    act = str(run.checkpoint)
    # (policy, device, sim seconds in dataflow-eval.yaml, timed chunks)
    cases = [
        (act, args.device, 10, 20),
        (act, "cpu", 0, 10),
        (args.smolvla, args.device, 10, 20),
        (args.smolvla, "cpu", 0, 3),
    ]
    results = []
    for policy, device, seconds, iters in cases:
        argv = [
            "--policy",
            policy,
            "--device",
            device,
            "--graph-seconds",
            str(seconds),
            "--height",
            str(args.height),
            "--width",
            str(args.width),
            "--iters",
            str(iters),
        ]
        try:
            results.append(bench_policy.run(bench_policy.build_parser().parse_args(argv)))
        except Exception as err:  # one failing case (e.g. SmolVLA's transformers) is reported
            results.append({"policy": policy, "device": device, "error": repr(err)[-1500:]})
        log(f"bench: {json.dumps(results[-1])}")
    (run.work / "bench.json").write_text(json.dumps(results, indent=2))
    run.export(run.work / "bench.json")
    return {"cases": results}


STAGES = {"record": None, "train": train, "eval": evaluate, "protocol": protocol, "bench": bench}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stages", nargs="+", choices=[*STAGES, "check", "all"])
    parser.add_argument("--work", type=Path, default=REPO / "outputs" / "gpu_run")
    parser.add_argument(
        "--dataset",
        type=Path,
        help="an existing dataset to train on (e.g. one recorded with dataflow-record-expert.yaml "
        "and carried over); default <work>/dataset, written by the record stage",
    )
    parser.add_argument("--device", default="cuda", help="cpu for a dry run of the pipeline")
    parser.add_argument("--smolvla", default="smolvla", help="bench build: smolvla|smolvla-tiny")
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--episode-time-s", type=float, default=20.0)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--record-with", choices=("process", "dataflow"), default="process")
    parser.add_argument("--record-speed", type=int, default=2)
    parser.add_argument("--steps", type=int, default=30000)
    parser.add_argument("--train-minutes", type=float, default=8.0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--num-workers", type=int, default=12)
    parser.add_argument("--save-freq", type=int, default=2500)
    parser.add_argument(
        "--lr",
        type=float,
        default=1e-4,
        help="ACT's optimizer_lr and optimizer_lr_backbone (LeRobot's 1e-5 assumes "
        "an ImageNet backbone; this one trains from scratch)",
    )
    parser.add_argument(
        "--backbone",
        default="null",
        help="ACT's pretrained_backbone_weights: null (offline) or "
        "ResNet18_Weights.IMAGENET1K_V1 when torchvision's cache holds it",
    )
    parser.add_argument(
        "--precision",
        choices=("no", "bf16", "fp16"),
        default="bf16",
        help="mixed precision of lerobot-train (accelerate's ACCELERATE_MIXED_PRECISION)",
    )
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument(
        "--eval-time-s", type=float, default=12.0, help="time limit of one eval episode"
    )
    parser.add_argument(
        "--eval-checkpoint", default="last", help="checkpoint to evaluate: last or a step (010000)"
    )
    parser.add_argument(
        "--chunk-threshold",
        type=float,
        default=0.8,
        help="the policy node's CHUNK_THRESHOLD: ask for the next chunk when this share of the "
        "current one is left (0.8 of ACT's 100 = every 20 frames)",
    )
    parser.add_argument("--eval-seed", type=int, default=1000, help="first eval / test seed")
    parser.add_argument("--validation-seed", type=int, default=500, help="protocol")
    parser.add_argument("--validation-episodes", type=int, default=20, help="protocol")
    parser.add_argument("--sims", type=int, default=8, help="protocol: simulators side by side")
    parser.add_argument("--eval-videos", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stages = list(STAGES) if "all" in args.stages else [s for s in args.stages if s != "check"]
    preflight(stages or list(STAGES))
    if set(stages) & {"record", "eval", "protocol", "bench"} or "check" in args.stages:
        check_rendering()
    if args.dataset and "record" in stages:
        raise SystemExit("--dataset names an existing dataset: leave out the record stage")
    run = Run(args.work.resolve(), args.dataset.resolve() if args.dataset else None)
    for stage in stages:
        log(f"stage {stage} …")
        if stage == "record":
            record = record_with_dataflow if args.record_with == "dataflow" else record_in_process
            run.save("record", record(run, args))
        elif stage == "eval":
            name = "eval" if args.eval_checkpoint == "last" else f"eval_{args.eval_checkpoint}"
            run.save(name, evaluate(run, args))
        else:
            run.save(stage, STAGES[stage](run, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
