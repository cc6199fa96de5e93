"""dora-sim-follower: a real SO-101 follower arm (LeRobot's SOFollower) as a dora-sim node.

It speaks the simulators' contract, so it replaces the simulator in a graph: it takes
``action`` (float32[6], so101 units; latest wins) and ``control``; on every ``tick`` (a dora
timer: the arm is paced by it) it emits ``applied_action``, ``observation.state`` and one
``observation.images.<camera>`` per camera with the contract's counters, ``episode`` events,
``status`` (loop health, as a simulator's) about once a second, and ``arm_status`` (connection
and bus health, JSON). Inputs ``observation.images.<camera>`` feed cameras of type
``dora_sim_graph`` (e.g. a simulator's render standing in for a virtual arm's cameras).

Safety: each tick's goal is capped to MAX_RELATIVE_TARGET from the present position (LeRobot's
``max_relative_target``); malformed actions (NaN, out of range) are rejected and the arm holds;
torque goes off when the session ends, on dora's stop (Ctrl+C), on SIGTERM and when the node
fails. See docs/follower.md, whose first section is about safety.

Configuration (node ``env:`` or the shell): FOLLOWER_PORT, FOLLOWER_ID (the ``--robot.id`` of
lerobot-calibrate; default my_awesome_follower_arm), FOLLOWER_CALIBRATION_DIR (default LeRobot's,
$HF_LEROBOT_CALIBRATION/robots/so_follower), MAX_RELATIVE_TARGET (per tick, so101 units; default
10; one value, six, or none), FOLLOWER_CAMERAS (lerobot-record's --robot.cameras syntax), FPS
(= the timer's rate), TASK (a sim task id or an instruction), HAND_SUCCESS (finish = success),
READ_RETRIES, and the episode settings NUM_EPISODES, EPISODE_TIME_S, RESET_TIME_S, SEED.

Subcommands: ``replay`` (a dataset episode's actions, docs/follower.md) and ``twin`` (tracking
error between the arm and a simulator mirroring it, printed and logged to Rerun).
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import time

from dora_sim import codec
from dora_sim.cli import LOG_FORMAT, node_parser
from dora_sim.config import ConfigError
from dora_sim.episode import EpisodeConfig, EpisodeMachine
from dora_sim_follower.config import FollowerConfig, episode_config
from dora_sim_leader.status import process_age_s

log = logging.getLogger("dora-sim-follower")

# LeRobot logs every capped target (with a pretty-printed dict) on the root logger; the node
# counts them and reports once a second instead.
CAPPED_WARNING = "Relative goal position magnitude had to be clamped"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = node_parser("dora-sim-follower", __doc__)
    parser.add_argument(
        "command",
        nargs="?",
        choices=["run", "replay", "twin"],
        default="run",
        help="run: the follower node (default); replay: the replay node; twin: the twin node",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic() - process_age_s()  # the process's start, not main's
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stdout)
    if args.command == "replay":
        from dora_sim_follower.replay import main as replay_main

        return replay_main()
    if args.command == "twin":
        from dora_sim_follower.twin import main as twin_main

        return twin_main()
    return run_node(started)


def run_node(started: float) -> int:
    # dora sets RUST_BACKTRACE=1, which makes every dora call that fails capture a backtrace.
    os.environ.setdefault("RUST_LIB_BACKTRACE", "0")
    try:
        config = FollowerConfig.from_env()
        episodes = EpisodeConfig.from_env()
        from dora_sim_follower.cameras.spec import parse_cameras  # LeRobot: torch, seconds
        from dora_sim_follower.device import FollowerDevice

        device = FollowerDevice(config, parse_cameras(config.cameras))
    except (ConfigError, ValueError) as err:  # ValueError: LeRobot's check of a camera config
        log.error("%s", err)
        return 2
    from dora import Node

    from dora_sim.link import ContractVersionError, NodeLink
    from dora_sim_follower.node import FollowerNode

    logging.getLogger().addFilter(lambda record: not str(record.msg).startswith(CAPPED_WARNING))
    machine = EpisodeMachine(episode_config(episodes), config.fps)
    codec.warm_up()
    # Keep the start-up imports (torch: millions of objects) out of every later garbage
    # collection: a full pass over them would stall a bus transaction past its timeout.
    gc.collect()
    gc.freeze()
    # SIGTERM (dora's second step after STOP) must unwind through the torque-off below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    node = FollowerNode(NodeLink(Node()), device, machine, config, started)
    try:
        node.run()  # turns the torque off however it ends
    except ContractVersionError as err:
        log.error("%s", err)
        return 2
    except KeyboardInterrupt:
        log.warning("interrupted: the arm's torque was turned off")
        return 130
    except Exception:
        log.exception("the follower node failed; the arm's torque was turned off")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
