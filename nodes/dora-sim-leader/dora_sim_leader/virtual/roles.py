"""The two virtual SO-101s: what differs between the leader and the follower a user can start.

Each has its own body (calibration), default device link, LeRobot calibration id and folder, and
the environment variables its dora node reads, so that the CLI can print a working command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from dora_sim_leader.config import VIRTUAL_ARM_ID, VIRTUAL_ARM_LINK, default_calibration_dir
from dora_sim_leader.virtual import physical

# LeRobot's ``SOFollower.name``: its calibrations live in ``<calibration root>/robots/so_follower``.
FOLLOWER_ROBOT_NAME: Final = "so_follower"
VIRTUAL_FOLLOWER_LINK: Final = "/tmp/dora-sim-virtual-follower"
VIRTUAL_FOLLOWER_ID: Final = "virtual_follower"


def follower_calibration_dir() -> Path:
    """Where ``lerobot-calibrate --robot.type=so101_follower`` saves (HF_LEROBOT_CALIBRATION).

    Imported when asked: LeRobot 0.6's ``lerobot.utils`` imports torch (~2.5 s)."""
    from lerobot.utils.constants import HF_LEROBOT_CALIBRATION, ROBOTS

    return HF_LEROBOT_CALIBRATION / ROBOTS / FOLLOWER_ROBOT_NAME


@dataclass(frozen=True)
class Role:
    name: str
    link: str
    calibration_id: str
    calibration: physical.Calibration
    default_calibration_dir: Callable[[], Path]
    port_variable: str  # the node's environment variables for the port and the id
    id_variable: str
    dataflow: str  # a graph to try it with
    default_motion: str  # what moves the joints whose torque is off, see ``--motion``


LEADER: Final = Role(
    name="leader",
    link=VIRTUAL_ARM_LINK,
    calibration_id=VIRTUAL_ARM_ID,
    calibration=physical.REFERENCE_CALIBRATION,
    default_calibration_dir=default_calibration_dir,
    port_variable="LEADER_PORT",
    id_variable="LEADER_ID",
    dataflow="dataflows/dataflow-teleop.yaml",
    default_motion="wave",
)
FOLLOWER: Final = Role(
    name="follower",
    link=VIRTUAL_FOLLOWER_LINK,
    calibration_id=VIRTUAL_FOLLOWER_ID,
    calibration=physical.FOLLOWER_CALIBRATION,
    default_calibration_dir=follower_calibration_dir,
    port_variable="FOLLOWER_PORT",
    id_variable="FOLLOWER_ID",
    dataflow="dataflows/dataflow-twin.yaml",
    default_motion="none",
)
