"""Policy-node configuration from the environment (the node's ``env:`` block or the user's shell).

``POLICY_PATH`` is meant to come from the shell, so ``dataflow-eval.yaml`` leaves it out of its YAML
(a YAML ``env:`` literal would override the shell).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dora_sim.config import ConfigError, env_float, env_int, env_str, eval_mode

DEVICES = ("auto", "cuda", "mps", "cpu")
# LeRobot's async-inference aggregate functions (lerobot.async_inference.configs), by name.
AGGREGATE_NAMES = ("weighted_average", "latest_only", "average", "conservative")


@dataclass(frozen=True)
class PolicyConfig:
    policy: str  # local checkpoint directory (absolute) or a Hub repo id
    device: str  # auto | cuda | cuda:N | mps | cpu
    rename_map: dict[str, str]  # contract key -> policy input key
    task: str  # overrides the simulator's task instruction when not empty
    actions_per_chunk: int  # 0 = the policy's n_action_steps
    chunk_threshold: float  # ask for a new chunk when this fraction of the chunk is left
    aggregate: str  # how overlapping steps of two chunks merge (LeRobot async inference names)
    delay_s: float  # extra seconds per inference: simulates a slower policy (tests, benchmarks)
    missing_input_frames: int  # frames after which a wired input that never arrived is fatal
    mode: str = "realtime"  # EVAL_MODE: realtime | lockstep (dora_sim.sim_node)


def parse_rename_map(raw: str) -> dict[str, str]:
    """``observation.images.front=observation.images.camera1,…`` (``:`` also accepted)."""
    mapping: dict[str, str] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        sep = "=" if "=" in item else ":"
        source, _, target = (s.strip() for s in item.partition(sep))
        if not source or not target:
            raise ConfigError(f"RENAME_MAP item {item!r}: expected <contract key>=<policy key>")
        mapping[source] = target
    return mapping


def resolve_policy(raw: str, base: Path) -> str:
    """A path that exists (relative to the user's shell directory) or a Hub repo id.

    dora starts nodes in the dataflow file's directory, but ``POLICY_PATH=outputs/… dora run …``
    means a path next to the user; the shell's ``PWD`` survives into the node.
    """
    path = Path(raw).expanduser()
    candidate = path if path.is_absolute() else base / path
    if candidate.exists():
        return str(candidate.resolve())
    if path.is_absolute() or raw.startswith((".", "~")) or raw.count("/") != 1:
        raise ConfigError(
            f"POLICY_PATH={raw!r}: no such directory, and not a Hub id (<org>/<name>)"
        )
    return raw


def load_config() -> PolicyConfig:
    raw_policy = env_str("POLICY_PATH", "")
    if not raw_policy:
        raise ConfigError(
            "POLICY_PATH is not set: give a checkpoint directory (e.g. outputs/train/act/"
            "checkpoints/last/pretrained_model) or a Hub repo id"
        )
    device = env_str("POLICY_DEVICE", "auto")
    if device.split(":")[0] not in DEVICES:
        raise ConfigError(f"POLICY_DEVICE={device!r}: expected one of {', '.join(DEVICES)}")
    aggregate = env_str("AGGREGATE_FN", "weighted_average")
    if aggregate not in AGGREGATE_NAMES:
        raise ConfigError(
            f"AGGREGATE_FN={aggregate!r}: expected one of {', '.join(AGGREGATE_NAMES)}"
        )
    threshold = env_float("CHUNK_THRESHOLD", 0.5, minimum=0.0, maximum=1.0)
    return PolicyConfig(
        policy=resolve_policy(raw_policy, Path(os.environ.get("PWD") or os.getcwd())),
        device=device,
        rename_map=parse_rename_map(env_str("RENAME_MAP", "")),
        task=env_str("POLICY_TASK", ""),
        actions_per_chunk=env_int("ACTIONS_PER_CHUNK", 0, minimum=0),
        chunk_threshold=threshold,
        aggregate=aggregate,
        delay_s=env_float("POLICY_DELAY_S", 0.0, minimum=0.0),
        missing_input_frames=env_int("MISSING_INPUT_FRAMES", 60, minimum=1),
        mode=eval_mode(),
    )
