"""The dora glue every simulator node shares: inputs, the tick, per-tick outputs, episode events.

A simulator node (MuJoCo, Isaac Lab, …) implements :class:`Simulator` and hands it to
:class:`SimNode` with an :class:`~dora_sim.episode.EpisodeMachine`; :func:`serve` runs the event
loop. The glue, not the simulator, owns the contract: counters, episode events, credits, status
and bad-input handling are therefore identical whatever the physics engine.

Two modes (``EVAL_MODE``): in ``realtime`` each tick applies the newest command and steps; in
``lockstep`` the sim emits a frame's observation, waits for the command meant for that frame
(``for_frame``), applies it and steps, then goes straight on to the next frame: the timer only
paces the start, the sim runs as fast as it and the command source allow, and the same seeds
give the same episodes whatever the host's speed.

Camera images go out as raw ``rgb8`` (zero-copy through dora's shared memory), or as JPEG with
``IMAGE_ENCODING=jpeg`` (``JPEG_QUALITY``, default 90): 20-45x fewer bytes for edges that cross
machines, where dora has no shared memory (:class:`ImageSettings`, ``docs/architecture.md``).

Imports only numpy and pyarrow (through :mod:`dora_sim.codec`; Pillow too when images are JPEG);
the dora node is injected, so ``dora.testing.MockNode`` drives it in tests.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.config import ConfigError, env_choice, env_int
from dora_sim.episode import EpisodeMachine, EpisodeOutcome
from dora_sim.flow import CreditGate
from dora_sim.link import CLOSED, INPUT, ContractVersionError, NodeLink
from dora_sim.loop_stats import LoopStats
from dora_sim.poses import quat_conjugate, quat_multiply

log = logging.getLogger("dora-sim")

HOLD_REPORT_S = 2.0  # a hold longer than this is printed (and again every HOLD_REPEAT_S)
HOLD_REPEAT_S = 5.0


class SimSettings(Protocol):
    """What the glue reads from a simulator's configuration."""

    task: str  # the simulator's task id (printed in the per-episode summary)
    fps: int
    cameras: tuple[str, ...]  # one output ``observation.images.<camera>`` each
    height: int  # every camera renders at this size
    width: int


@dataclass(frozen=True)
class ImageSettings:
    """How a simulator node puts its camera frames on the wire."""

    encoding: str = c.IMAGE_ENCODING  # one of contract.IMAGE_ENCODINGS
    quality: int = c.DEFAULT_JPEG_QUALITY  # JPEG quality 1-100 (jpeg only)

    def __post_init__(self) -> None:
        if self.encoding not in c.IMAGE_ENCODINGS:
            raise ConfigError(f"IMAGE_ENCODING={self.encoding!r}: expected one of "
                              f"{', '.join(c.IMAGE_ENCODINGS)}")  # fmt: skip
        if isinstance(self.quality, bool) or not isinstance(self.quality, int):
            raise ConfigError(f"JPEG_QUALITY={self.quality!r}: expected an integer 1-100")
        if not 1 <= self.quality <= 100:
            raise ConfigError(f"JPEG_QUALITY={self.quality}: expected 1-100")

    @classmethod
    def from_env(cls) -> ImageSettings:
        """``IMAGE_ENCODING`` (rgb8 | jpeg) and ``JPEG_QUALITY`` (1-100, default 90)."""
        return cls(
            env_choice("IMAGE_ENCODING", c.IMAGE_ENCODINGS, c.IMAGE_ENCODING),
            env_int("JPEG_QUALITY", c.DEFAULT_JPEG_QUALITY, minimum=1, maximum=100),
        )


class TaskInfo(Protocol):
    description: str  # natural-language task of the episodes (``task`` on EPISODE_START)


class Simulator(Protocol):
    """One simulated SO-101 scene, stepped exactly ``1/config.fps`` s per :meth:`step`.

    Joint vectors are in contract ("so101") units; conversion to the engine's radians happens
    inside the simulator, at its own boundary. The end effector is the contract's tool centre
    point (TCP, midway between the open jaw pads; see ``contract.EE_TARGET_FIELDS``).
    """

    config: SimSettings
    task: TaskInfo

    def reset(self, seed: int) -> None:
        """New scene for an episode, objects placed from ``seed``."""

    def set_action(self, action: np.ndarray) -> bool:
        """Hold a joint target; returns True if it had to be clipped to the joint limits."""

    def set_ee_target(self, target: np.ndarray) -> bool:
        """Hold the joint target that puts the TCP at ``target`` (``EE_TARGET_FIELDS``), solved
        with the simulator's own IK; False (previous target kept) when it cannot."""

    def jog(self, delta: np.ndarray) -> bool:
        """Integrate one tick of a Cartesian jog (``ee_delta``); False when IK failed."""

    def step(self) -> None:
        """Advance exactly one tick of sim time toward the current target."""

    def state(self) -> np.ndarray:
        """Measured joints, float32[6] so101 units."""

    def target_contract(self) -> np.ndarray:
        """The joint target being applied, float32[6] so101 units."""

    def render(self, camera: str, out: np.ndarray | None = None) -> np.ndarray:
        """HxWx3 uint8 image of the current state (into ``out`` when given)."""

    def ee_pose(self) -> np.ndarray:
        """TCP position xyz + quaternion wxyz (7 floats); x axis = approach, y = jaw axis."""

    def object_poses(self) -> dict[str, np.ndarray]:
        """Pose (7 floats) of each task object, by name."""

    def success(self) -> bool:
        """Does the task's success predicate hold on the current state?"""

    def close(self) -> None: ...


class FrameHook(Protocol):
    """Something that must see every frame, e.g. a viewer window."""

    def sync(self) -> None: ...


class SimNode:
    """Glue between dora events and a simulator; never dies on a bad message."""

    def __init__(
        self,
        node: Any,
        sim: Simulator,
        machine: EpisodeMachine,
        viewer: FrameHook | None = None,
        mode: str = c.REALTIME,
        images: ImageSettings | None = None,  # None: from the environment (ImageSettings.from_env)
    ):
        if mode not in c.EVAL_MODES:
            raise ValueError(f"EVAL_MODE={mode!r}: expected one of {', '.join(c.EVAL_MODES)}")
        self.mode = mode
        self.images = images if images is not None else ImageSettings.from_env()
        if self.images.encoding != c.IMAGE_ENCODING:
            log.info("camera images go out as %s (quality %d)", self.images.encoding,
                     self.images.quality)  # fmt: skip
        self.link = NodeLink(node)
        self.sim = sim
        self.machine = machine
        self.viewer = viewer
        self.frame = 0
        self.reset_frame = 0
        self.stats = LoopStats(sim.config.fps)
        self.gate = CreditGate()
        for input_id in self.link.node_config().get("inputs") or {}:
            if c.is_ack_input(input_id):
                self.gate.expect(input_id)
        self.jog: np.ndarray | None = None
        self.action_read_at: int | None = None  # MD_READ_AT of the command being applied
        self.frames: dict[str, np.ndarray] = {}  # one reusable render target per camera
        self.previous_ee: np.ndarray | None = None  # TCP pose of the previous frame
        self.jog_received = 0.0
        self.episode_wall_start = 0.0
        self.episode_seed = machine.seed
        self.hold_started: float | None = None
        self.hold_reported = 0.0
        self.last_status = 0.0
        self.warned_inputs: set[str] = set()
        # lockstep: the frame whose observation is out, waiting for its command
        self.pending: codec.FrameStamp | None = None
        self.pending_success = False
        self.commands: dict[int, tuple[str, np.ndarray, Any]] = {}  # for_frame -> command

    # --- inputs --------------------------------------------------------------------------------
    def on_input(self, input_id: str, value: Any, metadata: dict) -> None:
        try:
            if input_id == c.TICK:
                self.on_tick()
            elif input_id == c.ACTION:
                self.on_command(input_id, codec.decode_joints(value, c.ACTION), metadata)
            elif input_id == c.EE_TARGET:
                self.on_command(input_id, codec.decode_ee_target(value), metadata)
            elif input_id == c.EE_DELTA:
                self.jog = codec.decode_ee_delta(value).copy()
                self.jog_received = time.monotonic()
            elif c.is_control_input(input_id):
                self.machine.command(codec.decode_control(value))
            elif c.is_ack_input(input_id):
                self.gate.ack(input_id, codec.decode_ack(value))
            elif input_id not in self.warned_inputs:
                self.warned_inputs.add(input_id)
                log.warning("ignoring unknown input %r (known: tick, action, ee_target, "
                            "ee_delta, control, ack)", input_id)  # fmt: skip
        except codec.ContractError as err:
            self.stats.rejected_messages += 1
            if self.stats.rejected_messages <= 5 or self.stats.rejected_messages % 100 == 0:
                log.error("rejected %s message #%d: %s (holding the last good command)",
                          input_id, self.stats.rejected_messages, err)  # fmt: skip

    def on_command(self, kind: str, value: np.ndarray, metadata: dict) -> None:
        """A joint or Cartesian command: applied now, or (lockstep) kept for its frame."""
        for_frame = codec.CommandStamp.from_metadata(metadata).for_frame
        read_at = metadata.get(c.MD_READ_AT)
        if self.mode == c.LOCKSTEP and for_frame is not None:
            if for_frame >= self.frame:  # a command for a frame already stepped is stale
                self.commands[for_frame] = (kind, value.copy(), read_at)
            self.advance()
            return
        self.apply(kind, value, read_at)

    def apply(self, kind: str, value: np.ndarray, read_at: Any) -> None:
        if kind == c.ACTION:
            self.stats.clipped_actions += int(self.sim.set_action(value))
        else:
            self.stats.ik_failures += int(not self.sim.set_ee_target(value))
        self.action_read_at = read_at
        self.jog = None

    def on_closed(self, input_id: str) -> None:
        if c.is_ack_input(input_id):
            self.gate.closed(input_id)  # a consumer that finished no longer holds the sim

    # --- the tick --------------------------------------------------------------------------------
    def on_tick(self) -> None:
        if self.mode == c.LOCKSTEP:
            self.advance()  # the timer only paces: frames advance as their commands come
            return
        started = time.monotonic()
        if not self.may_begin(started):
            return
        self.stats.tick(started)
        try:
            if self.begin_frame():
                self.finish_frame()
        finally:
            self.stats.done(time.monotonic() - started)

    def advance(self) -> None:
        """Lockstep: emit a frame, wait for its command, step; as far as commands allow."""
        while not self.machine.stopped:
            started = time.monotonic()
            if self.pending is None:
                if not self.may_begin(started):
                    return
                self.stats.tick(started)
                if not self.begin_frame():
                    return
            if self.pending.phase != c.PHASE_EPISODE:  # reset phase: no command is awaited
                self.finish_frame()
                self.stats.done(time.monotonic() - started)
                continue
            command = self.commands.pop(self.frame, None)
            if command is None:
                return  # the next command (or tick) comes back here
            for stale in [f for f in self.commands if f < self.frame]:
                del self.commands[stale]
            self.apply(*command)
            self.finish_frame()
            self.stats.done(time.monotonic() - started)

    def may_begin(self, now: float) -> bool:
        """False (and the hold reported) while a lossless consumer is too far behind."""
        behind = self.gate.behind(self.frame)
        if behind:
            self.hold(behind, now)
            return False
        self.release_hold(now)
        return True

    def hold(self, behind: dict[str, int], now: float) -> None:
        """Sim time pauses while a lossless consumer catches up; said, never hidden."""
        self.stats.held_ticks += 1
        if self.hold_started is None:
            self.hold_started = self.hold_reported = now
        elif now - self.hold_reported >= (HOLD_REPORT_S if self.hold_reported == self.hold_started
                                          else HOLD_REPEAT_S):  # fmt: skip
            self.hold_reported = now
            who = ", ".join(f"{k} ({v} frames behind)" for k, v in sorted(behind.items()))
            print(f"[dora-sim] holding frame {self.frame} for {now - self.hold_started:.1f} s: "
                  f"waiting for {who}", flush=True)  # fmt: skip
        if now - self.last_status >= 1.0:
            self.emit_status()

    def release_hold(self, now: float) -> None:
        if self.hold_started is None:
            return
        held = now - self.hold_started
        self.stats.held_s += held
        self.stats.resume(now)  # the paused wall time is neither late ticks nor lag
        if held >= HOLD_REPORT_S:
            print(f"[dora-sim] resumed at frame {self.frame} after holding {held:.1f} s",
                  flush=True)  # fmt: skip
        self.hold_started = None

    def begin_frame(self) -> bool:
        """Episode bookkeeping and the frame's observation; False when the session is over."""
        start, ended = self.machine.begin_tick()
        if ended is not None:
            self.emit_episode_end(ended)
        if self.machine.stopped:
            return False
        if start:
            self.episode_seed = self.machine.seed
            self.sim.reset(self.episode_seed)
            self.reset_frame = 0
            self.jog = None
            self.previous_ee = None
            self.emit_episode_start()
        if self.jog is not None:
            if time.monotonic() - self.jog_received <= c.EE_DELTA_HOLD_S:
                self.stats.ik_failures += int(not self.sim.jog(self.jog))
            else:
                self.jog = None  # a lost key-up must not leave the arm drifting

        self.pending = self.stamp()
        self.pending_success = self.sim.success()
        self.emit_observation(self.pending, self.pending_success)
        return True

    def finish_frame(self) -> None:
        """The command applied to the pending frame, then one tick of physics."""
        assert self.pending is not None
        md = self.frame_metadata(self.pending, self.pending_success)
        if self.action_read_at is not None:
            md[c.MD_ACTION_READ_AT] = self.action_read_at
        self.link.send(c.APPLIED_ACTION, codec.encode_joints(self.sim.target_contract()), md)
        if self.viewer is not None:
            self.viewer.sync()
        self.sim.step()
        self.frame += 1
        self.pending = None
        if self.machine.phase == c.PHASE_RESET:
            self.reset_frame += 1
        end = self.machine.end_tick(self.pending_success)
        if end is not None:
            self.emit_episode_end(end)
        if self.frame % self.sim.config.fps == 0:
            self.emit_status()

    def stamp(self) -> codec.FrameStamp:
        episode = self.machine.phase == c.PHASE_EPISODE
        index = self.machine.episode_frame if episode else self.reset_frame
        return codec.FrameStamp(
            frame=self.frame,
            episode_index=self.machine.episode_index,
            episode_frame=index,
            sim_time=index / self.sim.config.fps,
            phase=self.machine.phase,
        )

    # --- outputs -------------------------------------------------------------------------------
    @staticmethod
    def frame_metadata(stamp: codec.FrameStamp, success: bool) -> dict[str, Any]:
        md = stamp.to_metadata()
        md[c.MD_SENT_AT] = time.time_ns()
        md[c.MD_SUCCESS] = success
        md[c.MD_REWARD] = 1.0 if success else 0.0
        return md

    def emit_observation(self, stamp: codec.FrameStamp, success: bool) -> None:
        """What the frame shows before its command: state, end effector, cameras, objects."""
        md = self.frame_metadata(stamp, success)
        self.link.send(c.STATE, codec.encode_joints(self.sim.state()), md)
        self.link.send(c.EE_STATE, codec.encode_ee_state(self.ee_state()), md)
        for camera in self.sim.config.cameras:
            self.send_image(camera, md)
        scene, scene_md = codec.encode_scene(self.sim.object_poses())
        self.link.send(c.SCENE, scene, {**md, **scene_md})

    def ee_state(self) -> np.ndarray:
        """TCP pose and its change since the previous frame (zero at an episode's start)."""
        pose = np.asarray(self.sim.ee_pose(), dtype=np.float64)
        previous = pose if self.previous_ee is None else self.previous_ee
        self.previous_ee = pose
        delta_q = quat_multiply(pose[3:], quat_conjugate(previous[3:]))
        return np.r_[pose, pose[:3] - previous[:3], delta_q]

    def send_image(self, camera: str, md: dict[str, Any]) -> None:
        """Render, then copy once into a dora shared-memory sample that readers map zero-copy.

        Rendering straight into the sample would save that memcpy (~20 µs) but the sample's
        metadata is fixed when it is allocated, so ``sent_at_ns`` would include the render time.
        With ``IMAGE_ENCODING=jpeg`` the frame is compressed and its JPEG file sent instead.
        """
        cfg = self.sim.config
        frame = self.sim.render(camera, out=self.frames.get(camera))
        self.frames[camera] = frame
        if self.images.encoding != c.IMAGE_ENCODING:
            jpeg, jpeg_md = codec.encode_image(frame, self.images.encoding, self.images.quality)
            self.link.send(c.image_topic(camera), jpeg, {**md, **jpeg_md,
                                                        c.MD_SENT_AT: time.time_ns()})  # fmt: skip
            return
        image_md = {**md, c.MD_HEIGHT: cfg.height, c.MD_WIDTH: cfg.width,
                    c.MD_ENCODING: c.IMAGE_ENCODING, c.MD_SENT_AT: time.time_ns()}  # fmt: skip
        topic = c.image_topic(camera)
        with self.link.send_raw(topic, frame.nbytes, image_md) as buffer:
            if buffer is None:  # no shared memory (dora.testing.MockNode)
                self.link.send(topic, codec.encode_image(frame.copy())[0], image_md)
                return
            view = np.frombuffer(buffer, np.uint8)
            view[:] = frame.reshape(-1)
            del view  # the buffer must have no consumers left when the sample is sent

    def emit_episode_start(self) -> None:
        self.episode_wall_start = time.monotonic()
        event = codec.EpisodeStart(
            frame=self.frame,
            episode_index=self.machine.episode_index,
            task=self.sim.task.description,
            seed=self.episode_seed,
            fps=self.sim.config.fps,
            randomization=self.episode_randomization(),
        )
        self.link.send(c.EPISODE, *codec.encode_episode(event))
        log.info("episode %d started: %s (seed %d)", event.episode_index, event.task, event.seed)

    def episode_randomization(self) -> str | None:
        """The episode's sampled domain randomization as JSON object text, sent on its start
        event for the recorder to store; None: this simulator does not randomize (the default)."""
        return None

    def emit_episode_end(self, outcome: EpisodeOutcome) -> None:
        wall = time.monotonic() - self.episode_wall_start
        fps = self.sim.config.fps
        event = codec.EpisodeEnd(
            frame=self.frame,
            episode_index=outcome.episode_index,
            task=self.sim.task.description,
            seed=self.episode_seed,
            fps=fps,
            success=outcome.success,
            reason=outcome.reason,
            num_frames=outcome.num_frames,
            sim_time=outcome.num_frames / fps,
            wall_time=wall,
            last=outcome.last,
        )
        self.link.send(c.EPISODE, *codec.encode_episode(event))
        goal = self.machine.config.num_episodes or "∞"
        verdict = "SUCCESS" if event.success else "failure"
        speed = event.sim_time / wall if wall > 0 else 0.0
        print(
            f"[dora-sim] episode {self.machine.completed}/{goal} {self.sim.config.task}: {verdict}"
            f" ({event.reason}), {event.num_frames} frames, sim {event.sim_time:.2f} s / wall "
            f"{wall:.2f} s ({speed:.2f}x real time)",
            flush=True,
        )

    def emit_status(self) -> None:
        self.last_status = time.monotonic()
        status = self.stats.status(self.frame, self.machine.episode_index, self.machine.phase)
        status.eval_mode = self.mode
        self.link.send(c.STATUS, codec.encode_text(status.to_json()), {c.MD_FRAME: self.frame})


# A node that exits right after sending can lose its last messages (seen: the final episode end),
# so after the session ends the sim keeps draining events this long before it returns.
LINGER_S = 1.0


def linger(link: NodeLink, seconds: float = LINGER_S) -> None:
    """Stay alive (ignoring inputs) until ``seconds`` pass or dora says STOP."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if link.next(timeout=left).ends:
            return


def serve(sim_node: SimNode) -> int:
    """The event loop: returns when the session is over (episode count, ``stop``) or on STOP.

    Returns the node's exit status: 2 when a peer speaks another contract version.
    """
    try:
        for event in sim_node.link.events():
            if event.kind == INPUT:
                sim_node.on_input(event.id, event.value, event.metadata)
                if sim_node.machine.stopped:
                    linger(sim_node.link)
                    return 0
            elif event.kind == CLOSED:
                sim_node.on_closed(event.id)
    except ContractVersionError as err:
        log.error("%s", err)
        return 2
    return 0
