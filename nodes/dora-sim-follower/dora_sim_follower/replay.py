"""dora-sim-follower replay: a recorded episode's actions, played back through the contract.

It drives whatever node it is wired to — the real follower, or a simulator — frame by frame,
paced by that node's own frames: each recorded action goes out tagged with the node's frame it
is meant for (``for_frame``), LOOKAHEAD frames ahead, and the follower holds each until its
frame: the node applies exactly the recorded sequence, one action per tick, even when a message
takes longer than a tick to arrive. First it brings the arm to the episode's first pose
(sending the first action until the arm is there, at the follower's safe per-tick speed, or
for REPLAY_POSITION_S at most), then has the node start a fresh episode (``control: reset``)
that replays every frame, then ends it (``finish``) and the session (``stop``).

Inputs: ``observation.state`` and ``episode`` of the node being driven; optionally its
``applied_action`` (the summary then says how far what it applied strayed from the recording,
e.g. where max_relative_target capped a step). Outputs: ``action``, ``control``.

Configuration: REPLAY_DATASET (root of a LeRobot v3 dataset, relative to the shell's directory),
REPLAY_EPISODE (default 0), REPLAY_POSITION_S (default 10).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.config import ConfigError, env_float, env_int, env_str
from dora_sim.link import INPUT, NodeLink
from dora_sim_leader.virtual.dataset import DatasetInfo, episode_actions

log = logging.getLogger("dora-sim-follower.replay")

# The arm is at the first pose when every joint is this close (degrees; gripper 0-100).
POSITION_TOLERANCE = 2.0
LOOKAHEAD = 5  # frames: the driven node's action queue must hold as many (queue_size)


@dataclass(frozen=True)
class ReplayConfig:
    dataset: Path
    episode: int
    position_s: float

    @classmethod
    def from_env(cls) -> ReplayConfig:
        raw = env_str("REPLAY_DATASET", "")
        if not raw:
            raise ConfigError(
                "REPLAY_DATASET is not set: the root of the LeRobot dataset to replay"
                " (e.g. REPLAY_DATASET=outputs/datasets/so101_pick REPLAY_EPISODE=3)"
            )
        base = Path(os.environ.get("PWD") or os.getcwd())  # dora runs nodes in the YAML's dir
        path = Path(raw).expanduser()
        return cls(
            dataset=path if path.is_absolute() else base / path,
            episode=env_int("REPLAY_EPISODE", 0, minimum=0),
            position_s=env_float("REPLAY_POSITION_S", 10.0, minimum=0.0),
        )


class Replay:
    """Positioning, then the replayed episode, then the end; fed the driven node's messages."""

    def __init__(self, link: NodeLink, actions: np.ndarray, fps: float, position_s: float):
        self.link = link
        self.actions = actions.astype(np.float32)
        self.fps = fps
        self.position_frames = int(position_s * fps)
        self.phase = "positioning"  # -> "starting" -> "replaying" -> "done"
        self.positioning_frames = 0
        self.replay_episode: int | None = None
        self.first_frame = 0  # the driven node's frame number of the replayed episode's frame 0
        self.sent_until = 0  # the last episode frame whose action is out
        self.applied: dict[int, np.ndarray] = {}  # replayed episode frame -> applied target

    def on_state(self, state: np.ndarray, stamp: codec.FrameStamp) -> None:
        if self.phase == "positioning":
            self.send_action(0)
            self.positioning_frames += 1
            error = float(np.max(np.abs(state - self.actions[0])))
            timed_out = self.positioning_frames >= self.position_frames
            if error <= POSITION_TOLERANCE or timed_out:
                if timed_out:
                    log.warning(
                        "the arm is still %.1f off the episode's first pose after %d frames:"
                        " replaying anyway",
                        error,
                        self.positioning_frames,
                    )
                self.phase = "starting"
                self.send_control(c.CONTROL_RESET)  # a fresh episode, frame 0 = action 0
        elif self.phase == "starting":
            self.send_action(0)
        elif self.phase == "replaying" and stamp.episode_index == self.replay_episode:
            self.send_ahead(stamp.episode_frame)
            if stamp.episode_frame + 1 == len(self.actions):
                # Both apply at the next tick: the episode ends after exactly len(actions)
                # frames, then the session (no further episode starts).
                self.send_control(c.CONTROL_FINISH)
                self.send_control(c.CONTROL_STOP)

    def send_ahead(self, episode_frame: int) -> None:
        """Actions up to LOOKAHEAD frames past ``episode_frame``, each tagged with its frame."""
        last = min(episode_frame + LOOKAHEAD, len(self.actions) - 1)
        for index in range(self.sent_until + 1, last + 1):
            self.send_action(index, self.first_frame + index)
        self.sent_until = max(self.sent_until, last)

    def on_episode(self, event: codec.EpisodeStart | codec.EpisodeEnd) -> None:
        if isinstance(event, codec.EpisodeStart):
            if event.fps != round(self.fps):
                log.error(
                    "the dataset was recorded at %g fps but the graph runs at %d: set FPS and"
                    " the timer to %g; stopping",
                    self.fps,
                    event.fps,
                    self.fps,
                )
                self.phase = "done"
                self.send_control(c.CONTROL_STOP)
            elif self.phase == "starting":
                self.phase, self.replay_episode = "replaying", event.episode_index
                self.first_frame = event.frame  # action 0 is the target already
                self.send_ahead(0)
                log.info("replaying %d frames (%.1f s) as episode %d", len(self.actions),
                         len(self.actions) / self.fps, event.episode_index)  # fmt: skip
        elif event.episode_index == self.replay_episode and self.phase == "replaying":
            self.phase = "done"
            self.report(event)

    def on_applied(self, applied: np.ndarray, stamp: codec.FrameStamp) -> None:
        if self.phase == "replaying" and stamp.episode_index == self.replay_episode:
            self.applied[stamp.episode_frame] = applied.copy()

    def report(self, end: codec.EpisodeEnd) -> None:
        line = f"[dora-sim-follower replay] {end.num_frames} of {len(self.actions)} frames replayed"
        if self.applied:
            frames = sorted(self.applied)
            diff = np.abs(np.stack([self.applied[f] for f in frames]) - self.actions[frames])
            changed = int(np.sum(np.any(diff > 1e-3, axis=1)))
            line += (
                f"; applied = recorded on {len(frames) - changed} frames, {changed} differ"
                f" (max {float(diff.max()):.2f}; a capped step shows here)"
            )
        print(line, flush=True)

    def send_action(self, index: int, for_frame: int | None = None) -> None:
        """Recorded action ``index``, for frame ``for_frame`` of the driven node (None: now)."""
        stamp = codec.CommandStamp(for_frame=for_frame)
        self.link.send(c.ACTION, codec.encode_joints(self.actions[index]), stamp.to_metadata())

    def send_control(self, command: str) -> None:
        self.link.send(c.CONTROL, codec.encode_control(command))


def run(link: NodeLink, replay: Replay) -> None:
    for event in link.events():
        if event.kind != INPUT:
            continue
        try:
            on_input(replay, event.id, event.value, event.metadata)
        except codec.ContractError as err:
            log.error("rejected %s message: %s", event.id, err)


def on_input(replay: Replay, input_id: str, value: Any, metadata: dict[str, Any]) -> None:
    if input_id == c.STATE:
        state = codec.decode_joints(value, c.STATE)
        replay.on_state(state, codec.FrameStamp.from_metadata(metadata))
    elif input_id == c.APPLIED_ACTION:
        applied = codec.decode_joints(value, c.APPLIED_ACTION)
        replay.on_applied(applied, codec.FrameStamp.from_metadata(metadata))
    elif input_id == c.EPISODE:
        replay.on_episode(codec.decode_episode(value, metadata))


def main() -> int:
    from dora import Node

    try:
        config = ReplayConfig.from_env()
        actions = episode_actions(config.dataset, config.episode)
        fps = DatasetInfo.load(config.dataset).fps
    except (ConfigError, ValueError, OSError) as err:
        log.error("%s", err)
        return 2
    log.info("episode %d of %s: %d frames at %g fps", config.episode, config.dataset,
             len(actions), fps)  # fmt: skip
    codec.warm_up()
    link = NodeLink(Node())
    run(link, Replay(link, actions, fps, config.position_s))
    return 0
