"""Leader configuration: environment variables (dora ``env:`` or the shell), CLI overrides."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from dora_sim.config import env_float, env_int, env_str

# LeRobot's ``SOLeader.name``; calibrations live in ``<calibration root>/teleoperators/so_leader``.
TELEOP_NAME: Final = "so_leader"
# LeRobot's documentation names the leader this; users who followed it verbatim need not set an id.
DEFAULT_ID: Final = "my_awesome_leader_arm"
VIRTUAL_ARM_LINK: Final = "/tmp/dora-sim-virtual-arm"
VIRTUAL_ARM_ID: Final = "virtual_arm"


def default_calibration_dir() -> Path:
    """Where ``lerobot-calibrate --teleop.type=so101_leader`` saves (HF_LEROBOT_CALIBRATION).

    Imported here, when asked: LeRobot 0.6's ``lerobot.utils`` imports torch (~2.5 s)."""
    from lerobot.utils.constants import HF_LEROBOT_CALIBRATION, TELEOPERATORS

    return HF_LEROBOT_CALIBRATION / TELEOPERATORS / TELEOP_NAME


@dataclass(frozen=True)
class LeaderConfig:
    port: str  # "" = not configured
    id: str
    calibration_dir: Path
    rate_hz: float
    read_retries: int

    @property
    def calibration_path(self) -> Path:
        return self.calibration_dir / f"{self.id}.json"

    @classmethod
    def from_env(
        cls,
        port: str | None = None,
        leader_id: str | None = None,
        calibration_dir: str | None = None,
    ) -> LeaderConfig:
        """LEADER_PORT, LEADER_ID, CALIBRATION_DIR, RATE_HZ, READ_RETRIES; arguments override."""
        directory = calibration_dir or env_str("CALIBRATION_DIR", "")
        rate_hz = env_float("RATE_HZ", 60.0, minimum=1.0, maximum=500.0)  # a sync read takes >1 ms
        return cls(
            port=port or env_str("LEADER_PORT", ""),
            id=leader_id or env_str("LEADER_ID", DEFAULT_ID),
            calibration_dir=Path(directory).expanduser()
            if directory
            else default_calibration_dir(),
            rate_hz=rate_hz,
            read_retries=env_int("READ_RETRIES", 2, minimum=0),
        )
