"""``scripts/bench_rerun.py`` runs both variants side by side and reports what the brief asks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "scripts" / "bench_rerun.py"


@pytest.mark.slow
def test_rerun_bench_reports_both_rates_and_drops():
    spec = importlib.util.spec_from_file_location("bench_rerun", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    args = bench.build_parser().parse_args(
        ["--seconds", "2", "--warmup", "1", "--height", "64", "--width", "80"]
    )
    result = bench.run(args)
    assert result["hz_without_rerun"] > 0 and result["hz_with_rerun"] > 0
    assert result["hz_ratio"] == pytest.approx(
        result["hz_with_rerun"] / result["hz_without_rerun"], abs=1e-3
    )
    assert result["rerun_cpu_pct_of_core"] is not None
    with_rerun = result["rounds"]["with_rerun"][0]
    assert with_rerun["rrd_mb"] > 0
    for camera in ("front", "wrist"):
        frames = with_rerun["display_frames"][camera]
        assert 0 < frames["logged"] <= with_rerun["frames_sent"]
