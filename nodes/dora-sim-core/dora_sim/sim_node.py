"""The dora glue every simulator node shares: inputs, the tick, per-tick outputs, episode events.

A simulator node (MuJoCo, Isaac Lab, …) implements :class:`Simulator` and hands it to
:class:`SimNode` with an :class:`~dora_sim.episode.EpisodeMachine`; :func:`serve` runs the event
loop. The glue, not the simulator, owns the contract: counters, episode events, status and
bad-input handling are therefore identical whatever the physics engine.

Imports only numpy and pyarrow (through :mod:`dora_sim.codec`); the dora node is injected, so
``dora.testing.MockNode`` drives it in tests.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

import numpy as np

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.episode import EpisodeEnd, EpisodeMachine
from dora_sim.loop_stats import LoopStats

log = logging.getLogger("dora-sim")


class SimSettings(Protocol):
    """What the glue reads from a simulator's configuration."""

    task: str  # the simulator's task id (printed in the per-episode summary)
    fps: int
    cameras: tuple[str, ...]  # one output ``observation.images.<camera>`` each
    height: int  # every camera renders at this size
    width: int


class TaskInfo(Protocol):
    description: str  # natural-language task of the episodes (``task`` on EPISODE_START)


class Simulator(Protocol):
    """One simulated SO-101 scene, stepped exactly ``1/config.fps`` s per :meth:`step`.

    Joint vectors are in contract ("so101") units; conversion to the engine's radians happens
    inside the simulator, at its own boundary.
    """

    config: SimSettings
    task: TaskInfo

    def reset(self, seed: int) -> None:
        """New scene for an episode, objects placed from ``seed``."""

    def set_action(self, action: np.ndarray) -> bool:
        """Hold a joint target; returns True if it had to be clipped to the joint limits."""

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
        """End-effector position xyz + quaternion wxyz (7 floats)."""

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
    ):
        self.node = node
        self.sim = sim
        self.machine = machine
        self.viewer = viewer
        self.frame = 0
        self.reset_frame = 0
        self.stats = LoopStats(sim.config.fps)
        self.jog: np.ndarray | None = None
        self.action_read_at: int | None = None  # MD_READ_AT of the action being applied
        self.frames: dict[str, np.ndarray] = {}  # one reusable render target per camera
        self.jog_received = 0.0
        self.episode_wall_start = 0.0
        self.episode_seed = machine.seed
        self.warned_inputs: set[str] = set()

    # --- inputs --------------------------------------------------------------------------------
    def on_input(self, input_id: str, value: Any, metadata: dict) -> None:
        try:
            if input_id == c.TICK:
                self.on_tick()
            elif input_id == c.ACTION:
                clipped = self.sim.set_action(codec.decode_joints(value, c.ACTION))
                self.action_read_at = metadata.get(c.MD_READ_AT)
                self.jog = None
                self.stats.clipped_actions += int(clipped)
            elif input_id == c.EE_DELTA:
                self.jog = codec.decode_ee_delta(value).copy()
                self.jog_received = time.monotonic()
            elif c.is_control_input(input_id):
                self.machine.command(codec.decode_control(value))
            elif input_id not in self.warned_inputs:
                self.warned_inputs.add(input_id)
                log.warning("ignoring unknown input %r (known: tick, action, ee_delta, control)",
                            input_id)  # fmt: skip
        except codec.ContractError as err:
            self.stats.rejected_messages += 1
            if self.stats.rejected_messages <= 5 or self.stats.rejected_messages % 100 == 0:
                log.error("rejected %s message #%d: %s (holding the last good action)",
                          input_id, self.stats.rejected_messages, err)  # fmt: skip

    # --- the tick --------------------------------------------------------------------------------
    def on_tick(self) -> None:
        started = time.monotonic()
        self.stats.tick(started)
        try:
            self.tick()
        finally:
            self.stats.done(time.monotonic() - started)

    def tick(self) -> None:
        start, ended = self.machine.begin_tick()
        if ended is not None:
            self.emit_episode_end(ended)
        if self.machine.stopped:
            return
        if start:
            self.episode_seed = self.machine.seed
            self.sim.reset(self.episode_seed)
            self.reset_frame = 0
            self.jog = None
            self.emit_episode_start()
        if self.jog is not None:
            if time.monotonic() - self.jog_received <= c.EE_DELTA_HOLD_S:
                self.stats.ik_failures += int(not self.sim.jog(self.jog))
            else:
                self.jog = None  # a lost key-up must not leave the arm drifting

        stamp = self.stamp()
        success = self.sim.success()
        self.emit_frame(stamp, success)
        if self.viewer is not None:
            self.viewer.sync()
        self.sim.step()
        self.frame += 1
        if self.machine.phase == c.PHASE_RESET:
            self.reset_frame += 1
        end = self.machine.end_tick(success)
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
    def emit_frame(self, stamp: codec.FrameStamp, success: bool) -> None:
        md = stamp.to_metadata()
        md[c.MD_SENT_AT] = time.time_ns()
        md[c.MD_SUCCESS] = success
        md[c.MD_REWARD] = 1.0 if success else 0.0
        self.node.send_output(c.STATE, codec.encode_joints(self.sim.state()), md)
        action_md = md if self.action_read_at is None else {
            **md, c.MD_ACTION_READ_AT: self.action_read_at
        }  # fmt: skip
        self.node.send_output(
            c.ACTION_APPLIED, codec.encode_joints(self.sim.target_contract()), action_md
        )
        for camera in self.sim.config.cameras:
            self.send_image(camera, md)
        scene, scene_md = codec.encode_scene(self.sim.ee_pose(), self.sim.object_poses())
        self.node.send_output(c.SCENE, scene, {**md, **scene_md})

    def send_image(self, camera: str, md: dict[str, Any]) -> None:
        """Render, then copy once into a dora shared-memory sample that readers map zero-copy.

        Rendering straight into the sample would save that memcpy (~20 µs) but the sample's
        metadata is fixed when it is allocated, so ``sent_at_ns`` would include the render time.
        """
        cfg = self.sim.config
        frame = self.sim.render(camera, out=self.frames.get(camera))
        self.frames[camera] = frame
        image_md = {**md, c.MD_HEIGHT: cfg.height, c.MD_WIDTH: cfg.width,
                    c.MD_ENCODING: c.IMAGE_ENCODING, c.MD_SENT_AT: time.time_ns()}  # fmt: skip
        topic = c.image_topic(camera)
        try:
            sample = self.node.send_output_raw(topic, frame.nbytes, image_md)
        except NotImplementedError:  # dora.testing.MockNode has no shared memory
            self.node.send_output(topic, codec.encode_image(frame.copy())[0], image_md)
            return
        with sample as buffer:
            view = np.frombuffer(buffer, np.uint8)
            view[:] = frame.reshape(-1)
            del view  # the buffer must have no consumers left when the sample is sent

    def episode_metadata(self) -> dict[str, Any]:
        return {
            c.MD_FRAME: self.frame,
            c.MD_EPISODE: self.machine.episode_index,
            c.MD_TASK: self.sim.task.description,
            c.MD_SEED: self.episode_seed,
            c.MD_FPS: self.sim.config.fps,
        }

    def emit_episode_start(self) -> None:
        self.episode_wall_start = time.monotonic()
        md = self.episode_metadata()
        self.node.send_output(c.EPISODE, codec.encode_text(c.EPISODE_START), md)
        log.info("episode %d started: %s (seed %d)", md[c.MD_EPISODE], md[c.MD_TASK],
                 md[c.MD_SEED])  # fmt: skip

    def emit_episode_end(self, end: EpisodeEnd) -> None:
        wall = time.monotonic() - self.episode_wall_start
        sim_time = end.num_frames / self.sim.config.fps
        md = self.episode_metadata()
        md.update({
            c.MD_EPISODE: end.episode_index,
            c.MD_SUCCESS: end.success, c.MD_END_REASON: end.reason,
            c.MD_NUM_FRAMES: end.num_frames, c.MD_SIM_TIME: sim_time, c.MD_WALL_TIME: wall,
            c.MD_LAST: end.last,
        })  # fmt: skip
        self.node.send_output(c.EPISODE, codec.encode_text(c.EPISODE_END), md)
        goal = self.machine.config.num_episodes or "∞"
        verdict = "SUCCESS" if end.success else "failure"
        print(
            f"[dora-sim] episode {self.machine.completed}/{goal} {self.sim.config.task}: {verdict}"
            f" ({end.reason}), {end.num_frames} frames, sim {sim_time:.2f} s / wall {wall:.2f} s"
            f" ({sim_time / wall if wall > 0 else 0:.2f}x real time)",
            flush=True,
        )

    def emit_status(self) -> None:
        status = self.stats.status(self.frame, self.machine.episode_index, self.machine.phase)
        self.node.send_output(
            c.STATUS, codec.encode_text(status.to_json()), {c.MD_FRAME: self.frame}
        )


# A node that exits right after sending can lose its last messages (seen: the final episode end),
# so after the session ends the sim keeps draining events this long before it returns.
LINGER_S = 1.0


def linger(node: Any, seconds: float = LINGER_S) -> None:
    """Stay alive (ignoring inputs) until ``seconds`` pass or dora says STOP."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        event = node.next(timeout=left)
        if event is None or event["type"] == "STOP":
            return


def serve(sim_node: SimNode) -> None:
    """The event loop: returns when the session is over (episode count, ``stop``) or on STOP."""
    for event in sim_node.node:
        if event["type"] == "INPUT":
            sim_node.on_input(event["id"], event["value"], event["metadata"])
            if sim_node.machine.stopped:
                linger(sim_node.node)
                return
        elif event["type"] == "STOP":
            return
        elif event["type"] == "ERROR":
            log.warning("dora error event: %s", event.get("error"))
