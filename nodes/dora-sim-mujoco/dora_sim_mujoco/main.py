"""dora-sim-mujoco: the timer-ticked MuJoCo SO-101 simulator node, the clock of every graph.

Inputs: ``tick`` (dora timer, the only clock), ``action`` / ``ee_delta`` (latest value wins; use
``queue_size: 1``), ``control``. Outputs: per tick ``observation.state``, ``action`` (the target
applied this tick), one ``observation.images.<camera>`` per camera, ``scene``; ``episode`` events;
``status`` about once a second. See ``dora_sim.contract`` and ``docs/architecture.md``.

Configuration (node ``env:`` or the environment): TASK, FPS, NUM_EPISODES (0 = endless),
EPISODE_TIME_S, RESET_TIME_S, END_ON_SUCCESS, SUCCESS_HOLD_S, SEED, CAMERAS, IMAGE_HEIGHT,
IMAGE_WIDTH, RENDER_PROFILE (fast|full), RESET_ARM, VIEWER.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Any

import numpy as np
from dora import Node

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.config import ConfigError, env_bool, env_float, env_int, env_list, env_str
from dora_sim_mujoco.episode import EpisodeConfig, EpisodeEnd, EpisodeMachine
from dora_sim_mujoco.loop_stats import LoopStats
from dora_sim_mujoco.simulator import SimConfig, Simulator
from dora_sim_mujoco.viewer import PassiveViewer

log = logging.getLogger("dora-sim-mujoco")


def load_config() -> tuple[SimConfig, EpisodeConfig, bool]:
    sim = SimConfig(
        task=env_str("TASK", "pick-cube"),
        fps=env_int("FPS", c.DEFAULT_FPS, minimum=1),
        cameras=env_list("CAMERAS", ("front", "wrist")),
        height=env_int("IMAGE_HEIGHT", 240, minimum=16),
        width=env_int("IMAGE_WIDTH", 320, minimum=16),
        profile=env_str("RENDER_PROFILE", "fast"),
        reset_arm=env_bool("RESET_ARM", True),
    )
    episodes = EpisodeConfig(
        num_episodes=env_int("NUM_EPISODES", 2, minimum=0),
        episode_time_s=env_float("EPISODE_TIME_S", 20.0, minimum=0.1),
        reset_time_s=env_float("RESET_TIME_S", 0.0, minimum=0.0),
        end_on_success=env_bool("END_ON_SUCCESS", True),
        success_hold_s=env_float("SUCCESS_HOLD_S", 0.5, minimum=0.0),
        seed=env_int("SEED", 0),
    )
    return sim, episodes, env_bool("VIEWER", False)


class SimNode:
    """Glue between dora events and the simulator; never dies on a bad message."""

    def __init__(self, node: Any, sim: Simulator, machine: EpisodeMachine, viewer: PassiveViewer):
        self.node = node
        self.sim = sim
        self.machine = machine
        self.viewer = viewer
        self.frame = 0
        self.reset_frame = 0
        self.stats = LoopStats(sim.config.fps)
        self.jog: np.ndarray | None = None
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
                self.jog = None
                self.stats.clipped_actions += int(clipped)
            elif input_id == c.EE_DELTA:
                self.jog = codec.decode_ee_delta(value).copy()
                self.jog_received = time.monotonic()
            elif input_id == c.CONTROL:
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
        self.node.send_output(c.ACTION_APPLIED, codec.encode_joints(self.sim.target_contract()), md)
        for camera in self.sim.config.cameras:
            self.send_image(camera, md)
        scene, scene_md = codec.encode_scene(self.sim.ee_pose(), self.sim.object_poses())
        self.node.send_output(c.SCENE, scene, {**md, **scene_md})

    def send_image(self, camera: str, md: dict[str, Any]) -> None:
        """Render straight into dora's shared-memory sample: no copy between GL and the reader."""
        cfg = self.sim.config
        image_md = {**md, c.MD_HEIGHT: cfg.height, c.MD_WIDTH: cfg.width,
                    c.MD_ENCODING: c.IMAGE_ENCODING, c.MD_SENT_AT: time.time_ns()}  # fmt: skip
        topic = c.image_topic(camera)
        try:
            sample = self.node.send_output_raw(topic, cfg.height * cfg.width * 3, image_md)
        except NotImplementedError:  # dora.testing.MockNode has no shared memory
            self.node.send_output(topic, codec.encode_image(self.sim.render(camera))[0], image_md)
            return
        with sample as buffer:
            view = np.frombuffer(buffer, np.uint8).reshape(cfg.height, cfg.width, 3)
            self.sim.render(camera, out=view)
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="dora-sim-mujoco",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(levelname)s: %(message)s",
                        stream=sys.stdout)  # fmt: skip
    try:
        sim_config, episode_config, want_viewer = load_config()
        sim = Simulator(sim_config)
    except (ConfigError, ValueError) as err:
        log.error("%s", err)
        return 2
    machine = EpisodeMachine(episode_config, sim_config.fps)
    viewer = PassiveViewer.open(sim.model, sim.data) if want_viewer else PassiveViewer.none()
    log.info("ready: task %s, %d Hz, cameras %s at %dx%d (%s profile)", sim_config.task,
             sim_config.fps, ",".join(sim_config.cameras) or "none", sim_config.width,
             sim_config.height, sim_config.profile)  # fmt: skip
    try:
        serve(SimNode(Node(), sim, machine, viewer))
    finally:
        viewer.close()
        sim.close()
    return 0


def serve(sim_node: SimNode) -> None:
    """The event loop: returns when the session is over (episode count, ``stop``) or on STOP."""
    for event in sim_node.node:
        if event["type"] == "INPUT":
            sim_node.on_input(event["id"], event["value"], event["metadata"])
            if sim_node.machine.stopped:
                return
        elif event["type"] == "STOP":
            return
        elif event["type"] == "ERROR":
            log.warning("dora error event: %s", event.get("error"))


if __name__ == "__main__":
    sys.exit(main())
