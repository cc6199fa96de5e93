"""``dora-sim-policy`` (the policy node) and ``dora-sim-policy eval`` (the eval writer node).

One console script for both, so the YAML ``path:`` stays the package name; each job lives in its
own module (:mod:`dora_sim_policy.node`, :mod:`dora_sim_policy.eval_node`), and ``eval`` never
imports torch.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="dora-sim-policy",
        description="Run a LeRobot policy in a dora-sim dataflow (see docs/policy.md).",
    )
    parser.add_argument(
        "job",
        nargs="?",
        choices=("run", "eval"),
        default="run",
        help="run: the policy node (default); eval: the eval writer",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.job == "eval":
        from dora_sim_policy.eval_node import main as job
    else:
        from dora_sim_policy.node import main as job
    job()


if __name__ == "__main__":
    main()
