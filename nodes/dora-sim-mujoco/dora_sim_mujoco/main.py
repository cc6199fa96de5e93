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
graph's default in EVAL_MODE_DEFAULT).
"""

from __future__ import annotations

import logging
import sys

from dora import Node

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.cli import start_node
from dora_sim.config import ConfigError, env_bool, env_int, env_list, env_str, eval_mode
from dora_sim.episode import EpisodeConfig, EpisodeMachine
from dora_sim.sim_node import SimNode, serve
from dora_sim_mujoco.simulator import SimConfig, Simulator
from dora_sim_mujoco.viewer import PassiveViewer

log = logging.getLogger("dora-sim-mujoco")


def load_config() -> tuple[SimConfig, EpisodeConfig, bool, str]:
    sim = SimConfig(
        task=env_str("TASK", "pick-cube"),
        fps=env_int("FPS", c.DEFAULT_FPS, minimum=1),
        cameras=env_list("CAMERAS", ("front", "wrist")),
        height=env_int("IMAGE_HEIGHT", 240, minimum=16),
        width=env_int("IMAGE_WIDTH", 320, minimum=16),
        profile=env_str("RENDER_PROFILE", "fast"),
        reset_arm=env_bool("RESET_ARM", True),
    )
    return sim, EpisodeConfig.from_env(), env_bool("VIEWER", False), eval_mode()


def main(argv: list[str] | None = None) -> int:
    start_node("dora-sim-mujoco", __doc__, argv)
    try:
        sim_config, episode_config, want_viewer, mode = load_config()
        sim = Simulator(sim_config)
    except (ConfigError, ValueError) as err:
        log.error("%s", err)
        return 2
    machine = EpisodeMachine(episode_config, sim_config.fps)
    viewer = PassiveViewer.open(sim.model, sim.data) if want_viewer else PassiveViewer.none()
    log.info("ready: task %s, %d Hz, cameras %s at %dx%d (%s profile), %s", sim_config.task,
             sim_config.fps, ",".join(sim_config.cameras) or "none", sim_config.width,
             sim_config.height, sim_config.profile, mode)  # fmt: skip
    codec.warm_up()  # before Node(): no lazy import may stall the loop once events flow
    try:
        return serve(SimNode(Node(), sim, machine, viewer, mode))
    finally:
        viewer.close()
        sim.close()


if __name__ == "__main__":
    sys.exit(main())
