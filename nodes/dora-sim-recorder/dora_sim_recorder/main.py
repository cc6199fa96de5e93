"""dora-sim-recorder: writes the simulator's frames into a LeRobot v3 dataset, crash safe.

Inputs: per-tick ``action`` (wire the sim's ``applied_action``: the dataset's action feature),
``observation.state``, ``observation.images.<camera>`` (any wired), ``episode`` (the simulator's
start/end events, required), optionally ``control`` and inputs named in STATE_INPUTS /
EXTRA_INPUTS. Outputs: ``ack`` (credits: wire it to the sim's ``ack.recorder`` input, and give
the per-tick inputs ``queue_size`` contract.CREDIT_QUEUE_SIZE or more: then nothing is dropped
and the sim holds when the recorder falls behind), optionally ``status`` (JSON, about once a
second) and ``control`` (``stop`` to the simulator once the dataset holds NUM_EPISODES episodes,
or on a fatal error).

The node connects to dora before it imports LeRobot, so the graph starts at once; frames are
acknowledged into a buffer ahead of the writer (at most 3 s of sim time and RECORDER_BUFFER_MB),
so an episode's save does not stall the sim; past it (e.g. while a slow machine is still
importing LeRobot), the sim holds.

Configuration (environment): REPO_ID, DATASET_ROOT (default outputs/datasets/<REPO_ID>, relative
to the shell's directory), NUM_EPISODES (episodes the dataset should hold; 0 = no limit),
RESUME_RECORDING, VCODEC, EXPORT_MODE (all|succeeded), PUSH_TO_HUB, HUB_PRIVATE, STATE_INPUTS,
EXTRA_INPUTS, ROBOT_TYPE, ENCODER_THREADS, RECORDER_BUFFER_MB, RECORDER_FRAME_DELAY_S (a slow
disk, for tests and benchmarks). See docs/recorder.md.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, NoReturn

import numpy as np
from dora import Node

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.cli import start_node
from dora_sim.flow import Acker
from dora_sim.link import CLOSED, INPUT, STOP, ContractVersionError, NodeLink
from dora_sim_recorder.assembler import Frame, FrameAssembler
from dora_sim_recorder.config import ConfigError, RecorderConfig, load_config
from dora_sim_recorder.layout import JOINT_INPUTS, StreamLayout, layout_from_inputs
from dora_sim_recorder.messages import decode_vector
from dora_sim_recorder.sequencer import EndEpisode, EpisodeSequencer, WriterCommand
from dora_sim_recorder.status import RateMeter, RecorderStatus
from dora_sim_recorder.store import DatasetStore, StoreError
from dora_sim_recorder.writer import DatasetWriter, Taken, WriterThread

log = logging.getLogger("dora-sim-recorder")

STOP_BUDGET_S = 6.0  # after a dora STOP: saving what is complete must end well inside 10 s
# Frames acknowledged ahead of the writer are a promise to the user: a Ctrl-C must still save
# them inside STOP_BUDGET_S. So the buffer holds at most this much sim time (and at most
# RECORDER_BUFFER_MB); past it, the sim holds. Half the budget leaves the other half for saves.
BUFFER_S = STOP_BUDGET_S / 2
STATUS_PERIOD_S = 1.0
CONSOLE_PERIOD_S = 2.0
# A wired input that has sent nothing while the others sent this many seconds: miswired.
SILENT_AFTER_S = 3.0
ACK_POLL_S = 0.01  # while frames wait for the writer, how often its progress is checked
# dora's scheduler delivers STOP ahead of inputs queued before it; they still come after it.
STOP_DRAIN_S = 0.5


class RecorderNode:
    """Glue between dora events, the frame assembler, the sequencer and the writer thread."""

    def __init__(
        self, link: NodeLink, writer: DatasetWriter, layout: StreamLayout, outputs: set[str]
    ):
        self.link = link
        self.config = writer.config
        self.layout = layout
        self.outputs = outputs
        self.streams = set(layout.streams)
        self.assembler = FrameAssembler(layout.streams)
        self.sequencer = EpisodeSequencer(self.config.export_mode)
        self.writer = writer
        writer.attach(layout)
        self.thread = WriterThread(writer)
        self.thread.push = self.config.push_to_hub
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.rejected = 0
        self.warned: set[str] = set()
        self.closed: set[str] = set()
        self.error: str | None = None  # a fatal problem found by the node thread
        self.session_over = False  # no more episodes will be recorded
        self.stop_sent = False
        self.fps = c.DEFAULT_FPS
        self.rate = RateMeter()
        self.last_status = 0.0
        self.last_console = 0.0
        self.last_behind_warning = 0.0
        self.started = time.monotonic()
        self.ready_announced = False
        self.acker = Acker(link) if c.ACK in outputs else None
        self.released = -1  # newest frame handed to the writer thread
        self.buffer_frames: int | None = None  # frames acknowledged ahead of the writer

    # --- inputs ---
    def on_input(self, input_id: str, value: Any, metadata: dict[str, Any]) -> None:
        try:
            if input_id in self.streams:
                self.on_part(input_id, value, metadata)
            elif input_id == c.EPISODE:
                self.on_episode(value, metadata)
            elif input_id == c.CONTROL:
                self.on_control(codec.decode_control(value))
            elif input_id not in self.warned:
                self.warned.add(input_id)
                log.warning(
                    "ignoring input %r: not a recorded stream (recorded: %s)",
                    input_id,
                    ", ".join(sorted(self.streams)),
                )
        except codec.ContractError as err:
            self.reject(input_id, str(err))

    def on_part(self, input_id: str, value: Any, metadata: dict[str, Any]) -> None:
        stamp = codec.FrameStamp.from_metadata(metadata)
        part = self.decode(input_id, value, metadata)
        frames, refusal = self.assembler.add(input_id, stamp, part)
        if refusal:
            self.reject(input_id, refusal)
        for frame in frames:
            self.release(frame)
        self.check_silent_inputs()

    def release(self, frame: Frame) -> None:
        """Hand a whole frame to the sequencer and writer; it is acknowledged once taken."""
        self.dispatch(self.sequencer.on_frame(frame))
        if self.buffer_frames is None and frame.parts:
            size = sum(part.nbytes for part in frame.parts.values())
            fits = min(self.config.buffer_mb * 2**20 // size, int(BUFFER_S * self.fps))
            self.buffer_frames = max(2 * c.CREDIT_WINDOW, fits)
        self.released = max(self.released, frame.number)
        self.thread.commands.put(Taken(frame.number))

    def send_ack(self) -> None:
        """Credits: frames the writer has handled, plus a bounded buffer ahead of it (frames
        wait there while LeRobot loads, or while the writer saves an episode)."""
        if self.acker is None:
            return
        if self.released <= self.acker.taken:
            self.acker.refresh()  # a lost ack must not leave the sim holding
            return
        ahead = self.buffer_frames or 2 * c.CREDIT_WINDOW
        frame = min(self.released, self.writer.stats.taken + ahead)
        if frame > self.acker.taken:
            self.acker.take(frame)

    def check_silent_inputs(self) -> None:
        """A wired stream that never delivers (e.g. a camera the simulator does not render)
        would make every frame incomplete: say so once, clearly, instead of discarding episodes.
        """
        watermark = self.assembler.watermark
        silent = [s for s in self.layout.streams if s not in watermark and s not in self.closed]
        if silent and len(watermark) and self.assembler.newest > SILENT_AFTER_S * self.fps:
            self.error = (
                f"input(s) {', '.join(silent)} sent nothing during the first "
                f"{self.assembler.newest} frames while {', '.join(sorted(watermark))} did: does "
                "the simulator produce them (CAMERAS)? Remove unused inputs from the recorder"
            )

    def decode(self, input_id: str, value: Any, metadata: dict[str, Any]) -> np.ndarray:
        if input_id.startswith(c.IMAGE_PREFIX):
            part = codec.decode_image(value, metadata, input_id)  # zero-copy view
        elif input_id in JOINT_INPUTS:
            part = codec.decode_joints(value, input_id)
        else:
            part = decode_vector(value, input_id)
        shape = self.shapes.setdefault(input_id, part.shape)
        if part.shape != shape:
            raise codec.ContractError(
                f"{input_id}: shape {part.shape} differs from the first message's {shape}"
            )
        return part

    def on_episode(self, value: Any, metadata: dict[str, Any]) -> None:
        event = codec.decode_episode(value, metadata)
        if isinstance(event, codec.EpisodeStart):
            self.fps = event.fps
            self.assembler.horizon = max(self.assembler.horizon, 10 * self.fps)
            self.dispatch(self.sequencer.on_start(event))
        else:
            self.dispatch(self.sequencer.on_end(event))

    def on_control(self, command: str) -> None:
        # The simulator owns episode state and reports the outcome of every command in its
        # episode events; the recorder follows those, so both agree on every frame.
        log.info("control %r seen; the simulator's episode events will carry it out", command)

    def on_closed(self, input_id: str) -> None:
        self.closed.add(input_id)
        if input_id in self.streams:
            for frame in self.assembler.close(input_id):
                self.release(frame)
        if self.streams | {c.EPISODE} <= self.closed and not self.session_over:
            log.info("the simulator's outputs closed: finishing")
            self.finish_inputs()

    def reject(self, input_id: str, why: str) -> None:
        self.rejected += 1
        if self.rejected <= 5 or self.rejected % 100 == 0:
            log.error("rejected %s message #%d: %s", input_id, self.rejected, why)

    # --- towards the writer ---
    def dispatch(self, commands: list[WriterCommand]) -> None:
        for message in self.sequencer.messages:
            log.warning("%s", message)
        self.sequencer.messages.clear()
        for command in commands:
            if self.session_over:
                return
            self.thread.commands.put(command)
            if isinstance(command, EndEpisode) and command.last:
                self.session_over = True

    def finish_inputs(self) -> None:
        """No more input will come: resolve what is pending and let the writer finish."""
        for frame in self.assembler.flush():
            self.release(frame)
        self.dispatch(self.sequencer.flush())
        self.session_over = True

    def stop_simulator(self, why: str) -> None:
        if c.CONTROL in self.outputs and not self.stop_sent:
            self.stop_sent = True
            log.info("asking the simulator to stop: %s", why)
            self.link.send(c.CONTROL, codec.encode_control(c.CONTROL_STOP))

    # --- progress ---
    def status(self, state: str) -> RecorderStatus:
        stats = self.writer.stats
        counters = self.sequencer.counters
        now = time.monotonic()
        pauses = stats.save_times_s
        return RecorderStatus(
            state=self.state_name(state),
            root=str(self.config.root),
            repo_id=self.config.repo_id,
            episodes=stats.dataset_episodes,
            episodes_goal=self.config.num_episodes,
            saved=stats.session_saved,
            discarded=stats.session_discarded,
            episode_index=stats.episode_index,
            episode_frames=stats.episode_frames,
            frames_written=stats.frames_written,
            fps=round(self.rate.update(now, stats.frames_written), 2),
            backlog_frames=self.backlog(),
            frames_lost=counters.frames_lost + counters.orphans,
            frames_duplicated=counters.frames_duplicated + self.assembler.counters.duplicates,
            rejected_messages=self.rejected,
            pause_s_last=round(pauses[-1], 3) if pauses else 0.0,
            pause_s_max=round(max(pauses), 3) if pauses else 0.0,
        )

    def state_name(self, state: str) -> str:
        stats = self.writer.stats
        if state == "recording" and not stats.ready:
            return "loading LeRobot (frames are buffered)"
        return "saving" if stats.saving and state == "recording" else state

    def backlog(self) -> int:
        """Frames handed to the writer thread and not yet handled by it."""
        return max(0, self.released - self.writer.stats.taken)

    def report(self, state: str, force: bool = False) -> None:
        now = time.monotonic()
        if self.writer.stats.ready and not self.ready_announced:
            self.ready_announced = True  # the operator may have seen the sim hold until now
            print(
                f"[dora-sim-recorder] ready: LeRobot loaded in {now - self.started:.1f} s, "
                f"recording ({self.backlog()} frames to catch up)",
                flush=True,
            )
        if not force and now - self.last_status < STATUS_PERIOD_S:
            return
        self.last_status = now
        status = self.status(state)
        if c.STATUS in self.outputs:
            self.link.send(c.STATUS, codec.encode_text(status.to_json()))
        if force or now - self.last_console >= CONSOLE_PERIOD_S:
            self.last_console = now
            print(status.line(), flush=True)
        full = self.buffer_frames is not None and status.backlog_frames >= self.buffer_frames
        if full and self.writer.stats.ready and now - self.last_behind_warning > 10.0:
            self.last_behind_warning = now
            log.warning(
                "the writer cannot keep up (%d frames behind, the buffer is full): the "
                "simulator holds for it (nothing is dropped); use smaller images, fewer "
                "cameras or a faster VCODEC (h264)",
                status.backlog_frames,
            )

    # --- the loop ---
    def run(self) -> int:
        self.thread.start()
        user_stop = False
        while not self.session_over:
            if self.failed() or self.writer.stats.goal_reached:
                break
            waiting = self.acker is not None and self.released > self.acker.taken
            try:
                event = self.link.next(timeout=ACK_POLL_S if waiting else 0.5)
            except ContractVersionError as err:
                self.error = str(err)
                break
            if event.kind == INPUT:
                self.on_input(event.id, event.value, event.metadata)
            elif event.kind == CLOSED:
                self.on_closed(event.id)
            elif event.ends:
                user_stop = event.kind == STOP
                if user_stop:
                    self.take_queued_inputs()
                self.finish_inputs()
            self.send_ack()
            self.report("recording")
        return self.finish(user_stop)

    def take_queued_inputs(self) -> None:
        """After a STOP, the inputs dora had already queued: an episode that ended just before
        a Ctrl-C keeps its last frames and its end event, and is saved."""
        deadline = time.monotonic() + STOP_DRAIN_S
        while time.monotonic() < deadline:
            try:
                event = self.link.next(timeout=0.05)
            except ContractVersionError:
                return
            if event.kind != INPUT:  # nothing more queued, or the stream closed
                return
            self.on_input(event.id, event.value, event.metadata)

    def failed(self) -> bool:
        return self.error is not None or self.thread.error is not None or not self.thread.is_alive()

    def finish(self, user_stop: bool) -> int:
        self.stop_if_goal_reached()
        deadline = time.monotonic() + STOP_BUDGET_S if user_stop else None
        self.writer.deadline = time.monotonic() if self.error else deadline
        self.thread.push = self.thread.push and not user_stop
        self.thread.commands.put(None)
        while self.thread.is_alive():
            self.thread.join(timeout=0.2)
            if deadline is None:
                try:
                    stop = self.link.next(timeout=0.01).kind == STOP
                except ContractVersionError:
                    stop = False  # already refused; finishing what is saved goes on
                if stop:
                    deadline = time.monotonic() + STOP_BUDGET_S
                    self.writer.deadline = deadline
                    self.thread.push = False
            elif time.monotonic() > deadline + 1.0:
                log.error(
                    "the writer did not finish in time; unsaved episodes are lost, the "
                    "dataset on disk is intact"
                )
                break
            self.report("finishing")
        self.stop_if_goal_reached()
        error = self.error or self.thread.error
        if error is not None:
            log.error("%s", error)
            self.stop_simulator("the recorder failed")
            self.report("failed", force=True)
            return 1
        self.report("finished", force=True)
        print_summary(self.config, self.writer)
        return 0

    def stop_if_goal_reached(self) -> None:
        stats = self.writer.stats
        if stats.goal_reached:
            self.stop_simulator(
                f"the dataset holds {stats.dataset_episodes} episodes "
                f"(NUM_EPISODES={self.config.num_episodes})"
            )


def print_summary(config: RecorderConfig, writer: DatasetWriter) -> None:
    stats = writer.stats
    root, repo = config.root, config.repo_id
    print(
        f"[dora-sim-recorder] {root}: {stats.dataset_episodes} episodes, "
        f"{stats.dataset_frames} frames ({stats.session_saved} saved, {stats.session_discarded} "
        "discarded this session)",
        flush=True,
    )
    if stats.dataset_episodes:
        print(
            f"  view:   lerobot-dataset-viz --repo-id {repo} --root {root} --episode-index 0\n"
            f"  train:  lerobot-train --dataset.repo_id={repo} --dataset.root={root} "
            "--policy.type=act --policy.push_to_hub=false\n"
            f"  resume: RESUME_RECORDING=1 REPO_ID={repo} DATASET_ROOT={root} "
            "dora run <the record dataflow, e.g. dataflows/dataflow-record-expert.yaml>",
            flush=True,
        )


def check_root(config: RecorderConfig) -> None:
    """Refuse, before anything is written, what would overwrite or confuse an existing dataset."""
    root = config.root
    if root.exists() and not config.resume:
        raise StoreError(
            f"{root} already exists: set RESUME_RECORDING=1 to continue it, or "
            "choose another DATASET_ROOT (nothing was overwritten)"
        )
    pending = (config.work_dir / "commit.json").exists()
    if config.resume and not (root / "meta" / "info.json").is_file() and not pending:
        raise StoreError(
            f"RESUME_RECORDING=1 but there is no dataset at {root} (meta/info.json missing)"
        )
    if not root.exists() and not config.resume and pending:
        raise StoreError(
            f"the first save into {root} was interrupted; RESUME_RECORDING=1 "
            f"completes it (or delete {config.work_dir} to drop it)"
        )


def claim(config: RecorderConfig) -> DatasetWriter:
    """What can fail fast, before the node connects to dora (a node that exits before
    connecting makes ``dora run`` fail at once with its message): the configuration, the
    dataset directory and its lock. LeRobot is imported later, in the writer thread, so the
    graph never waits for it."""
    check_root(config)
    store = DatasetStore(config.root, config.work_dir)
    store.acquire()  # also proves the directory is writable
    return DatasetWriter(config, store)


def main(argv: list[str] | None = None, node: Any = None) -> int:
    start_node("dora-sim-recorder", __doc__, argv, level=logging.WARNING)
    # SVT-AV1 prints ~15 banner lines per encoder (two per episode and camera); errors only.
    os.environ.setdefault("SVT_LOG", "1")
    # LeRobot logs every codec choice at INFO on the root logger: keep the console for progress.
    log.setLevel(logging.INFO)
    try:
        config = load_config()
        writer = claim(config)
    except (ConfigError, StoreError) as err:
        log.error("%s", err)
        return 2
    codec.warm_up()
    link = NodeLink(node if node is not None else Node())
    node_config = link.node_config()
    outputs = set(node_config.get("outputs") or [])
    try:
        layout = layout_from_inputs((node_config.get("inputs") or {}).keys(), config)
    except ConfigError as err:
        log.error("%s", err)
        if c.CONTROL in outputs:
            link.send(c.CONTROL, codec.encode_control(c.CONTROL_STOP))
        writer.close()
        return 2
    log.info(
        "recording %s into %s (%s, %s episodes, export %s, codec %s)%s",
        ", ".join(layout.streams),
        config.root,
        config.repo_id,
        config.num_episodes or "unlimited",
        config.export_mode,
        config.vcodec,
        " — resuming" if config.resume else "",
    )
    code = RecorderNode(link, writer, layout, outputs).run()
    if node is None:  # a real dora node (tests pass a MockNode and go on running)
        del link  # dora's node is dropped here: it tells the daemon its outputs are done
        leave(code)
    return code


def leave(code: int) -> NoReturn:
    """Exit without the interpreter's teardown. With torch, LeRobot and HF datasets loaded it
    takes 4-5 s on a slow 2-core machine (measured: 4.7 s against 0.17 s), out of the 10 s dora
    gives between STOP and SIGTERM. Everything is saved, closed and flushed by now, except
    after a writer that overran the stop deadline: that daemon thread ends as under a kill,
    which the store is built for (and which the teardown would not have waited for either)."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
