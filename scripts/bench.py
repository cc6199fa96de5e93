"""dora-sim benchmarks: ``uv run python scripts/bench.py <sim|record|leader|rerun|policy> --json``.

Each subcommand lives in ``scripts/bench_<name>.py`` (``build_parser()`` + ``run(args) -> dict``)
and prints one JSON object.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

BENCHES = ("sim", "record", "leader", "rerun", "policy")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHES:
        available = [b for b in BENCHES if (Path(__file__).parent / f"bench_{b}.py").exists()]
        print(f"usage: bench.py {{{'|'.join(available)}}} [--json] [options]", file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path(__file__).parent))
    module = importlib.import_module(f"bench_{argv[0]}")
    args = module.build_parser().parse_args(argv[1:])
    result = module.run(args)
    print(json.dumps(result, indent=None if getattr(args, "json", False) else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
