"""The eval protocol: Wilson intervals, disjoint seeds, the choice on validation seeds, and the
real script resuming from the evaluations it already has."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from policy_testkit import REPO, SMALL, dora_env

from dora_sim_policy.offline import build_act
from dora_sim_policy.protocol import Score, Seeds, choose, find_checkpoints, wilson

TINY_ACT = {"dim_model": 32, "n_heads": 2, "dim_feedforward": 64, "n_encoder_layers": 1}
TINY_ACT |= {"n_decoder_layers": 1, "n_vae_encoder_layers": 1, "latent_dim": 4}


def test_wilson_matches_the_published_values():
    # Wilson (1927) / Newcombe (1998), table I: 0/10 → 0-0.2775, 81/263 → 0.2553-0.3662
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)


@given(st.integers(1, 2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_holds_the_rate_and_mirrors(case):
    k, n = case
    low, high = wilson(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0
    assert high - low > 0
    mirror = wilson(n - k, n)
    assert mirror == pytest.approx((1 - high, 1 - low), abs=1e-12)


def test_validation_picks_the_best_and_a_tie_the_later_checkpoint():
    scores = [Score("a", "0-9", 3, 10), Score("b", "0-9", 5, 10), Score("c", "0-9", 5, 10)]
    assert choose(scores).checkpoint == "c"
    assert choose(scores[:2]).checkpoint == "b"
    assert Seeds(0, 10).overlaps(Seeds(9, 5)) and not Seeds(0, 10).overlaps(Seeds(10, 5))


@pytest.fixture(scope="module")
def train_dir(tmp_path_factory):
    """Two checkpoints laid out as lerobot-train writes them, plus its `last` link."""
    root = tmp_path_factory.mktemp("train") / "act_pick"
    for step, seed in (("000010", 1), ("000020", 2)):
        build_act(
            root / "checkpoints" / step,  # it writes <dir>/pretrained_model
            image_shape=(3, 64, 80),
            seed=seed,
            **TINY_ACT,
        )
    (root / "checkpoints" / "last").symlink_to("000020")
    return root


def test_checkpoints_are_found_by_step_without_the_last_link(train_dir):
    found = find_checkpoints(train_dir)
    assert [p.parent.name for p in found] == ["000010", "000020"]


@pytest.mark.slow
def test_the_protocol_chooses_on_validation_reports_on_test_and_resumes(train_dir, tmp_path):
    out = tmp_path / "protocol"
    settings = [arg for k, v in SMALL.items() for arg in ("--set", f"{k}={v}")]
    command = [
        *(sys.executable, str(REPO / "scripts" / "eval_protocol.py"), str(train_dir)),
        *("--validation-seed", "50", "--validation-episodes", "2"),
        *("--test-seed", "100", "--test-episodes", "2", "--episode-time-s", "1"),
        *("--output-dir", str(out), *settings),
    ]
    first = subprocess.run(command, cwd=REPO, env=dora_env(), capture_output=True, text=True)
    # 2 test episodes: the figure is printed but not reportable (exit 1)
    assert first.returncode == 1, (first.stdout + first.stderr)[-4000:]
    assert "not reportable" in first.stdout
    doc = json.loads((out / "protocol.json").read_text())
    assert [v["seeds"] for v in doc["validation"]] == ["50-51", "50-51"]
    assert doc["test"]["seeds"] == "100-101" and doc["test"]["episodes"] == 2
    assert doc["chosen_checkpoint"] == doc["test"]["checkpoint"]
    low, high = doc["test"]["wilson_95"]
    assert low <= doc["test"]["rate"] <= high
    test_info = json.loads(next((out / "test").glob("*/eval_info.json")).read_text())
    assert [e["seed"] for e in test_info["per_episode"]] == [100, 101]

    again = subprocess.run(command, cwd=REPO, env=dora_env(), capture_output=True, text=True)
    assert again.stdout.count("reusing") == 3  # two validations and the test: nothing reran
    assert json.loads((out / "protocol.json").read_text()) == doc

    overlap = subprocess.run(
        [*command, "--test-seed", "51"], cwd=REPO, env=dora_env(), capture_output=True, text=True
    )
    assert overlap.returncode == 2 and "overlap" in overlap.stderr
