"""dora-sim-leader: a real SO-101 leader arm as the ``action`` source of a dora-sim graph.

Outputs ``action`` (float32[6], so101 units; metadata ``read_at_ns``, ``sent_at_ns``) at RATE_HZ,
and ``status`` (JSON: connection, read counters, bus timing) about once a second and on every
connection change. Inputs are optional: when all of them close (e.g. one wired to the simulator's
``status``), the node ends with the graph.

Configuration (node ``env:`` or the shell): LEADER_PORT (e.g. /dev/ttyACM0), LEADER_ID (the
``--teleop.id`` of lerobot-calibrate; default my_awesome_leader_arm), CALIBRATION_DIR (default
LeRobot's, $HF_LEROBOT_CALIBRATION/teleoperators/so_leader), RATE_HZ (default 60), READ_RETRIES
(default 2). ``dora-sim-leader calibrate`` runs LeRobot's calibration for the same port and id.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import time

from dora_sim.cli import LOG_FORMAT, node_parser
from dora_sim.config import ConfigError
from dora_sim.link import NodeLink
from dora_sim_leader.config import LeaderConfig
from dora_sim_leader.status import process_age_s


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = node_parser("dora-sim-leader", __doc__)
    parser.add_argument(
        "command",
        nargs="?",
        choices=["run", "calibrate"],
        default="run",
        help="run: the dora node (default); calibrate: LeRobot's calibration",
    )
    parser.add_argument("--port", help="overrides LEADER_PORT")
    parser.add_argument("--id", help="overrides LEADER_ID")
    parser.add_argument("--calibration-dir", help="overrides CALIBRATION_DIR")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic() - process_age_s()  # the process's start, not main's
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stdout)
    log = logging.getLogger("dora-sim-leader")
    try:
        config = LeaderConfig.from_env(args.port, args.id, args.calibration_dir)
    except ConfigError as err:
        log.error("%s", err)
        return 2
    if args.command == "calibrate":
        from dora_sim_leader.calibrate import calibrate

        return calibrate(config)
    return run_node(config, started)


def run_node(config: LeaderConfig, started: float) -> int:
    # dora sets RUST_BACKTRACE=1, which makes every `node.next(timeout=…)` that times out capture
    # and symbolise a backtrace (~0.2 ms of CPU, 60 times a second). Must precede the dora import.
    os.environ.setdefault("RUST_LIB_BACKTRACE", "0")
    from dora import Node

    # Connect first: dora starts the graph once every node has connected, so the simulator runs
    # (holding its pose) while LeRobot loads here, instead of the whole graph waiting for it.
    link = NodeLink(Node())
    from dora_sim_leader.device import LeaderDevice  # LeRobot, and with it torch: seconds
    from dora_sim_leader.node import LeaderNode

    # Keep the startup imports (torch: millions of objects) out of every later garbage
    # collection: a full pass over them would stall a sync read waiting for the servos' replies.
    gc.collect()
    gc.freeze()
    return LeaderNode(link, LeaderDevice(config), started).run()


if __name__ == "__main__":
    sys.exit(main())
