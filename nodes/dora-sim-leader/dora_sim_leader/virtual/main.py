"""dora-sim-virtual-arm: a virtual SO-101 leader (or, with --follower, follower) arm on a
pseudo-terminal, for trying the arm dataflows (and testing them) with no hardware.

It speaks the Feetech STS3215 protocol LeRobot's bus uses. The leader plays a joint motion (a
scripted wave, the calibration sweep, a fixed pose, or the ``action`` column of a LeRobot
dataset); the follower's servos track the goal positions LeRobot's SOFollower writes while their
torque is on (and a motion, if given, moves the limp joints: calibrate against --motion sweep).
Both can inject faults: reply packets with bad checksums or none at all, and unplugging the
"cable".
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

from dora_sim import contract as c
from dora_sim_leader.virtual import physical
from dora_sim_leader.virtual.arm import Faults, VirtualArm
from dora_sim_leader.virtual.motion import DatasetPlayback, Hold, Motion, Wave, calibration_sweep
from dora_sim_leader.virtual.roles import FOLLOWER, LEADER, Role


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="dora-sim-virtual-arm",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--follower",
        action="store_true",
        help=f"a follower arm (LeRobot's SOFollower drives it), link {FOLLOWER.link}, calibration"
        f" id {FOLLOWER.calibration_id!r}; default: a leader arm",
    )
    parser.add_argument(
        "--link",
        help=f"stable path of the device, LEADER_PORT / FOLLOWER_PORT (default {LEADER.link}"
        f" or {FOLLOWER.link})",
    )
    parser.add_argument(
        "--motion",
        choices=["wave", "sweep", "hold", "dataset", "none"],
        help="what moves the joints whose torque is off (all of a leader's): wave: every joint"
        " on a sine (the leader's default); sweep: the calibration moves, repeated; hold: --pose;"
        " dataset: the actions of --dataset; none: nothing (the follower's default)",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="wave speed factor")
    parser.add_argument(
        "--pose",
        default="0,0,0,0,0,50",
        help="hold pose, and where a follower's joints are when it starts; so101 units: 5 angles"
        " in degrees, gripper 0-100",
    )
    parser.add_argument("--dataset", type=Path, help="root of a LeRobot dataset to play")
    parser.add_argument("--episode", type=int, help="play only this episode of --dataset")
    parser.add_argument(
        "--corrupt-rate",
        type=float,
        default=0.0,
        help="fraction of reply packets sent with a wrong checksum",
    )
    parser.add_argument(
        "--drop-rate",
        type=float,
        default=0.0,
        help="fraction of reply packets never sent (the host times out)",
    )
    parser.add_argument("--unplug-after", type=float, help="unplug this many seconds after start")
    parser.add_argument("--unplug-for", type=float, default=2.0, help="seconds to stay unplugged")
    parser.add_argument("--unplug-every", type=float, help="repeat the unplug with this period")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault injection")
    parser.add_argument("--duration", type=float, help="exit after this many seconds")
    parser.add_argument(
        "--write-calibration",
        action="store_true",
        help=f"write the arm's calibration as LeRobot id {LEADER.calibration_id!r} (follower:"
        f" {FOLLOWER.calibration_id!r}) into CALIBRATION_DIR or LeRobot's default folder,"
        " then serve",
    )
    return parser.parse_args(argv)


def parse_pose(text: str) -> np.ndarray:
    pose = np.array([float(v) for v in text.split(",")])
    if pose.shape != (c.NUM_JOINTS,):
        raise ValueError(f"--pose needs {c.NUM_JOINTS} comma-separated values")
    return pose


def make_motion(args: argparse.Namespace, role: Role) -> Motion | None:
    motion = args.motion or role.default_motion
    if motion == "sweep":
        return calibration_sweep(loop=True, calibration=role.calibration)
    if motion == "hold":
        return Hold(parse_pose(args.pose))
    if motion == "dataset":
        if args.dataset is None:
            raise ValueError("--motion dataset needs --dataset <root of a LeRobot dataset>")
        return DatasetPlayback(args.dataset, args.episode)
    if motion == "none":
        return None
    return Wave(args.speed)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(levelname)s: %(message)s")
    role = FOLLOWER if args.follower else LEADER
    link = args.link or role.link
    try:
        motion = make_motion(args, role)
        pose = parse_pose(args.pose)
    except (ValueError, OSError, KeyError) as err:
        print(f"dora-sim-virtual-arm: {err}", file=sys.stderr)
        return 2
    if args.write_calibration:
        directory = os.environ.get("CALIBRATION_DIR")
        folder = Path(directory) if directory else role.default_calibration_dir()
        path = folder / f"{role.calibration_id}.json"
        physical.write_calibration(path, role.calibration)
        print(f"calibration of the virtual arm written to {path}")
    faults = Faults(
        corrupt_rate=args.corrupt_rate,
        drop_rate=args.drop_rate,
        unplug_after_s=args.unplug_after,
        unplug_for_s=args.unplug_for,
        unplug_every_s=args.unplug_every,
        seed=args.seed,
    )
    arm = VirtualArm(Path(link), motion, faults, role.calibration, pose)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    arm.start()
    print(
        f"virtual SO-101 {role.name} on {arm.device}, linked at {link}\n"
        f"  {role.port_variable}={link} {role.id_variable}={role.calibration_id}"
        f" dora run {role.dataflow}",
        flush=True,
    )
    try:
        deadline = time.monotonic() + args.duration if args.duration else None
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        arm.stop()
        counters = arm.counters
        print(
            f"served {counters.instructions} instructions ({counters.sync_reads} sync reads),"
            f" {counters.replies} replies: {counters.corrupted} corrupted, {counters.dropped}"
            f" dropped; {counters.unplugs} unplugs; {arm.port.dropped_bytes} bytes the host"
            " did not drain"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
