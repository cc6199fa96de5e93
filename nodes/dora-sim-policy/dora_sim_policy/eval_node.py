"""``dora-sim-policy eval``: the eval writer node (no torch: starts in a second).

Inputs: ``episode`` and ``observation.state`` from the simulator, optionally one
``observation.images.<camera>`` for videos and the simulator's ``status`` (its last report lands
in ``eval_info.json``, with the eval mode it ran in) and the policy node's ``status`` as
``policy_status`` (its chunk latency figures land there too). Output ``ack``: every frame's
reward counts, so the scorer is a lossless consumer: wire ``ack`` to the simulator's
``ack.eval`` input (contract credits).
Writes ``eval_info.json`` (see :mod:`dora_sim_policy.evaluator`) after every episode, and
``videos/eval_episode_<n>.mp4`` for the first EVAL_VIDEOS episodes, into EVAL_OUTPUT_DIR
(default ``outputs/eval/<date>/<time>_dora-sim_<policy type>``, relative to the user's shell).
Exits with status 1 when fewer than NUM_EPISODES episodes were scored.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import av
import numpy as np

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.config import ConfigError, env_int, env_str
from dora_sim.flow import Acker
from dora_sim.link import INPUT, ContractVersionError, NodeLink
from dora_sim_policy.evaluator import EpisodeRecord, EvalBook, eval_info

log = logging.getLogger("dora-sim-eval")
POLICY_STATUS = "policy_status"  # the policy node's ``status`` (chunk latency figures)


def output_dir(policy: str, base: Path) -> Path:
    raw = env_str("EVAL_OUTPUT_DIR", "")
    if raw:
        path = Path(raw).expanduser()
        return path if path.is_absolute() else base / path
    policy_type = "policy"
    config = base / policy / "config.json" if policy else None
    if config is not None and config.is_file():
        policy_type = json.loads(config.read_text()).get("type", policy_type)
    now = dt.datetime.now()
    return base / "outputs" / "eval" / f"{now:%Y-%m-%d}" / f"{now:%H-%M-%S}_dora-sim_{policy_type}"


class VideoWriter:
    """One mp4 per episode (H.264 through PyAV), streamed frame by frame, kept only if the
    episode counts."""

    def __init__(self, directory: Path, max_episodes: int, fps: int):
        self.directory = directory
        self.max_episodes = max_episodes
        self.fps = fps
        self.kept = 0
        self.episode: int | None = None
        self.container: Any = None
        self.stream: Any = None
        self.part: Path | None = None

    def add(self, episode: int, image: np.ndarray) -> None:
        if episode != self.episode:
            self.abandon()
            self.episode = episode
            if self.kept < self.max_episodes:
                self.directory.mkdir(parents=True, exist_ok=True)
                self.part = self.directory / f".episode_{episode}.part.mp4"
                self.container = av.open(str(self.part), mode="w")
                self.stream = self.container.add_stream("libx264", rate=self.fps)
                # yuv420p needs even sizes: an odd row or column is cropped (as lerobot-eval does).
                self.stream.height = image.shape[0] - image.shape[0] % 2
                self.stream.width = image.shape[1] - image.shape[1] % 2
                self.stream.pix_fmt = "yuv420p"
        if self.container is not None:
            rgb = np.ascontiguousarray(image[: self.stream.height, : self.stream.width])
            self.container.mux(self.stream.encode(av.VideoFrame.from_ndarray(rgb, "rgb24")))

    def _close(self) -> None:
        self.container.mux(self.stream.encode())  # flush the encoder
        self.container.close()
        self.container, self.stream = None, None

    def finish(self, record: EpisodeRecord) -> None:
        if self.episode != record.episode_index or self.container is None or self.part is None:
            return
        self._close()
        if record.counts:
            path = self.directory / f"eval_episode_{self.kept}.mp4"
            self.part.rename(path)
            record.video_path = str(path)
            self.kept += 1
        else:
            self.part.unlink(missing_ok=True)
        self.part, self.episode = None, None

    def abandon(self) -> None:
        if self.container is not None and self.part is not None:
            self._close()
            self.part.unlink(missing_ok=True)
        self.part = None


class EvalWriter:
    def __init__(self, out_dir: Path, num_episodes: int, videos: int, extra: dict[str, Any]):
        self.out_dir = out_dir
        self.num_episodes = num_episodes
        self.book = EvalBook()
        self.videos = VideoWriter(out_dir / "videos", videos, c.DEFAULT_FPS) if videos else None
        self.extra = extra
        self.started: float | None = None  # the first episode's start, as lerobot-eval times
        self.acker: Acker | None = None  # credits to the simulator, when `ack` is wired

    def on_input(self, input_id: str, value: Any, md: dict) -> None:
        if input_id == c.EPISODE:
            event = codec.decode_episode(value, md)
            if isinstance(event, codec.EpisodeStart):
                self.started = self.started or time.time()
                self.book.on_start(event)
                if self.videos is not None:
                    self.videos.fps = event.fps
            else:
                self.on_end(self.book.on_end(event))
        elif input_id == c.STATUS:  # the sim's loop health: did the eval run in real time?
            status = codec.SimStatus.from_json(codec.decode_text(value, c.STATUS))
            self.extra["eval_mode"] = status.eval_mode
            self.extra["sim_status"] = asdict(status)
        elif input_id == POLICY_STATUS:  # chunk latency: what a realtime score paid for
            self.extra["policy_status"] = json.loads(codec.decode_text(value, POLICY_STATUS))
        elif input_id == c.STATE:
            stamp = codec.FrameStamp.from_metadata(md)
            if self.acker is not None:  # taken, even if its payload is then rejected
                self.acker.take(stamp.frame)
            if stamp.phase == c.PHASE_EPISODE:
                state = codec.decode_joints(value, c.STATE)
                self.book.on_frame(stamp.episode_index, float(md.get(c.MD_REWARD, 0.0)), state)
        elif input_id.startswith(c.IMAGE_PREFIX) and self.videos is not None:
            stamp = codec.FrameStamp.from_metadata(md)
            if stamp.phase == c.PHASE_EPISODE:
                self.videos.add(stamp.episode_index, codec.decode_image(value, md, input_id))

    def on_end(self, record: EpisodeRecord) -> None:
        if self.videos is not None:
            self.videos.finish(record)
        if record.counts:
            n = len(self.book.counted())
            goal = self.num_episodes or "∞"
            verdict = "SUCCESS" if record.success else "failure"
            print(
                f"[dora-sim-eval] episode {n}/{goal}: {verdict} ({record.reason}), "
                f"{record.num_frames} frames, sum reward {record.sum_reward:g}",
                flush=True,
            )
            self.write()

    def write(self) -> dict[str, Any]:
        info = eval_info(self.book, time.time() - (self.started or time.time()), self.extra)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.out_dir / ".eval_info.json.tmp"
        tmp.write_text(json.dumps(info, indent=2))
        tmp.replace(self.out_dir / "eval_info.json")
        return info

    def close(self) -> int:
        if self.videos is not None:
            self.videos.abandon()
        info = self.write()
        print(f"[dora-sim-eval] overall {json.dumps(info['overall'])}", flush=True)
        print(f"[dora-sim-eval] wrote {self.out_dir / 'eval_info.json'}", flush=True)
        scored = info["overall"]["n_episodes"]
        if self.num_episodes and scored < self.num_episodes:
            log.error("only %d of %d episodes were scored", scored, self.num_episodes)
            return 1
        return 0


def run() -> int:
    base = Path(os.environ.get("PWD") or os.getcwd())
    try:
        policy = env_str("POLICY_PATH", "")
        out_dir = output_dir(policy, base)
        num_episodes = env_int("NUM_EPISODES", 2, minimum=0)
        videos = env_int("EVAL_VIDEOS", 0, minimum=0)
    except ConfigError as err:
        log.error("%s", err)
        return 2
    extra = {
        "policy": policy,
        "num_episodes_requested": num_episodes,
        "episode_time_s": env_str("EPISODE_TIME_S", ""),
        "seed": env_str("SEED", ""),
    }
    writer = EvalWriter(out_dir, num_episodes, videos, extra)
    from dora import Node

    log.info("writing %s", out_dir / "eval_info.json")
    link = NodeLink(Node())
    if c.ACK in (link.node_config().get("outputs") or []):
        writer.acker = Acker(link)
    try:
        for event in link.events(timeout=Acker.REFRESH_S):
            if event.kind != INPUT:
                if writer.acker is not None:
                    writer.acker.refresh()  # a lost ack must not leave the sim holding
                continue
            try:
                writer.on_input(event.id, event.value, event.metadata)
            except (codec.ContractError, KeyError, ValueError) as err:
                log.error("rejected %s message: %s", event.id, err)
    except ContractVersionError as err:
        log.error("%s", err)
        writer.close()
        return 2
    return writer.close()


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(name)s: %(levelname)s: %(message)s", stream=sys.stdout
    )
    sys.exit(run())
