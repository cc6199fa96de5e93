"""Validation seeds choose the checkpoint, ≥ 100 disjoint test seeds report it, with its 95 %
Wilson interval (see dora_sim_policy.protocol for why).

    uv run scripts/eval_protocol.py outputs/train/act_pick/checkpoints \\
        --validation-seed 500 --validation-episodes 20 --test-seed 1000 --test-episodes 100 \\
        --sims 2 --set POLICY_DEVICE=cuda

Every evaluation is a ``dora-sim-eval`` run (lockstep by default) kept under ``--output-dir``
(default ``outputs/eval_protocol/<checkpoints' parent name>``); rerunning the same command reuses
the complete ones, so an interrupted protocol resumes. Writes ``protocol.json`` there and prints
one line to quote. Exit status 1 when the test set is below 100 episodes (the figure is printed,
marked not reportable).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dora_sim import contract as c
from dora_sim_policy import parallel
from dora_sim_policy.protocol import (
    MIN_TEST_EPISODES,
    Score,
    Seeds,
    choose,
    find_checkpoints,
    load_complete,
    report,
    score,
    step_of,
)


def evaluate(
    checkpoint: Path, seeds: Seeds, out_dir: Path, args: argparse.Namespace, passthrough: list[str]
) -> Score:
    info_path = out_dir / "eval_info.json"
    info = load_complete(info_path, seeds.episodes)
    if info is None:
        if out_dir.exists():  # an interrupted run: start it again, keep nothing half-done
            for stale in out_dir.glob("**/eval_info.json"):
                stale.unlink()
        status = parallel.main(
            [
                *("--policy", str(checkpoint), "--output-dir", str(out_dir)),
                *("--seed", str(seeds.first), "--episodes", str(seeds.episodes)),
                *("--sims", str(args.sims), "--mode", args.mode),
                *("--episode-time-s", f"{args.episode_time_s:g}"),
                *passthrough,
            ]
        )
        info = load_complete(info_path, seeds.episodes)
        if info is None:
            raise SystemExit(f"eval of {checkpoint} on seeds {seeds} failed (status {status})")
    else:
        print(f"[eval-protocol] reusing {info_path}", flush=True)
    result = score(info, str(checkpoint), seeds)
    print(f"[eval-protocol] {checkpoint} on seeds {seeds}: {result.describe()}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="eval_protocol.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "checkpoints", type=Path, help="a lerobot-train output (or its checkpoints/) or one model"
    )
    p.add_argument("--validation-seed", type=int, default=500)
    p.add_argument("--validation-episodes", type=int, default=20)
    p.add_argument("--test-seed", type=int, default=1000)
    p.add_argument("--test-episodes", type=int, default=MIN_TEST_EPISODES)
    p.add_argument("--sims", type=int, default=1, help="simulators side by side (dora-sim-eval)")
    p.add_argument("--mode", choices=c.EVAL_MODES, default=c.LOCKSTEP)
    p.add_argument("--episode-time-s", type=float, default=20.0)
    p.add_argument("--output-dir", type=Path)
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--graph", type=Path, help="eval graph (dora-sim-eval's default otherwise)")
    args = p.parse_args(argv)

    validation = Seeds(args.validation_seed, args.validation_episodes)
    test = Seeds(args.test_seed, args.test_episodes)
    if validation.overlaps(test):
        p.error(f"validation seeds {validation} and test seeds {test} overlap: make them disjoint")
    checkpoints = find_checkpoints(args.checkpoints)
    if not checkpoints:
        p.error(f"no LeRobot checkpoint (pretrained_model/config.json) under {args.checkpoints}")
    out = args.output_dir or Path("outputs") / "eval_protocol" / args.checkpoints.resolve().name
    passthrough = [arg for kv in args.settings for arg in ("--set", kv)]
    passthrough += ["--graph", str(args.graph)] if args.graph else []
    print(
        f"[eval-protocol] {len(checkpoints)} checkpoint(s); validation seeds {validation}, "
        f"test seeds {test}, {args.mode}; under {out}",
        flush=True,
    )

    def name(checkpoint: Path) -> str:
        step = step_of(checkpoint)
        return f"step_{step:06d}" if step >= 0 else checkpoint.name

    scores = [
        evaluate(ck, validation, out / "validation" / name(ck), args, passthrough)
        for ck in checkpoints
    ]
    chosen = choose(scores)
    print(f"[eval-protocol] chosen on validation: {chosen.checkpoint}", flush=True)
    chosen_path = Path(chosen.checkpoint)
    result = evaluate(chosen_path, test, out / "test" / name(chosen_path), args, passthrough)
    doc = report(scores, chosen, result, args.mode)
    (out / "protocol.json").write_text(json.dumps(doc, indent=2))
    print(f"[eval-protocol] {doc['summary']}", flush=True)
    if not doc["reportable"]:
        print(
            f"[eval-protocol] not reportable: {test.episodes} test episodes, "
            f"the protocol asks for at least {MIN_TEST_EPISODES}",
            flush=True,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
