"""Finding the LeRobot calibration file of a leader arm, and saying how to make one."""

from __future__ import annotations

from dora_sim_leader.config import VIRTUAL_ARM_ID, LeaderConfig


def missing_calibration_message(config: LeaderConfig) -> str:
    directory = config.calibration_dir
    others = sorted(p.stem for p in directory.glob("*.json")) if directory.is_dir() else []
    port = config.port or "<port>"
    lines = [
        f"No calibration for leader id {config.id!r}: {config.calibration_path} does not exist.",
        (
            f"Calibrations in {directory}: {', '.join(others)}. Set LEADER_ID to one of them."
            if others
            else f"No calibrations in {directory}."
        ),
        "Calibrate the arm once (LeRobot's own procedure, same file lerobot-calibrate writes):",
        f"  LEADER_PORT={port} LEADER_ID={config.id} dora-sim-leader calibrate",
        f"  (or: lerobot-calibrate --teleop.type=so101_leader --teleop.port={port}"
        f" --teleop.id={config.id})",
        "If you calibrated elsewhere, point CALIBRATION_DIR at the folder holding <id>.json.",
        f"Virtual arm: `dora-sim-virtual-arm --write-calibration`, LEADER_ID={VIRTUAL_ARM_ID}.",
        "The node keeps checking and starts as soon as the file appears.",
    ]
    return "\n".join(lines)
