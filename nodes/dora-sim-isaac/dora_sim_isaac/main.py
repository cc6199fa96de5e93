"""dora-sim-isaac: the Isaac Lab SO-101 simulator node, the same contract as dora-sim-mujoco.

Starts Isaac Sim (Isaac Lab 2.3: ``AppLauncher``, headless by default; Isaac Lab 3.0 kit-less:
nothing to start), builds the configured Isaac Lab task with one environment and serves it with
the shared dora glue (:mod:`dora_sim.sim_node`): the inputs, per-tick outputs, counters,
``episode`` events and ``status`` of the MuJoCo node, so a dataflow swaps simulators by changing
the sim node only. Runs in the Python that runs Isaac Lab
(docs/isaac.md).

Configuration (node ``env:`` or the environment), shared with the MuJoCo node: FPS,
NUM_EPISODES (0 = endless), EPISODE_TIME_S, RESET_TIME_S, END_ON_SUCCESS, SUCCESS_HOLD_S, SEED,
CAMERAS, IMAGE_HEIGHT, IMAGE_WIDTH. Isaac only: ISAAC_TASK (default DoraSim-SO101-Lift-Cube-v0
on Isaac Lab 3, Isaac-SO-ARM101-Lift-Cube-v0 on 2.3), ISAAC_TASK_MODULES, ISAAC_TASK_DESCRIPTION,
ISAAC_HEADLESS, ISAAC_DEVICE (cuda:0; cpu works on Isaac Lab 3), ISAAC_ROBOT, ISAAC_JOINT_NAMES,
ISAAC_EE_BODY, ISAAC_TCP, ISAAC_KINEMATICS, ISAAC_SO101_USD, ISAAC_SUCCESS_TERM, ISAAC_OBJECT,
ISAAC_LIFT_HEIGHT_M (docs/isaac.md).
"""

from __future__ import annotations

import logging
import sys

from dora import Node

from dora_sim.cli import start_node
from dora_sim.config import ConfigError
from dora_sim.episode import EpisodeConfig, EpisodeMachine
from dora_sim.sim_node import SimNode, serve
from dora_sim_isaac.config import IsaacConfig
from dora_sim_isaac.isaac_env import build, launch_app
from dora_sim_isaac.simulator import IsaacSimulator

log = logging.getLogger("dora-sim-isaac")


def main(argv: list[str] | None = None) -> int:
    start_node("dora-sim-isaac", __doc__, argv)
    try:
        config, episode_config = IsaacConfig.from_env(), EpisodeConfig.from_env()
    except ConfigError as err:
        log.error("%s", err)
        return 2
    app = launch_app(config)  # before anything imports isaaclab's simulation modules
    try:
        return run(config, episode_config)
    finally:
        app.close()


def run(config: IsaacConfig, episode_config: EpisodeConfig) -> int:
    try:
        sim = IsaacSimulator(config, build(config, num_envs=1))
    except ValueError as err:  # ConfigError, or Isaac Lab refusing the adapted task config
        log.error("%s", err)
        return 2
    log.info("ready: task %s, %d Hz, cameras %s at %dx%d on %s", config.task, config.fps,
             ",".join(config.cameras) or "none", config.width, config.height,
             config.device)  # fmt: skip
    try:
        serve(SimNode(Node(), sim, EpisodeMachine(episode_config, config.fps)))
    finally:
        sim.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
