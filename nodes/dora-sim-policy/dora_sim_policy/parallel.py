"""``dora-sim-eval``: one eval over N simulators, in one dataflow, on one machine or several.

It writes a graph with N copies of an eval graph (default ``dataflows/dataflow-eval.yaml``: sim,
policy and scorer per copy, :func:`dora_sim.replicate.replicate`), gives copy i its own block of
seeds, runs it (``dora-sim run``, or ``dora start --attach`` on a dora cluster with
``--coordinator``) and merges the copies' ``eval_info.json`` into one, ordered by seed, with
``lerobot-eval``'s aggregate keys (:func:`dora_sim_policy.evaluator.merge`).

Every setting is written into the generated graph (``<output>/eval_graph.yaml``): nodes started
by dora daemons do not see this shell's environment, and the file records what ran.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dora_sim import contract as c
from dora_sim.console import dora_executable, find_dora
from dora_sim.replicate import copy_id, place, replicate
from dora_sim.transport import with_overlay
from dora_sim_policy.evaluator import merge

DEFAULT_GRAPH = Path("dataflows") / "dataflow-eval.yaml"
SCORER = "eval"  # the scorer's node id in the eval graphs


@dataclass(frozen=True)
class Plan:
    """What N simulators evaluate: copy i plays ``counts[i]`` episodes from ``seeds[i]`` on."""

    seed: int
    episodes: int
    sims: int
    seeds: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    @classmethod
    def split(cls, seed: int, episodes: int, sims: int) -> Plan:
        if sims < 1 or episodes < sims:
            raise ValueError(f"need 1 <= sims <= episodes, got {sims} sims for {episodes} episodes")
        base, extra = divmod(episodes, sims)
        counts = [base + (i < extra) for i in range(sims)]
        seeds = [seed + sum(counts[:i]) for i in range(sims)]
        return cls(seed, episodes, sims, seeds, counts)


def parse_settings(pairs: list[str]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {pair!r}: expected KEY=VALUE")
        settings[key] = value
    return settings


def build_graph(
    template: dict, plan: Plan, out_dir: Path, settings: dict[str, str], machines: dict[str, str]
) -> dict:
    """The N-copy graph; ``machines`` maps node ids (``*``: every other node) to dora machines."""

    def env(i: int) -> dict[str, str]:
        return {
            **settings,
            "SEED": str(plan.seeds[i]),
            "NUM_EPISODES": str(plan.counts[i]),
            "EVAL_OUTPUT_DIR": str(out_dir / "sims" / copy_id("sim", i)),
        }

    graph = replicate(template, plan.sims, env)
    placed = {k: v for k, v in machines.items() if k != "*"}
    return place(graph, placed, machines.get("*")) if machines else graph


def run_graph(path: Path, coordinator: str | None, cwd: Path) -> int:
    env = with_overlay(dict(os.environ))
    if coordinator is None and find_dora() is None:
        # no dora CLI (wheels on PYTHONPATH, e.g. a GPU machine): dora's Python API runs it
        command = [sys.executable, "-c", "import sys, dora; dora.run(sys.argv[1])", str(path)]
    elif coordinator is None:
        command = [sys.executable, "-m", "dora_sim.console", "run", str(path)]
    else:
        host, _, port = coordinator.partition(":")
        command = [dora_executable(), "start", str(path), "--attach", "--coordinator-addr", host]
        command += ["--coordinator-port", port] if port else []
    print(f"[dora-sim-eval] {' '.join(command)}", flush=True)
    return subprocess.run(command, cwd=cwd, env=env).returncode


def collect(out_dir: Path, plan: Plan) -> list[dict]:
    infos = []
    for i in range(plan.sims):
        path = out_dir / "sims" / copy_id("sim", i) / "eval_info.json"
        if path.is_file():
            infos.append(json.loads(path.read_text()))
        else:
            print(f"[dora-sim-eval] {path} is missing: copy {i} scored nothing", flush=True)
    return infos


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dora-sim-eval",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--policy", required=True, help="POLICY_PATH: checkpoint directory or Hub id")
    p.add_argument("--episodes", type=int, default=10, help="episodes in all (default 10)")
    p.add_argument("--seed", type=int, default=1000, help="first seed (default 1000)")
    p.add_argument("--sims", type=int, default=1, help="simulators run side by side (default 1)")
    p.add_argument(
        "--mode", choices=c.EVAL_MODES, default=c.LOCKSTEP, help="EVAL_MODE (default lockstep)"
    )
    p.add_argument("--episode-time-s", type=float, default=20.0, help="default 20")
    p.add_argument("--output-dir", type=Path, help="default outputs/eval/<date>/<time>_parallel")
    p.add_argument("--graph", type=Path, default=DEFAULT_GRAPH, help=f"default {DEFAULT_GRAPH}")
    p.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other node setting (TASK, CAMERAS, IMAGE_HEIGHT, POLICY_DEVICE …), repeatable",
    )
    p.add_argument(
        "--machine",
        action="append",
        default=[],
        metavar="NODE=MACHINE",
        help="place a node (all its copies) on a dora daemon's --machine-id, e.g. policy=gpu; "
        "'*=cpu' places the rest (needs --coordinator)",
    )
    p.add_argument(
        "--coordinator",
        metavar="HOST[:PORT]",
        help="run on a dora cluster with `dora start --attach` (default: `dora run`, one machine)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="write the graph and print its path, run nothing"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    cwd = Path.cwd()
    try:
        plan = Plan.split(args.seed, args.episodes, args.sims)
        settings = parse_settings(args.settings)
        machines = parse_settings(args.machine)
    except ValueError as err:
        parser().error(str(err))
    if machines and args.coordinator is None and not args.dry_run:
        parser().error("--machine places nodes on dora daemons: give --coordinator too")
    if not args.graph.is_file():
        parser().error(
            f"no eval graph at {args.graph}: run from the dora-sim checkout or give --graph"
        )
    policy = Path(args.policy)
    if policy.is_dir() and not (policy / "config.json").is_file():
        found = sorted(policy.glob("**/pretrained_model/config.json"))
        hint = f" (found {found[-1].parent})" if found else ""
        parser().error(f"--policy {policy}: no config.json, not a LeRobot checkpoint{hint}")
    stamp = time.strftime("%Y-%m-%d/%H-%M-%S")
    out_dir = (args.output_dir or Path("outputs") / "eval" / f"{stamp}_parallel").resolve()
    if (out_dir / "eval_info.json").exists():
        parser().error(f"{out_dir} holds an eval already: pick another --output-dir")
    settings = {
        "POLICY_PATH": str(policy.resolve()) if policy.exists() else args.policy,
        "EVAL_MODE": args.mode,
        "EPISODE_TIME_S": f"{args.episode_time_s:g}",
        **settings,
    }
    template = yaml.safe_load(args.graph.read_text())
    graph = build_graph(template, plan, out_dir, settings, machines)
    out_dir.mkdir(parents=True, exist_ok=True)
    graph_path = out_dir / "eval_graph.yaml"
    graph_path.write_text(yaml.safe_dump(graph, sort_keys=False))
    print(
        f"[dora-sim-eval] {plan.episodes} episodes (seeds {plan.seed} to "
        f"{plan.seed + plan.episodes - 1}) on {plan.sims} simulator(s), {args.mode}: {graph_path}",
        flush=True,
    )
    if args.dry_run:
        return 0
    started = time.time()
    status = run_graph(graph_path, args.coordinator, cwd)
    wall_s = time.time() - started
    infos = collect(out_dir, plan)
    # as lerobot-eval times: from the first episode's start (the copies run side by side)
    eval_s = max((info["overall"]["eval_s"] for info in infos), default=0.0)
    extra = {
        "policy": settings["POLICY_PATH"],
        "eval_mode": args.mode,
        "sims": plan.sims,
        "seeds": {"first": plan.seed, "per_sim": plan.seeds, "episodes_per_sim": plan.counts},
        "num_episodes_requested": plan.episodes,
        "wall_s": round(wall_s, 2),  # start-up (loading N policies) included
        "graph": str(graph_path),
        "sim_outputs": [str(out_dir / "sims" / copy_id("sim", i)) for i in range(plan.sims)],
        "per_sim": [info["dora_sim"] for info in infos],  # each copy's sim and policy status
    }
    info = merge(infos, eval_s, extra)
    (out_dir / "eval_info.json").write_text(json.dumps(info, indent=2))
    overall = info["overall"]
    print(f"[dora-sim-eval] overall {json.dumps(overall)}", flush=True)
    print(f"[dora-sim-eval] wrote {out_dir / 'eval_info.json'}", flush=True)
    if overall["n_episodes"] < plan.episodes:
        print(
            f"[dora-sim-eval] only {overall['n_episodes']} of {plan.episodes} episodes were "
            f"scored (dora exited with {status})",
            flush=True,
        )
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
