"""Run the simulator conformance suite on real Isaac Lab 3.0 and write the result as JSON.

    $ISAAC_PYTHON scripts/isaac_conformance.py --out docs/gpu_results/isaac_conformance_gpu.json

Runs ``tests/conformance/test_conformance_isaaclab3.py`` with pytest in this Python (which must be
the one where Isaac Lab 3 and dora-sim-isaac are installed; ``ISAAC_DEVICE`` picks the device) and
writes every test's outcome and duration, the totals, and the versions and device that ran them.
Exits with pytest's status.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "tests" / "conformance" / "test_conformance_isaaclab3.py"
PACKAGES = (
    "isaaclab",
    "newton",
    "warp-lang",
    "mujoco-warp",
    "mujoco",
    "usd-exchange",
    "torch",
    "numpy",
    "dora-rs",
)


class Collector:
    def __init__(self) -> None:
        self.tests: dict[str, dict] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = self.tests.setdefault(report.nodeid.split("::", 1)[-1], {"duration_s": 0.0})
        entry["duration_s"] = round(entry["duration_s"] + report.duration, 3)
        if report.failed or (report.when == "call" and entry.get("outcome") is None):
            entry["outcome"] = report.outcome
            if report.failed:
                entry["error"] = str(report.longrepr)[-1500:]
        elif report.skipped:
            entry["outcome"] = "skipped"


def device_name(device: str) -> str:
    if not device.startswith("cuda"):
        return f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    done = subprocess.run(
        ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or device


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    collector = Collector()
    started = time.time()
    status = pytest.main(
        ["-p", "no:cacheprovider", "-q", str(SUITE), *args.pytest_args], plugins=[collector]
    )
    tests = collector.tests
    outcomes = [t.get("outcome") for t in tests.values()]
    device = os.environ.get("ISAAC_DEVICE", "cpu")
    result = {
        "suite": "tests/conformance/sim_conformance.py (+ test_conformance_isaaclab3.py's own)",
        "simulator": "dora-sim-isaac on Isaac Lab 3.0 kit-less (Newton MuJoCo-Warp, Newton Warp"
        " camera), task DoraSim-SO101-Lift-Cube-v0",
        "device": device,
        "device_name": device_name(device),
        "python": platform.python_version(),
        "versions": versions(),
        "passed": outcomes.count("passed"),
        "failed": outcomes.count("failed"),
        "skipped": outcomes.count("skipped"),
        "wall_s": round(time.time() - started, 1),
        "tests": tests,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{result['passed']} passed, {result['failed']} failed -> {args.out}")
    return int(status)


if __name__ == "__main__":
    sys.exit(main())
