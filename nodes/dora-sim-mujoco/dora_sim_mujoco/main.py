"""dora-sim-mujoco: the timer-ticked MuJoCo SO-101 simulator node, the clock of every graph.

Inputs: ``tick`` (dora timer), ``action`` / ``ee_target`` / ``ee_delta`` (commands, latest value
wins; use ``queue_size: 1``), ``control``, and ``ack`` / ``ack.<consumer>`` credits from lossless
consumers (the sim holds while one is behind). Outputs: per tick ``observation.state``,
``applied_action`` (the joint target applied this tick), ``ee_state``, one
``observation.images.<camera>`` per camera, ``scene``; ``episode`` events; ``status`` about once
a second. See ``dora_sim.contract`` and ``docs/architecture.md``; the dora glue
(:class:`dora_sim.sim_node.SimNode`) is shared with the other simulator nodes.

Configuration (node ``env:`` or the environment): TASK, FPS, NUM_EPISODES (0 = endless),
EPISODE_TIME_S, RESET_TIME_S, END_ON_SUCCESS, SUCCESS_HOLD_S, SEED, CAMERAS, IMAGE_HEIGHT,
IMAGE_WIDTH, RENDER_PROFILE (fast|full), RESET_ARM, VIEWER, EVAL_MODE (realtime|lockstep; the
graph's default in EVAL_MODE_DEFAULT), IMAGE_ENCODING (rgb8|jpeg), JPEG_QUALITY (1-100),
RANDOMIZATION (off by default; a profile of configs/randomization by name, e.g. ``moderate``, or
a YAML/JSON file: docs/randomization.md). TASK is a task or a suite, ``suite:all`` or
``suite:<task>,<task>,…``: one task per episode, in turn.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from dora import Node

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.cli import start_node
from dora_sim.config import ConfigError, env_bool, env_int, env_list, env_str, eval_mode
from dora_sim.episode import EpisodeConfig, EpisodeMachine
from dora_sim.sim_node import ImageSettings, SimNode, serve
from dora_sim_mujoco.randomization_config import RandomizationConfig, load, resolve
from dora_sim_mujoco.simulator import SimConfig, Simulator
from dora_sim_mujoco.viewer import PassiveViewer

log = logging.getLogger("dora-sim-mujoco")
OFF = ("", "off", "none", "0", "false")


class RandomizedSimNode(SimNode):
    """The shared glue, with each episode start carrying the episode's sampled randomization
    (``EpisodeStart.randomization``), which the recorder stores with the episode."""

    sim: Simulator

    def episode_randomization(self) -> str | None:
        return json.dumps(self.sim.randomization())


def load_randomization() -> RandomizationConfig | None:
    """RANDOMIZATION: a profile name (configs/randomization/<name>.yaml, looked up from the
    working directory and from this package upwards) or a file path; unset or ``off``: none."""
    value = env_str("RANDOMIZATION", "")
    if value.lower() in OFF:
        return None
    return load(resolve(value, (Path.cwd(), Path(__file__).resolve().parent)))


def load_config() -> tuple[SimConfig, EpisodeConfig, bool, str]:
    sim = SimConfig(
        task=env_str("TASK", "pick-cube"),
        fps=env_int("FPS", c.DEFAULT_FPS, minimum=1),
        cameras=env_list("CAMERAS", ("front", "wrist")),
        height=env_int("IMAGE_HEIGHT", 240, minimum=16),
        width=env_int("IMAGE_WIDTH", 320, minimum=16),
        profile=env_str("RENDER_PROFILE", "fast"),
        reset_arm=env_bool("RESET_ARM", True),
        randomization=load_randomization(),
    )
    return sim, EpisodeConfig.from_env(), env_bool("VIEWER", False), eval_mode()


def main(argv: list[str] | None = None) -> int:
    start_node("dora-sim-mujoco", __doc__, argv)
    try:
        sim_config, episode_config, want_viewer, mode = load_config()
        images = ImageSettings.from_env()
        sim = Simulator(sim_config)
    except (ConfigError, ValueError) as err:
        log.error("%s", err)
        return 2
    machine = EpisodeMachine(episode_config, sim_config.fps)
    viewer = PassiveViewer.open(sim.model, sim.data) if want_viewer else PassiveViewer.none()
    log.info("ready: task %s, %d Hz, cameras %s at %dx%d (%s profile), %s", sim_config.task,
             sim_config.fps, ",".join(sim_config.cameras) or "none", sim_config.width,
             sim_config.height, sim_config.profile, mode)  # fmt: skip
    randomization = sim_config.randomization
    if randomization is not None:
        log.info("domain randomization: %s (%s)", randomization.source, ", ".join(
            f"{g.name} per {g.frequency}" for g in randomization.groups))  # fmt: skip
    node_class = SimNode if randomization is None else RandomizedSimNode
    codec.warm_up()  # before Node(): no lazy import may stall the loop once events flow
    try:
        return serve(node_class(Node(), sim, machine, viewer, mode, images))
    finally:
        viewer.close()
        sim.close()


if __name__ == "__main__":
    sys.exit(main())
