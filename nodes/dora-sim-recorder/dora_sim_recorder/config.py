"""Recorder configuration from the environment (the node's ``env:`` block or the user's shell).

``DATASET_ROOT``, ``REPO_ID`` and ``NUM_EPISODES`` are meant to come from the shell, so the record
dataflows leave them out of their YAML (a YAML ``env:`` literal would override the shell).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from dora_sim import contract as c
from dora_sim.config import ConfigError, env_bool, env_float, env_int, env_list, env_str
from dora_sim_recorder import store

EXPORT_ALL = "all"
EXPORT_SUCCEEDED = "succeeded"
EXPORT_MODES = (EXPORT_ALL, EXPORT_SUCCEEDED)
# LeRobot's accepted codecs (lerobot.datasets.video_utils.VALID_VIDEO_CODECS, minus "auto"
# which probes hardware and is accepted too); checked here so a typo fails before any frame.
SOFTWARE_CODECS = ("libsvtav1", "h264", "hevc")
DEFAULT_REPO_ID = "local/dora-sim-so101"
# LeRobot's action feature, and the recorder's input of that name: wire the simulator's
# APPLIED_ACTION to it (the joint target applied that tick, IK-resolved for Cartesian commands).
ACTION_FEATURE = "action"
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class RecorderConfig:
    repo_id: str
    root: Path
    num_episodes: int  # episodes the dataset should hold at the end; 0 = no limit
    vcodec: str
    export_mode: str
    push_to_hub: bool
    private: bool
    resume: bool
    state_inputs: tuple[str, ...]  # inputs concatenated, in order, into observation.state
    extra_inputs: tuple[tuple[str, str], ...]  # (feature key, input id) recorded as their own
    robot_type: str
    encoder_threads: int | None
    buffer_mb: int = 512  # frames acknowledged ahead of the writer, at most this much memory
    frame_delay_s: float = 0.0  # extra time the writer takes per frame (tests: a slow disk)

    @property
    def work_dir(self) -> Path:
        return store.work_dir(self.root)


def resolve_root(raw: str, base: Path) -> Path:
    """Relative roots are taken from the user's shell directory, not the node's.

    dora starts nodes in the dataflow file's directory, but ``DATASET_ROOT=outputs/x dora run …``
    means ``outputs/x`` next to the user; the shell's ``PWD`` survives into the node.
    """
    path = Path(raw).expanduser()
    return (path if path.is_absolute() else base / path).resolve()


def parse_extra_inputs(items: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``EXTRA_INPUTS=scene,observation.environment_state=scene`` → (feature key, input id)."""
    pairs = []
    for item in items:
        feature, _, input_id = item.rpartition("=")
        if not feature:
            feature = input_id if input_id.startswith("observation.") else f"observation.{input_id}"
        if (
            not input_id
            or feature in (ACTION_FEATURE, c.STATE)
            or feature.startswith(c.IMAGE_PREFIX)
        ):
            raise ConfigError(
                f"EXTRA_INPUTS item {item!r}: expected [feature=]input, not a "
                "name that the recorder already uses"
            )
        pairs.append((feature, input_id))
    if len({f for f, _ in pairs}) != len(pairs):
        raise ConfigError(f"EXTRA_INPUTS: duplicate feature names in {','.join(items)}")
    return tuple(pairs)


def load_config() -> RecorderConfig:
    repo_id = env_str("REPO_ID", DEFAULT_REPO_ID)
    if not _REPO_ID.match(repo_id):
        raise ConfigError(f"REPO_ID={repo_id!r}: expected '<user or org>/<name>'")
    base = Path(os.environ.get("PWD") or os.getcwd())
    # A dataflow may set DEFAULT_DATASET_ROOT (the shell's DATASET_ROOT still wins); "{time}" in it
    # becomes the start time, so a demo can be run again without tripping over its last dataset.
    default_root = env_str("DEFAULT_DATASET_ROOT", f"outputs/datasets/{repo_id}").replace(
        "{time}", time.strftime("%Y%m%d-%H%M%S")
    )
    export_mode = env_str("EXPORT_MODE", EXPORT_ALL).lower()
    if export_mode not in EXPORT_MODES:
        raise ConfigError(f"EXPORT_MODE={export_mode!r}: expected one of {', '.join(EXPORT_MODES)}")
    # h264 by default: at LeRobot's GOP of 2 (random access for training) it encodes a 480x640
    # stream in ~4 ms of CPU a frame where libsvtav1 takes ~12, in smaller files (recorder.md).
    vcodec = env_str("VCODEC", "h264")
    if vcodec not in (*SOFTWARE_CODECS, "auto") and not vcodec.endswith(
        ("_nvenc", "_vaapi", "_qsv", "_videotoolbox")
    ):
        raise ConfigError(
            f"VCODEC={vcodec!r}: expected libsvtav1, h264, hevc, auto or a hardware "
            "encoder such as h264_nvenc"
        )
    threads = env_int("ENCODER_THREADS", 0, minimum=0)
    return RecorderConfig(
        repo_id=repo_id,
        root=resolve_root(env_str("DATASET_ROOT", default_root), base),
        num_episodes=env_int("NUM_EPISODES", 2, minimum=0),
        vcodec=vcodec,
        export_mode=export_mode,
        push_to_hub=env_bool("PUSH_TO_HUB", False),
        private=env_bool("HUB_PRIVATE", False),
        resume=env_bool("RESUME_RECORDING", False),
        state_inputs=env_list("STATE_INPUTS", (c.STATE,)),
        extra_inputs=parse_extra_inputs(env_list("EXTRA_INPUTS", ())),
        robot_type=env_str("ROBOT_TYPE", c.ROBOT_TYPE),
        encoder_threads=threads or None,
        buffer_mb=env_int("RECORDER_BUFFER_MB", 512, minimum=1),
        frame_delay_s=env_float("RECORDER_FRAME_DELAY_S", 0.0, minimum=0.0, maximum=10.0),
    )
