"""What to tell a user whose follower arm cannot be used yet, and how to fix it."""

from __future__ import annotations

from dora_sim_follower.config import FollowerConfig
from dora_sim_leader import ports
from dora_sim_leader.virtual.roles import FOLLOWER

FIND_PORT_HINT = (
    "Find the arm's port with `lerobot-find-port` (it asks you to unplug the USB cable and reports"
    " the port that disappeared), then set FOLLOWER_PORT to it. On Linux prefer its stable name"
    " under /dev/serial/by-id/: it does not swap with the leader's."
)
VIRTUAL_HINT = (
    f"No arm at hand? Run `dora-sim-virtual-arm --follower --write-calibration` in another"
    f" terminal and use FOLLOWER_PORT={FOLLOWER.link} FOLLOWER_ID={FOLLOWER.calibration_id}."
)


def port_unset_message() -> str:
    return "\n".join(
        ["FOLLOWER_PORT is not set.", ports.describe_candidates(), FIND_PORT_HINT, VIRTUAL_HINT]
    )


def port_missing_message(port: str) -> str:
    return "\n".join(
        [
            f"Serial port {port!r} does not exist (follower unplugged or wrong port).",
            ports.describe_candidates(),
            FIND_PORT_HINT,
            VIRTUAL_HINT,
        ]
    )


def missing_calibration_message(config: FollowerConfig) -> str:
    directory = config.calibration_dir
    others = sorted(p.stem for p in directory.glob("*.json")) if directory.is_dir() else []
    port = config.port or "<port>"
    return "\n".join(
        [
            f"No calibration for follower id {config.id!r}: {config.calibration_path} does not"
            " exist.",
            (
                f"Calibrations in {directory}: {', '.join(others)}. Set FOLLOWER_ID to one of them."
                if others
                else f"No calibrations in {directory}."
            ),
            "Calibrate the arm once with LeRobot (the file goes where this node looks):",
            f"  lerobot-calibrate --robot.type=so101_follower --robot.port={port}"
            f" --robot.id={config.id}",
            "If you calibrated elsewhere, point FOLLOWER_CALIBRATION_DIR at the folder holding"
            " <id>.json.",
            VIRTUAL_HINT,
            "The node keeps checking and starts as soon as the file appears.",
        ]
    )


def connect_failure_message(port: str, err: BaseException) -> str:
    """Explain a failed connection: permissions, silent motors or a wrong device."""
    chain = []
    cause: BaseException | None = err
    while cause is not None:
        chain.append(str(cause).strip())
        cause = cause.__cause__
    if any("Permission denied" in part for part in chain):
        return (
            f"Cannot open {port}: permission denied. On Linux add yourself to the 'dialout'"
            " group (`sudo usermod -aG dialout $USER`, then log in again)."
        )
    detail = " / ".join(part for part in chain if part)
    return "\n".join(
        [
            f"Opened {port} but the SO-101 follower did not answer as expected: {detail}",
            "Is the arm's power supply on? Is this the follower's port (not the leader's)? Were"
            " the motor ids set with `lerobot-setup-motors --robot.type=so101_follower`?",
            ports.describe_candidates(),
            FIND_PORT_HINT,
        ]
    )
