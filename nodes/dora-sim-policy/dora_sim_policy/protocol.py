"""An honest eval protocol: validation seeds choose the checkpoint, disjoint test seeds report it.

Evaluating several checkpoints on one set of seeds and reporting the best is selection on the
test set: the number is optimistic by construction (the first wave's 65 % was the best of about
nine evaluations of 20 seeds; reruns gave 30-50 %). Here every checkpoint is scored on the
validation seeds, the best one (ties: the later checkpoint) is scored once on a disjoint block of
test seeds (at least :data:`MIN_TEST_EPISODES` for a reportable figure), and the figure is
printed with its 95 % Wilson score interval.

Each evaluation is one ``dora-sim-eval`` run (:mod:`dora_sim_policy.parallel`), kept under the
output directory; a rerun reuses every evaluation already complete, so the protocol resumes.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

MIN_TEST_EPISODES = 100
Z_95 = 1.959963984540054  # the standard normal's 97.5 % quantile


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval for a binomial proportion (Wilson 1927), as fractions.

    Unlike the normal approximation it stays inside [0, 1] and is not empty at 0 or n successes,
    which small robot evals hit often.
    """
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0, got {successes}/{n}")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # exactly 0 at 0 successes and 1 at n (the formula's value, without rounding error)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class Seeds:
    first: int
    episodes: int

    @property
    def last(self) -> int:
        return self.first + self.episodes - 1

    def overlaps(self, other: Seeds) -> bool:
        return self.first <= other.last and other.first <= self.last

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


@dataclass(frozen=True)
class Score:
    checkpoint: str
    seeds: str
    successes: int
    episodes: int

    @property
    def rate(self) -> float:
        return self.successes / self.episodes if self.episodes else float("nan")

    def describe(self) -> str:
        low, high = wilson(self.successes, self.episodes)
        return (
            f"{self.successes}/{self.episodes} = {100 * self.rate:.1f} % "
            f"(95 % Wilson interval {100 * low:.1f}-{100 * high:.1f} %)"
        )


def score(info: dict, checkpoint: str, seeds: Seeds) -> Score:
    episodes = info["per_episode"]
    return Score(checkpoint, str(seeds), sum(bool(e["success"]) for e in episodes), len(episodes))


def step_of(checkpoint: Path) -> int:
    """The training step of a ``lerobot-train`` checkpoint (``…/checkpoints/007500/…``)."""
    for part in reversed(checkpoint.parts):
        if re.fullmatch(r"\d+", part):
            return int(part)
    return -1


def find_checkpoints(root: Path) -> list[Path]:
    """``pretrained_model`` directories under a ``lerobot-train`` output (or one checkpoint),
    by training step; the ``last`` link is skipped (it repeats a step)."""
    if (root / "config.json").is_file():
        return [root]
    found = [
        p.parent
        for p in root.glob("**/pretrained_model/config.json")
        if "last" not in p.relative_to(root).parts
    ]
    return sorted(found, key=lambda p: (step_of(p), str(p)))


def choose(scores: list[Score]) -> Score:
    """The best validation score; a tie goes to the later checkpoint (trained longer)."""
    if not scores:
        raise ValueError("no checkpoint was scored on the validation seeds")
    return max(reversed(scores), key=lambda s: s.rate)


def report(validation: list[Score], chosen: Score, test: Score, mode: str) -> dict:
    low, high = wilson(test.successes, test.episodes)
    return {
        "eval_mode": mode,
        "chosen_checkpoint": chosen.checkpoint,
        "validation": [{**asdict(s), "rate": s.rate} for s in validation],
        "test": {**asdict(test), "rate": test.rate, "wilson_95": [low, high]},
        "reportable": test.episodes >= MIN_TEST_EPISODES,
        "summary": f"{test.checkpoint}: {test.describe()}, {mode}, test seeds {test.seeds}",
    }


def load_complete(path: Path, episodes: int) -> dict | None:
    """A finished evaluation's eval_info.json (all episodes scored), or None."""
    if not path.is_file():
        return None
    info = json.loads(path.read_text())
    return info if info["overall"]["n_episodes"] >= episodes else None
