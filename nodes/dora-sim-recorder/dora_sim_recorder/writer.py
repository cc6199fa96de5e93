"""The dataset writer: LeRobot's own ``LeRobotDataset`` driven episode by episode, crash safe.

Everything here runs in the recorder's writer thread, so that LeRobot's import (seconds),
saving and encoding never stall the dora event loop: the node connects to dora at once (dora
starts the graph only when every node has connected) and buffers frames while ``prepare`` imports
LeRobot, then the writer catches up.

Frames go to ``add_frame`` with LeRobot's streaming encoder (one encoder thread per camera, an
unbounded queue so that no frame is ever dropped). A kept episode is saved with
``save_episode`` + ``finalize`` into the work copy, committed into the dataset by
:class:`~dora_sim_recorder.store.DatasetStore`, and LeRobot's writer is reopened on the work copy
with ``LeRobotDataset.resume``, so that the next episode starts new files. A clean end of the
session packs those per-episode files (``packer.py``).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from dora_sim_recorder import randomization
from dora_sim_recorder.config import RecorderConfig
from dora_sim_recorder.layout import StreamLayout, feature_differences
from dora_sim_recorder.sequencer import AddFrame, EndEpisode, StartEpisode, WriterCommand
from dora_sim_recorder.store import DatasetStore, StoreError

log = logging.getLogger("dora-sim-recorder")


class FatalError(RuntimeError):
    """The session cannot go on (resume mismatch, unwritable dataset, failed commit)."""


@dataclass(frozen=True)
class Taken:
    """Marker after the commands of sim frame ``frame``: once handled, the frame is safe."""

    frame: int


@dataclass
class WriterStats:
    """Progress counters, written by the writer thread and read by the node for its status."""

    dataset_episodes: int = 0
    dataset_frames: int = 0
    session_saved: int = 0
    session_discarded: int = 0
    frames_written: int = 0  # frames handed to LeRobot this session
    episode_index: int = -1  # simulator episode being written (-1: none)
    episode_frames: int = 0
    saving: bool = False
    save_times_s: list[float] = field(default_factory=list)  # save + commit + reopen, per episode
    goal_reached: bool = False
    ready: bool = False  # LeRobot imported, the dataset to resume read
    taken: int = -1  # newest sim frame whose commands the writer has handled (credits)


class DatasetWriter:
    def __init__(self, config: RecorderConfig, store: DatasetStore):
        self.config = config
        self.store = store  # its lock is held by the caller for the whole session
        self.layout: StreamLayout | None = None  # from the node's wiring, see attach()
        self.stats = WriterStats()
        self.deadline: float | None = None  # monotonic time after which nothing more is saved
        self.dataset: Any = None  # lerobot LeRobotDataset on the work copy, once frames come
        self.existing: Any = None  # LeRobotDatasetMetadata of the dataset being resumed
        self.episode: StartEpisode | None = None
        self.episode_error: str | None = None
        self._lerobot: Any = None  # the lerobot_dataset module (imported in prepare)
        self._default_cache: Any = None  # HF datasets' cache dir before the session changed it

    # --- session ---
    def prepare(self) -> None:
        """Import LeRobot and, when resuming, read (only read) the existing dataset."""
        import av
        from lerobot.datasets import lerobot_dataset

        # libav's own INFO lines (e.g. the mp4 second pass of every packed video) are noise here;
        # LeRobot restores libav's default printer after encoding, which honours this level.
        av.logging.set_libav_level(av.logging.ERROR)
        self._lerobot = lerobot_dataset
        self._use_cache_dir()
        root = self.config.root
        if not self.config.resume:
            return
        if not (root / "meta" / "info.json").is_file() and self.store.pending() is not None:
            self._recover()  # the very first save was interrupted: complete it, then resume it
        if not (root / "meta" / "info.json").is_file():
            raise FatalError(
                f"RESUME_RECORDING=1 but there is no dataset at {root} (meta/info.json missing)"
            )
        try:
            self.existing = lerobot_dataset.LeRobotDatasetMetadata(self.config.repo_id, root=root)
        except Exception as err:  # LeRobot raises many types for a broken dataset
            raise FatalError(f"cannot resume {root}: LeRobot cannot read it: {err}") from err
        self.stats.dataset_episodes = self.existing.total_episodes
        self.stats.dataset_frames = self.existing.total_frames
        self._check_goal()
        if self.stats.goal_reached:
            print(
                f"[dora-sim-recorder] {root} already holds {self.stats.dataset_episodes} "
                f"episodes (NUM_EPISODES={self.config.num_episodes}): nothing to record",
                flush=True,
            )

    def attach(self, layout: StreamLayout) -> None:
        """The streams to record: known once the node is connected to dora (after prepare)."""
        self.layout = layout

    def close(self, pack: bool = False) -> None:
        """Finish the session: drop an unsaved episode, release LeRobot's writer, pack the
        dataset's files (``pack``, on a clean end), release the lock."""
        if self.dataset is not None:
            if self.episode is not None:
                self.dataset.clear_episode_buffer()
            self.dataset.finalize()
            self.dataset = None
        if self._default_cache is not None:
            import datasets

            datasets.config.HF_DATASETS_CACHE = self._default_cache
        if pack:
            self._pack()
        self.store.release(remove=True)

    def _pack(self) -> None:
        """Join the per-episode files into LeRobot v3's packed layout (see ``packer.py``)."""
        from dora_sim_recorder import packer

        root = self.config.root
        if not (root / "meta" / "info.json").is_file():
            return
        if self.deadline is not None:  # Ctrl-C: dora kills the node soon; packing can wait
            print(
                f"[dora-sim-recorder] {root} is complete but not packed (stopped by the user): "
                "its next recording session packs it",
                flush=True,
            )
            return
        started = time.monotonic()
        try:
            if not packer.needs_packing(root):
                return
            results: list[packer.PackResult] = []
            self.store.replace_root(lambda new: results.append(packer.pack(root, new)))
        except (packer.PackError, StoreError, OSError) as err:
            log.warning("%s was not packed (it is complete, in more files): %s", root, err)
            return
        result = results[0]
        print(
            f"[dora-sim-recorder] packed {root}: {result.files_before} files -> "
            f"{result.files_after} ({result.bytes_written / 2**20:.1f} MB written) in "
            f"{time.monotonic() - started:.2f} s",
            flush=True,
        )

    def push_to_hub(self) -> None:
        dataset = self._lerobot.LeRobotDataset(self.config.repo_id, root=self.config.root)
        dataset.push_to_hub(private=self.config.private)

    # --- commands ---
    def handle(self, command: WriterCommand | Taken) -> None:
        if isinstance(command, Taken):
            self.stats.taken = command.frame
            return
        if self.stats.goal_reached:
            return
        if isinstance(command, StartEpisode):
            self.episode = command
            self.episode_error = None
            self.stats.episode_index = command.index
            self.stats.episode_frames = 0
        elif isinstance(command, AddFrame):
            if self.config.frame_delay_s:
                time.sleep(self.config.frame_delay_s)
            self._add(command)
        else:
            self._end(command)

    def _add(self, command: AddFrame) -> None:
        episode, layout = self.episode, self.layout
        if episode is None or self.episode_error or self._past_deadline():
            return
        assert layout is not None, "attach() the stream layout before frames come"
        if self.dataset is None:  # a FatalError here (resume mismatch) ends the session
            self._open(episode.fps, layout.features(command.parts))
        try:
            if episode.fps != self.dataset.fps:
                raise ValueError(f"episode at {episode.fps} fps, dataset at {self.dataset.fps}")
            frame = layout.frame(command.parts)
            frame["task"] = episode.task
            self.dataset.add_frame(frame)
        except (ValueError, RuntimeError) as err:  # LeRobot's frame validation / encoder thread
            self.episode_error = str(err).strip()
            log.error(
                "episode %d: frame %d rejected, the episode will be discarded: %s",
                episode.index,
                command.episode_frame,
                self.episode_error,
            )
            return
        self.stats.frames_written += 1
        self.stats.episode_frames += 1

    def _end(self, command: EndEpisode) -> None:
        why = command.why_dropped or self.episode_error or ""
        if not why and self._past_deadline():
            why = "the stop deadline passed before it could be saved"
        if not why and self.stats.episode_frames == 0:
            why = "no frame of it was recorded"
        start, self.episode = self.episode, None
        self.stats.episode_index = -1
        if why:
            if self.dataset is not None:
                self.dataset.clear_episode_buffer()
            self.stats.session_discarded += 1
            print(f"[dora-sim-recorder] episode {command.index} discarded: {why}", flush=True)
            return
        self._save(command, start)

    def _save(self, command: EndEpisode, start: StartEpisode | None) -> None:
        import datasets

        started = time.monotonic()
        self.stats.saving = True
        # A progress bar per saved episode would flood the console; LeRobot re-enables them
        # whenever it loads a dataset, so switch them off right before each save.
        datasets.disable_progress_bars()
        try:
            self.dataset.save_episode()
            self.dataset.finalize()
        except Exception as err:  # encoder or disk failure: the work copy is now unreliable
            self.stats.saving = False
            self.stats.session_discarded += 1
            log.error(
                "episode %d could not be saved (%s); discarded, dataset unchanged",
                command.index,
                err,
            )
            self._reopen_after_failure()
            return
        saved_s = time.monotonic() - started
        try:
            if start is not None and start.randomization is not None:
                randomization.append(self.store.lerobot_root, {
                    "episode_index": self.dataset.meta.total_episodes - 1,
                    "seed": start.seed,
                    "task": start.task,
                    **json.loads(start.randomization),
                })  # fmt: skip
            self.store.commit()
        except (OSError, StoreError) as err:
            raise FatalError(
                f"could not commit episode {command.index} into {self.config.root}: {err}"
            ) from err
        committed_s = time.monotonic() - started - saved_s
        self.stats.dataset_episodes = self.dataset.meta.total_episodes
        self.stats.dataset_frames = self.dataset.meta.total_frames
        self.store.trim_work_copy()
        self.dataset = None
        self._open_work_copy(rebuild=False)
        total_s = time.monotonic() - started
        self.stats.save_times_s.append(total_s)
        self.stats.session_saved += 1
        self.stats.saving = False
        goal = self.config.num_episodes or "∞"
        verdict = "success" if command.success else "no success"
        print(
            f"[dora-sim-recorder] saved episode {self.stats.dataset_episodes - 1} "
            f"({self.stats.dataset_episodes}/{goal} in {self.config.root}): sim episode "
            f"{command.index}, {command.num_frames} frames, {verdict} ({command.reason}); "
            f"pause {total_s:.2f} s = save {saved_s:.2f} + commit {committed_s:.2f} + reopen "
            f"{total_s - saved_s - committed_s:.2f}",
            flush=True,
        )
        self._check_goal()

    # --- opening LeRobot's writer ---
    def _open(self, fps: int, features: dict[str, dict[str, Any]]) -> None:
        if self.existing is not None:
            self._check_compatible(fps, features)
            self._recover()
            self.existing = None
            self._open_work_copy(rebuild=True)
            return
        self._recover()
        self.store.reset_work_copy()
        self._use_cache_dir()
        self.dataset = self._lerobot.LeRobotDataset.create(
            repo_id=self.config.repo_id,
            fps=fps,
            features=features,
            root=self.store.lerobot_root,
            robot_type=self.config.robot_type,
            use_videos=True,
            **self._writer_options(),
        )
        self.store.mark()

    def _open_work_copy(self, rebuild: bool) -> None:
        """(Re)open LeRobot's writer on the work copy, where the next episode gets new files.

        ``rebuild`` makes a fresh work copy from the dataset (resume, or after a failed save);
        otherwise the copy LeRobot just saved into is reused.
        """
        if rebuild:
            self.store.build_work_copy()
        self._use_cache_dir()
        self.dataset = self._lerobot.LeRobotDataset.resume(
            self.config.repo_id,
            root=self.store.lerobot_root,
            video_backend="pyav",
            **self._writer_options(),
        )
        meta = self.dataset.meta
        if rebuild:
            self.stats.dataset_episodes = meta.total_episodes
            self.stats.dataset_frames = meta.total_frames
        elif meta.total_episodes != self.stats.dataset_episodes:
            raise FatalError(
                f"LeRobot reopened the work copy with {meta.total_episodes} episodes, "
                f"{self.stats.dataset_episodes} were committed: LeRobot's resume changed"
            )
        self.store.mark()

    def _reopen_after_failure(self) -> None:
        self.dataset = None
        self.store.reset_work_copy()
        if (self.config.root / "meta" / "info.json").is_file():
            self._open_work_copy(rebuild=True)  # else the next frame creates the dataset afresh

    def _writer_options(self) -> dict[str, Any]:
        from lerobot.configs import RGBEncoderConfig

        return {
            "rgb_encoder": RGBEncoderConfig(vcodec=self.config.vcodec),
            "streaming_encoding": True,
            "encoder_queue_maxsize": 0,  # unbounded: LeRobot drops frames from a full queue
            "encoder_threads": self.config.encoder_threads,
        }

    def _use_cache_dir(self) -> None:
        """Keep HF datasets' arrow cache of the work copy inside the work directory.

        Every reopen would otherwise leave another cache of the episode metadata under
        ``~/.cache/huggingface/datasets``; here it is discarded with the work copy.
        """
        import datasets

        if self._default_cache is None:
            self._default_cache = datasets.config.HF_DATASETS_CACHE
        datasets.config.HF_DATASETS_CACHE = self.store.cache

    def _recover(self) -> None:
        try:
            done = self.store.recover()
        except (OSError, StoreError) as err:
            raise FatalError(str(err)) from err
        if done:
            print(f"[dora-sim-recorder] {done}", flush=True)
            if self.existing is not None:
                self.existing = self._lerobot.LeRobotDatasetMetadata(
                    self.config.repo_id, root=self.config.root
                )
                self.stats.dataset_episodes = self.existing.total_episodes
                self.stats.dataset_frames = self.existing.total_frames

    def _check_compatible(self, fps: int, features: dict[str, dict[str, Any]]) -> None:
        existing = self.existing
        problems = []
        if existing.fps != fps:
            problems.append(f"fps: dataset has {existing.fps}, the simulator runs at {fps}")
        if existing.robot_type != self.config.robot_type:
            problems.append(
                f"robot_type: dataset has {existing.robot_type!r}, now {self.config.robot_type!r}"
            )
        problems += feature_differences(existing.features, features)
        if problems:
            raise FatalError(
                f"cannot resume {self.config.root}: "
                + "; ".join(problems)
                + " (nothing was changed)"
            )

    def _check_goal(self) -> None:
        goal = self.config.num_episodes
        if goal and self.stats.dataset_episodes >= goal:
            self.stats.goal_reached = True

    def _past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline


class WriterThread(threading.Thread):
    """Runs a :class:`DatasetWriter` off the dora event loop; ``None`` on the queue ends it."""

    def __init__(self, writer: DatasetWriter):
        super().__init__(name="dora-sim-recorder-writer", daemon=True)
        self.writer = writer
        self.commands: queue.Queue[WriterCommand | Taken | None] = queue.Queue()
        self.error: str | None = None
        self.push = False  # push to the Hub after a clean finish

    def run(self) -> None:
        writer = self.writer
        try:
            writer.prepare()
            writer.stats.ready = True
            while (command := self.commands.get()) is not None:
                writer.handle(command)
        except FatalError as err:
            self.error = str(err)
        except Exception:  # a bug or an unexpected LeRobot failure: report, do not hang
            self.error = traceback.format_exc()
        finally:
            try:
                writer.close(pack=self.error is None)
            except Exception as err:
                log.error("closing the dataset writer failed: %s", err)
        if self.push and self.error is None and writer.stats.session_saved:
            try:
                writer.push_to_hub()
                print(
                    f"[dora-sim-recorder] pushed to https://huggingface.co/datasets/"
                    f"{writer.config.repo_id}",
                    flush=True,
                )
            except Exception as err:  # network, auth: the local dataset is intact either way
                log.error("push to the Hub failed (the local dataset is intact): %s", err)
