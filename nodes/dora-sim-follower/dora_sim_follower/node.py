"""The dora side of the follower: one frame per timer tick, the contract's outputs, every fault.

Per tick, while the arm is connected: read it (joints and cameras), apply queued episode
commands, write the latest valid action (capped by ``max_relative_target``), then emit the frame
— ``applied_action`` first (a simulator mirroring the arm takes it as its action and this
frame's ``observation.state`` as its tick), ``observation.state``, the camera images — with the
contract's counters. A real arm cannot pause: each frame carries the wall clock, ``read_at_ns``
(when its bus read began) and ``wall_time`` (seconds since its episode or reset phase began),
beside the contract's nominal ``sim_time`` = ``episode_frame / fps`` (the time LeRobot stamps
dataset frames with). ``frame`` counts the frames emitted: a tick that yields none (a read that
failed on every retry, the arm away) is a tick missed, as one dora dropped while the node was
busy; both show as late ticks on ``status`` and in the frames' wall clock, never as a made-up
reading. An episode's end reports its real duration as ``wall_time``.

While the arm is unusable (no port, no calibration, unplugged) the node emits no frames and
keeps trying, as the leader node does. An episode the arm was lost in is ended at once as
``rerecord`` (discarded, and recorded again when the arm is back). Malformed actions (NaN, out of
range) are rejected: the arm holds the last good one.

An action that names the frame it is meant for (``for_frame``) is held until that frame, so a
sender may send ahead (the replay node does, to stay exact when a message is a tick late); one
that comes after a newer one was applied is dropped, and both cases are counted.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.episode import EpisodeMachine, EpisodeOutcome
from dora_sim.link import CLOSED, INPUT, NodeLink
from dora_sim.loop_stats import LoopStats
from dora_sim.sim_node import linger
from dora_sim_follower.cameras.configs import GRAPH_CAMERA
from dora_sim_follower.config import FollowerConfig
from dora_sim_follower.device import FollowerDevice, Observation
from dora_sim_follower.status import ARM_STATUS, FollowerStatus
from dora_sim_leader.device import Disconnected, NotReady, ReadFailed
from dora_sim_leader.node import (
    FAILING_READS_DISCONNECT_S,
    POLL_S,
    REPEAT_MESSAGE_S,
    STATUS_PERIOD_S,
    Backoff,
)
from dora_sim_leader.status import RollingWindow, peak_rss_mb

log = logging.getLogger("dora-sim-follower")

MAX_SCHEDULED = 300  # commands held for a later frame (10 s at 30 Hz): a bound, not a buffer


class FollowerNode:
    def __init__(
        self,
        link: NodeLink,
        device: FollowerDevice,
        machine: EpisodeMachine,
        config: FollowerConfig,
        started: float,
    ) -> None:
        self.link = link
        self.device = device
        self.machine = machine
        self.config = config
        self.started = started  # time.monotonic() at process start, for the startup time
        self.stats = LoopStats(config.fps)
        self.frame = 0  # the next frame's number: frames emitted so far
        self.target: np.ndarray | None = None  # the latest valid action
        self.target_read_at: int | None = None  # its MD_READ_AT (a leader's reading time)
        self.target_for = -1  # the frame the target was meant for (-1: "as soon as it comes")
        self.scheduled: dict[int, tuple[np.ndarray, int | None]] = {}  # for_frame -> command
        self.late_commands = 0  # applied after the frame they were meant for
        self.dropped_commands = 0  # came after a newer command was applied
        self.applied: np.ndarray | None = None  # what the goal registers hold
        self.success_marked = False  # HAND_SUCCESS: the operator said the task succeeded
        self.start_pending = False  # an episode began while the arm was away: announce it later
        self.phase_start_ns = 0  # wall clock of the current phase's first frame
        self.reset_frame = 0  # frames emitted in the current reset phase
        self.episode_seed = machine.seed
        self.backoff = Backoff()
        self.next_attempt = 0.0
        self.failing_since: float | None = None
        self.disconnects = 0
        self.reconnects = 0
        self.ever_connected = False
        self.startup_s = 0.0
        self.last_error = ""
        self.last_message = ("", 0.0)
        self.bus_ms = RollingWindow()
        self.next_status = 0.0
        self.reported_caps = 0
        self.warned_inputs: set[str] = set()

    # --- the loop ------------------------------------------------------------------------------
    def run(self) -> None:
        """Until the session ends (episode count, ``stop``) or dora stops the node; the arm's
        torque goes off on the way out, whatever ends the loop (an exception included)."""
        try:
            for event in self.link.events():
                if event.kind == INPUT:
                    self.on_input(event.id, event.value, event.metadata)
                    if self.machine.stopped:
                        self.emit_status()
                        linger(self.link)
                        return
                elif event.kind == CLOSED:
                    log.info("input %r closed", event.id)
            self.emit_status()  # the session's last counts (lost if dora already said STOP)
        finally:
            self.device.close()

    def on_input(self, input_id: str, value: Any, metadata: dict[str, Any]) -> None:
        try:
            if input_id == c.TICK:
                self.on_tick()
            elif input_id == c.ACTION:
                self.on_action(codec.decode_joints(value, c.ACTION).copy(), metadata)
            elif c.is_control_input(input_id):
                self.on_control(codec.decode_control(value))
            elif input_id.startswith(c.IMAGE_PREFIX):
                camera = input_id.removeprefix(c.IMAGE_PREFIX)
                image = codec.decode_image(value, metadata, input_id)
                try:
                    known = self.device.push_frame(camera, image)
                except ValueError as err:
                    self.warn_once(input_id, f"{err}: its frames are dropped")
                    return
                if not known:
                    self.warn_once(input_id, f"FOLLOWER_CAMERAS has no {camera!r} camera of type"
                                   f" {GRAPH_CAMERA}: its frames are dropped")  # fmt: skip
            else:
                self.warn_once(input_id, "ignoring an unknown input (known: tick, action,"
                               " control, observation.images.<graph camera>)")  # fmt: skip
        except codec.ContractError as err:
            self.stats.rejected_messages += 1
            if self.stats.rejected_messages <= 5 or self.stats.rejected_messages % 100 == 0:
                log.error("rejected %s message #%d: %s (the arm holds the last good action)",
                          input_id, self.stats.rejected_messages, err)  # fmt: skip

    def on_action(self, joints: np.ndarray, metadata: dict[str, Any]) -> None:
        for_frame = codec.CommandStamp.from_metadata(metadata).for_frame
        command = (joints, metadata.get(c.MD_READ_AT))
        if for_frame is None:
            self.scheduled.clear()
            self.set_target(command, -1)
        elif for_frame > self.frame:  # self.frame: the next tick's
            if len(self.scheduled) < MAX_SCHEDULED:
                self.scheduled[for_frame] = command
        elif for_frame >= self.target_for:
            self.late_commands += int(for_frame < self.frame)
            self.set_target(command, for_frame)
        else:
            self.dropped_commands += 1

    def take_due_command(self) -> None:
        """The newest held command whose frame has come becomes the target."""
        due = [frame for frame in self.scheduled if frame <= self.frame]
        if due:
            newest = max(due)
            self.set_target(self.scheduled[newest], newest)
            for frame in due:
                del self.scheduled[frame]

    def set_target(self, command: tuple[np.ndarray, int | None], for_frame: int) -> None:
        self.target, self.target_read_at = command
        self.target_for = for_frame

    def on_control(self, command: str) -> None:
        if (
            self.config.hand_success
            and command == c.CONTROL_FINISH
            and self.machine.phase == c.PHASE_EPISODE
        ):
            self.success_marked = True  # the episode ends as a success after this tick's frame
        else:
            self.machine.command(command)

    # --- the tick ------------------------------------------------------------------------------
    def on_tick(self) -> None:
        now = time.monotonic()
        try:
            if self.device.connected:
                self.step(now)
            elif now >= self.next_attempt:
                self.try_connect(now)
        finally:
            self.stats.done(time.monotonic() - now)
        if now >= self.next_status:
            self.emit_status()

    def step(self, now: float) -> None:
        """One frame, or none when the arm did not answer."""
        try:
            obs = self.device.observe()
        except ReadFailed as err:
            self.read_failed(now, str(err))
            return
        except Disconnected as err:
            self.lose_connection(now, f"port failed: {err}")
            return
        self.failing_since = None
        self.bus_ms.add(obs.bus_s * 1e3)
        start, ended = self.machine.begin_tick()
        if ended is not None:
            self.emit_episode_end(ended, self.frame, obs.read_at_ns)
        if self.machine.stopped:
            return
        if start or self.start_pending:
            self.emit_episode_start(obs.read_at_ns)
        self.take_due_command()
        if self.target is not None:
            try:
                self.applied = self.device.act(self.target)
            except ReadFailed as err:  # not written: the servos hold the previous goal
                if self.read_failed(now, str(err)):
                    return
            except Disconnected as err:
                self.lose_connection(now, f"port failed: {err}")
                return
        self.stats.tick(now)  # the loop's rate and lateness count frames, not tick messages
        self.emit_frame(obs)
        self.frame += 1
        if self.machine.phase == c.PHASE_RESET:
            self.reset_frame += 1
        end = self.machine.end_tick(self.success_marked)
        if end is not None:
            self.emit_episode_end(end, self.frame, obs.read_at_ns)

    def read_failed(self, now: float, reason: str) -> bool:
        """Count a failed transaction; True when failures lasted long enough to mean the arm
        is gone (the connection is then dropped)."""
        self.last_error = reason
        self.failing_since = self.failing_since or now
        if now - self.failing_since <= FAILING_READS_DISCONNECT_S:
            return False
        self.lose_connection(now, f"no valid bus transaction for {FAILING_READS_DISCONNECT_S} s")
        return True

    def try_connect(self, now: float) -> None:
        try:
            hold = self.device.connect()
        except NotReady as err:
            self.last_error = str(err).splitlines()[0]
            self.say_once(str(err), now)
            self.next_attempt = now + (POLL_S if err.cheap else self.backoff.next_delay())
            return
        self.applied = hold
        self.backoff.reset()
        self.failing_since = None
        if self.ever_connected:
            self.reconnects += 1
            log.warning("follower arm back on %s: torque on, holding its pose; it moves toward"
                        " the latest action, at most %s per tick", self.config.port,
                        self.config.max_relative_target)  # fmt: skip
        else:
            self.startup_s = time.monotonic() - self.started
            log.info("follower arm %r connected on %s, torque on, holding its pose (%.2f s after"
                     " start, peak RSS %.0f MB); max relative target %s per tick",
                     self.config.id, self.config.port, self.startup_s, peak_rss_mb(),
                     self.config.max_relative_target)  # fmt: skip
        self.ever_connected = True
        self.last_message = ("", 0.0)
        self.emit_status()

    def lose_connection(self, now: float, reason: str) -> None:
        self.device.close()
        self.disconnects += 1
        self.last_error = reason
        log.error("follower arm lost (%s); reconnecting to %s", reason, self.config.port)
        if self.machine.phase == c.PHASE_EPISODE:
            self.discard_episode()
        self.backoff.reset()
        self.next_attempt = now + POLL_S
        self.emit_status()

    def discard_episode(self) -> None:
        """End the episode in progress now, as discarded: its frames stopped with the arm."""
        self.machine.command(c.CONTROL_RERECORD)
        start, ended = self.machine.begin_tick()
        if ended is not None:
            self.emit_episode_end(ended, self.frame, time.time_ns())
            log.warning("episode %d discarded: the arm was lost during it; it is recorded again"
                        " once the arm is back", ended.episode_index)  # fmt: skip
        self.start_pending = start

    def say_once(self, message: str, now: float) -> None:
        """Log the full explanation when it changes, then only every REPEAT_MESSAGE_S."""
        previous, when = self.last_message
        if message != previous or now - when > REPEAT_MESSAGE_S:
            log.error("%s", message)
            self.last_message = (message, now)

    def warn_once(self, input_id: str, message: str) -> None:
        if input_id not in self.warned_inputs:
            self.warned_inputs.add(input_id)
            log.warning("input %r: %s", input_id, message)

    # --- outputs -------------------------------------------------------------------------------
    def stamp(self) -> codec.FrameStamp:
        episode = self.machine.phase == c.PHASE_EPISODE
        index = self.machine.episode_frame if episode else self.reset_frame
        return codec.FrameStamp(
            frame=self.frame,
            episode_index=self.machine.episode_index,
            episode_frame=index,
            sim_time=index / self.config.fps,
            phase=self.machine.phase,
        )

    def emit_frame(self, obs: Observation) -> None:
        md = self.stamp().to_metadata()
        md[c.MD_WALL_TIME] = (obs.read_at_ns - self.phase_start_ns) / 1e9
        md[c.MD_SUCCESS] = self.success_marked
        md[c.MD_REWARD] = 1.0 if self.success_marked else 0.0
        md[c.MD_READ_AT] = obs.read_at_ns
        md[c.MD_SENT_AT] = time.time_ns()
        applied_md = dict(md)
        if self.target_read_at is not None:
            applied_md[c.MD_ACTION_READ_AT] = self.target_read_at
        self.link.send(c.APPLIED_ACTION, codec.encode_joints(self.applied), applied_md)
        self.link.send(c.STATE, codec.encode_joints(obs.joints), md)
        for camera, image in obs.images.items():
            pixels, image_md = codec.encode_image(image)
            self.link.send(c.image_topic(camera), pixels, {**md, **image_md})

    def emit_episode_start(self, read_at_ns: int) -> None:
        self.start_pending = False
        self.success_marked = False
        self.phase_start_ns = read_at_ns
        self.episode_seed = self.machine.seed
        event = codec.EpisodeStart(
            frame=self.frame,
            episode_index=self.machine.episode_index,
            task=self.config.task,
            seed=self.episode_seed,
            fps=self.config.fps,
        )
        self.link.send(c.EPISODE, *codec.encode_episode(event))
        keys = "finish (Space): success; rerecord (Ctrl): discard, redo; time limit: failure"
        log.info("episode %d started: %s%s", event.episode_index, event.task,
                 f" ({keys})" if self.config.hand_success else "")  # fmt: skip

    def emit_episode_end(self, outcome: EpisodeOutcome, frame: int, now_ns: int) -> None:
        """``frame``: the first frame that belongs to no episode."""
        wall = (now_ns - self.phase_start_ns) / 1e9
        self.phase_start_ns = now_ns
        self.reset_frame = 0
        event = codec.EpisodeEnd(
            frame=frame,
            episode_index=outcome.episode_index,
            task=self.config.task,
            seed=self.episode_seed,
            fps=self.config.fps,
            success=outcome.success,
            reason=outcome.reason,
            num_frames=outcome.num_frames,
            sim_time=outcome.num_frames / self.config.fps,
            wall_time=wall,
            last=outcome.last,
        )
        self.link.send(c.EPISODE, *codec.encode_episode(event))
        goal = self.machine.config.num_episodes or "∞"
        verdict = "SUCCESS" if event.success else "failure"
        print(
            f"[dora-sim-follower] episode {self.machine.completed}/{goal}: {verdict}"
            f" ({event.reason}), {event.num_frames} frames in {wall:.2f} s"
            f" ({event.num_frames / wall if wall > 0 else 0:.1f} Hz)",
            flush=True,
        )

    def emit_status(self) -> None:
        self.next_status = time.monotonic() + STATUS_PERIOD_S
        loop = self.stats.status(self.frame, self.machine.episode_index, self.machine.phase)
        loop.clipped_actions = self.device.counters.capped
        self.link.send(c.STATUS, codec.encode_text(loop.to_json()), {c.MD_FRAME: self.frame})
        self.link.send(ARM_STATUS, codec.encode_text(self.status().to_json()))
        capped = self.device.counters.capped - self.reported_caps
        if capped:
            log.warning("max_relative_target held %d target(s) back in the last %.0f s",
                        capped, STATUS_PERIOD_S)  # fmt: skip
            self.reported_caps = self.device.counters.capped

    def status(self) -> FollowerStatus:
        counters = self.device.counters
        return FollowerStatus(
            connected=self.device.connected,
            port=self.config.port,
            reads=counters.reads,
            writes=counters.writes,
            bus_ms_p50=round(self.bus_ms.percentile(50), 3),
            bus_ms_p99=round(self.bus_ms.percentile(99), 3),
            comm_errors=counters.comm_errors,
            recovered=counters.recovered,
            failed=counters.failed,
            camera_errors=counters.camera_errors,
            clipped=counters.clipped,
            capped=counters.capped,
            rejected_messages=self.stats.rejected_messages,
            late_commands=self.late_commands,
            dropped_commands=self.dropped_commands,
            stale_flushes=counters.stale_flushes,
            disconnects=self.disconnects,
            reconnects=self.reconnects,
            startup_s=round(self.startup_s, 3),
            rss_mb=round(peak_rss_mb(), 1),
            last_error=self.last_error,
        )
