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

    def on_frame(self, episode: int, reward: float) -> None:
        record = self._record(episode)
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
            "length": r.num_frames,
            "frames_scored": r.frames,
            "reason": r.reason,
            "sim_time_s": r.sim_time_s,
            "wall_time_s": round(r.wall_time_s, 3),
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
