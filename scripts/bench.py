"""dora-sim benchmarks: ``uv run python scripts/bench.py <name> --json`` (names: ``BENCHES``).

Each subcommand lives in ``scripts/bench_<name>.py`` (``build_parser()`` + ``run(args) -> dict``)
and prints one JSON object.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType

BENCHES = (
    "sim", "record", "leader", "rerun", "policy", "lerobot-cli", "soak", "follower", "bandwidth",
    "eval",
)  # fmt: skip


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHES:
        here = Path(__file__).parent
        available = [b for b in BENCHES if (here / f"bench_{b.replace('-', '_')}.py").exists()]
        print(f"usage: bench.py {{{'|'.join(available)}}} [--json] [options]", file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path(__file__).parent))
    name = "sim_isaac" if argv[:3] == ["sim", "--sim", "isaac"] else argv[0]  # bench_sim_isaac.py
    run_and_print(importlib.import_module(f"bench_{name.replace('-', '_')}"), argv[1:])
    return 0


def run_and_print(module: ModuleType, argv: list[str]) -> None:
    """Run one benchmark module with its own arguments; print its JSON object."""
    args = module.build_parser().parse_args(argv)
    result = module.run(args)
    print(json.dumps(result, indent=None if getattr(args, "json", False) else 2))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
