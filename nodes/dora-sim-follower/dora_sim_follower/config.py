"""Follower configuration: environment variables (the node's ``env:`` or the shell).

The shipped graphs leave the arm's settings (port, id, cameras, safety limit) out of their YAML,
so that the shell's values count: a YAML ``env:`` value would override them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from dora_sim import contract as c
from dora_sim.config import ConfigError, env_bool, env_int, env_str
from dora_sim.episode import EpisodeConfig
from dora_sim.tasks import TASK_SPECS
from dora_sim_leader.virtual.roles import follower_calibration_dir

# LeRobot's documentation names the follower this: users who followed it need not set an id.
DEFAULT_ID: Final = "my_awesome_follower_arm"
# Per tick, in so101 units (degrees; gripper 0-100): 10 per tick at 30 Hz is 300 deg/s, faster
# than a hand moves a leader arm, slower than a policy's jump to a wrong pose.
DEFAULT_MAX_RELATIVE_TARGET: Final = 10.0
NO_LIMIT: Final = "none"
DEFAULT_TASK: Final = "pick-cube"


@dataclass(frozen=True)
class FollowerConfig:
    port: str  # "" = not configured
    id: str
    calibration_dir: Path
    # LeRobot's ``max_relative_target``: one value for every joint, one per joint, or None.
    max_relative_target: float | dict[str, float] | None
    cameras: str  # LeRobot's ``--robot.cameras`` syntax (YAML/JSON mapping); "" = none
    fps: int
    task: str  # the natural-language task of the episodes
    hand_success: bool  # ``finish`` means "the task succeeded" (a human judges a real arm)
    read_retries: int

    @property
    def calibration_path(self) -> Path:
        return self.calibration_dir / f"{self.id}.json"

    @classmethod
    def from_env(cls) -> FollowerConfig:
        """FOLLOWER_PORT, FOLLOWER_ID, FOLLOWER_CALIBRATION_DIR, MAX_RELATIVE_TARGET,
        FOLLOWER_CAMERAS, FPS, TASK, HAND_SUCCESS, READ_RETRIES."""
        directory = env_str("FOLLOWER_CALIBRATION_DIR", "")
        return cls(
            port=env_str("FOLLOWER_PORT", ""),
            id=env_str("FOLLOWER_ID", DEFAULT_ID),
            calibration_dir=(
                Path(directory).expanduser() if directory else follower_calibration_dir()
            ),
            max_relative_target=parse_max_relative_target(
                env_str("MAX_RELATIVE_TARGET", str(DEFAULT_MAX_RELATIVE_TARGET))
            ),
            cameras=env_str("FOLLOWER_CAMERAS", ""),
            fps=env_int("FPS", c.DEFAULT_FPS, minimum=1, maximum=1000),
            task=task_description(env_str("TASK", DEFAULT_TASK)),
            hand_success=env_bool("HAND_SUCCESS", False),
            read_retries=env_int("READ_RETRIES", 2, minimum=0),
        )


def parse_max_relative_target(text: str) -> float | dict[str, float] | None:
    """``10`` (every joint), ``8,8,8,10,10,20`` (per joint, contract order) or ``none``."""
    if text.strip().lower() == NO_LIMIT:
        return None
    expected = f"a positive number, {c.NUM_JOINTS} comma-separated ones, or '{NO_LIMIT}'"
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError as err:
        raise ConfigError(f"MAX_RELATIVE_TARGET={text!r}: expected {expected}") from err
    if len(values) not in (1, c.NUM_JOINTS) or not all(v > 0 for v in values):
        raise ConfigError(f"MAX_RELATIVE_TARGET={text!r}: expected {expected}")
    if len(values) == 1:
        return values[0]
    return dict(zip(c.JOINT_NAMES, values, strict=True))


def task_description(task: str) -> str:
    """A task id the simulators know (``pick-cube``) stands for its instruction, so a policy
    trained in the sim gets the same text; anything else is the instruction itself."""
    spec = TASK_SPECS.get(task)
    return spec.description if spec is not None else task


def episode_config(base: EpisodeConfig) -> EpisodeConfig:
    """A real arm has no success predicate: success is the operator's word (HAND_SUCCESS), and
    it ends the episode at once (no hold time)."""
    return dataclasses.replace(base, end_on_success=True, success_hold_s=0.0)
