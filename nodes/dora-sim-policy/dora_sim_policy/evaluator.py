"""Eval metrics from the simulator's streams, in ``lerobot-eval``'s ``eval_info.json`` shape.

LeRobot's ``lerobot-eval`` (0.4 to 0.6) writes ``{"per_task", "per_group", "overall"}`` (from
``eval_policy_all``), each task's metrics being lists of ``sum_rewards``, ``max_rewards``,
``successes``; the single-env evaluator it wraps (``eval_policy``) returns ``{"per_episode",
"aggregated"}``. LeRobot 0.6 added ``predicted_video_paths`` beside ``video_paths`` (videos of
what world-model policies predict): always empty here, kept for the shape. This file carries
both documents, computed the same way (``np.nanmean``; ``pc_success`` in percent), so scripts
written for either read it. Episodes the simulator discarded (``rerecord``, ``reset``) or cut
short with ``stop`` do not count.

Rewards are the simulator's per-tick ``reward`` metadata (1.0 while the task's success predicate
holds), read from every ``observation.state``; ``success`` is the episode end's verdict.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dora_sim import contract as c
from dora_sim.codec import EpisodeEnd, EpisodeStart


@dataclass
class EpisodeRecord:
    episode_index: int
    task: str
    seed: int | None
    frames: int = 0  # frames whose reward was counted
    sum_reward: float = 0.0
    max_reward: float = -math.inf
    success: bool = False
    reason: str | None = None  # set when the episode ended
    num_frames: int = 0  # frames of the episode according to the simulator
    sim_time_s: float = 0.0
    wall_time_s: float = 0.0
    video_path: str | None = None
    # A hash chain over every scored frame's observation.state (float32 bytes): two runs with
    # equal digests saw the same trajectory, bit for bit (lockstep determinism, host to host).
    state_sha256: str = ""
    final_state: list[float] | None = None

    @classmethod
    def from_per_episode(cls, row: dict[str, Any]) -> EpisodeRecord:
        """Back from an ``eval_info.json`` ``per_episode`` row (merging parallel evals)."""
        return cls(
            episode_index=row["episode_index"],
            task=row["task"],
            seed=row["seed"],
            frames=row["frames_scored"],
            sum_reward=row["sum_reward"],
            max_reward=row["max_reward"],
            success=row["success"],
            reason=row["reason"],
            num_frames=row["length"],
            sim_time_s=row["sim_time_s"],
            wall_time_s=row["wall_time_s"],
            video_path=row["video_path"],
            state_sha256=row["state_sha256"],
            final_state=row["final_state"],
        )

    @property
    def counts(self) -> bool:
        return self.reason is not None and self.reason not in (*c.DISCARDED_REASONS, c.END_STOP)


@dataclass
class EvalBook:
    episodes: dict[int, EpisodeRecord] = field(default_factory=dict)

    def _record(self, episode: int, task: str = "", seed: int | None = None) -> EpisodeRecord:
        if episode not in self.episodes:
            self.episodes[episode] = EpisodeRecord(episode, task, seed)
        return self.episodes[episode]

    def on_start(self, event: EpisodeStart) -> None:
        record = self._record(event.episode_index)
        record.task = event.task
        record.seed = event.seed

    def on_frame(self, episode: int, reward: float, state: np.ndarray) -> None:
        record = self._record(episode)
        chained = bytes.fromhex(record.state_sha256) + np.asarray(state, np.float32).tobytes()
        record.state_sha256 = hashlib.sha256(chained).hexdigest()
        record.final_state = [float(x) for x in state]
        record.frames += 1
        record.sum_reward += reward
        record.max_reward = max(record.max_reward, reward)

    def on_end(self, event: EpisodeEnd) -> EpisodeRecord:
        record = self._record(event.episode_index)
        record.reason = event.reason
        record.success = event.success
        record.num_frames = event.num_frames
        record.sim_time_s = event.sim_time
        record.wall_time_s = event.wall_time
        return record

    def counted(self) -> list[EpisodeRecord]:
        return [self.episodes[i] for i in sorted(self.episodes) if self.episodes[i].counts]


def _mean(values: list[float]) -> float:
    return float(np.nanmean(values)) if values else float("nan")


def _aggregate(records: list[EpisodeRecord]) -> dict[str, Any]:
    return {
        "avg_sum_reward": _mean([r.sum_reward for r in records]),
        "avg_max_reward": _mean([_max_reward(r) for r in records]),
        "pc_success": _mean([float(r.success) for r in records]) * 100,
        "n_episodes": len(records),
    }


def _max_reward(record: EpisodeRecord) -> float:
    return record.max_reward if record.frames else float("nan")


def eval_info(book: EvalBook, eval_s: float, extra: dict[str, Any]) -> dict[str, Any]:
    """The ``eval_info.json`` document (see the module docstring for the shape)."""
    records = book.counted()
    videos = [r.video_path for r in records if r.video_path]
    timing = {"eval_s": eval_s, "eval_ep_s": eval_s / max(1, len(records))}
    groups: dict[str, list[EpisodeRecord]] = {}
    for record in records:
        groups.setdefault(record.task, []).append(record)
    per_task = [
        {
            "task_group": task,
            "task_id": 0,
            "metrics": {
                "sum_rewards": [r.sum_reward for r in group],
                "max_rewards": [_max_reward(r) for r in group],
                "successes": [r.success for r in group],
                "video_paths": [r.video_path for r in group if r.video_path],
                "predicted_video_paths": [],
            },
        }
        for task, group in groups.items()
    ]
    per_group = {
        task: {
            **_aggregate(group),
            "video_paths": [r.video_path for r in group if r.video_path],
            "predicted_video_paths": [],
        }
        for task, group in groups.items()
    }
    per_episode = [
        {
            "episode_ix": i,
            "sum_reward": r.sum_reward,
            "max_reward": _max_reward(r),
            "success": r.success,
            "seed": r.seed,
            # dora-sim additions: what the simulator saw of the episode
            "episode_index": r.episode_index,
            "task": r.task,
            "length": r.num_frames,
            "frames_scored": r.frames,
            "reason": r.reason,
            "sim_time_s": r.sim_time_s,
            "wall_time_s": round(r.wall_time_s, 3),
            "video_path": r.video_path,
            "state_sha256": r.state_sha256,
            "final_state": r.final_state,
        }
        for i, r in enumerate(records)
    ]
    lengths = [float(r.num_frames) for r in records]
    info: dict[str, Any] = {
        "per_task": per_task,
        "per_group": per_group,
        "overall": {
            **_aggregate(records),
            **timing,
            "video_paths": videos,
            "predicted_video_paths": [],
        },
        "per_episode": per_episode,
        "aggregated": {**_aggregate(records), **timing, "avg_length": _mean(lengths)},
        "dora_sim": extra,
    }
    if videos:
        info["video_paths"] = videos
    return info


def merge(infos: list[dict[str, Any]], eval_s: float, extra: dict[str, Any]) -> dict[str, Any]:
    """One ``eval_info.json`` from several (parallel simulators): every scored episode, ordered by
    seed, aggregated exactly as one eval would have."""
    rows = [row for info in infos for row in info["per_episode"]]
    records = sorted(map(EpisodeRecord.from_per_episode, rows), key=lambda r: r.seed or 0)
    book = EvalBook({i: record for i, record in enumerate(records)})
    return eval_info(book, eval_s, extra)
