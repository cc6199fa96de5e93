"""Which dora inputs become which dataset features, and the LeRobot feature spec they make.

Pure data (no LeRobot import): the node derives a :class:`StreamLayout` from its wired inputs and
the configuration, turns each assembled tick into a ``{feature: array}`` frame, and derives the
LeRobot ``features`` dict from the first frame's shapes. Resume compares that dict with the one
already in the dataset and names every difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from dora_sim import contract as c
from dora_sim_recorder.config import ACTION_FEATURE, ConfigError, RecorderConfig

IMAGE_NAMES = ["height", "width", "channels"]
JOINT_INPUTS = frozenset({c.STATE, ACTION_FEATURE})


@dataclass(frozen=True)
class StreamLayout:
    action: bool  # the `action` input is wired (the target the simulator applied)
    state_inputs: tuple[str, ...]
    extra_inputs: tuple[tuple[str, str], ...]  # (feature key, input id)
    cameras: tuple[str, ...]  # input ids, e.g. observation.images.front

    @property
    def streams(self) -> tuple[str, ...]:
        """Every per-tick input a frame is assembled from."""
        joints = (ACTION_FEATURE,) if self.action else ()
        extras = tuple(input_id for _, input_id in self.extra_inputs)
        ordered = (*joints, *self.state_inputs, *extras, *self.cameras)
        return tuple(dict.fromkeys(ordered))

    def frame(self, parts: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One assembled tick → the dataset frame (without ``task``)."""
        frame: dict[str, np.ndarray] = {}
        if self.action:
            frame[ACTION_FEATURE] = parts[ACTION_FEATURE]
        if self.state_inputs:
            vectors = [np.asarray(parts[i], dtype=np.float32) for i in self.state_inputs]
            frame[c.STATE] = vectors[0] if len(vectors) == 1 else np.concatenate(vectors)
        for feature, input_id in self.extra_inputs:
            frame[feature] = parts[input_id]
        for camera in self.cameras:
            frame[camera] = parts[camera]
        return frame

    def names(self, input_id: str, size: int) -> list[str]:
        if input_id in JOINT_INPUTS and size == c.NUM_JOINTS:
            return list(c.MOTOR_FEATURE_NAMES)
        return [f"{input_id}.{i}" for i in range(size)]

    def features(self, parts: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
        """LeRobot feature spec for frames shaped like ``parts`` (one assembled tick)."""
        features: dict[str, dict[str, Any]] = {}
        if self.action:
            features[ACTION_FEATURE] = _vector_feature(
                self.names(ACTION_FEATURE, parts[ACTION_FEATURE].size)
            )
        if self.state_inputs:
            names = [n for i in self.state_inputs for n in self.names(i, parts[i].size)]
            features[c.STATE] = _vector_feature(names)
        for feature, input_id in self.extra_inputs:
            features[feature] = _vector_feature(self.names(input_id, parts[input_id].size))
        for camera in self.cameras:
            features[camera] = {
                "dtype": "video",
                "shape": tuple(int(n) for n in parts[camera].shape),
                "names": list(IMAGE_NAMES),
            }
        return features


def _vector_feature(names: list[str]) -> dict[str, Any]:
    return {"dtype": "float32", "shape": (len(names),), "names": names}


def layout_from_inputs(inputs: Iterable[str], config: RecorderConfig) -> StreamLayout:
    """Check the wiring against the configuration; raise ConfigError naming what is missing."""
    wired = set(inputs)
    if c.EPISODE not in wired:
        raise ConfigError(
            f"input {c.EPISODE!r} is not wired: the recorder takes episode "
            "boundaries from the simulator's episode events"
        )
    missing = [i for i in config.state_inputs if i not in wired]
    missing += [i for _, i in config.extra_inputs if i not in wired]
    if missing:
        raise ConfigError(
            f"STATE_INPUTS/EXTRA_INPUTS name input(s) {', '.join(missing)} that are "
            f"not wired to the recorder (wired: {', '.join(sorted(wired))})"
        )
    cameras = tuple(sorted(i for i in wired if i.startswith(c.IMAGE_PREFIX)))
    layout = StreamLayout(
        action=ACTION_FEATURE in wired,
        state_inputs=config.state_inputs,
        extra_inputs=config.extra_inputs,
        cameras=cameras,
    )
    if not layout.streams:
        raise ConfigError(
            "nothing to record: wire `action`, `observation.state` or a camera "
            "(`observation.images.<name>`) to the recorder, or set "
            "STATE_INPUTS/EXTRA_INPUTS"
        )
    return layout


def feature_differences(existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """Human-readable differences between a dataset's features and the ones to be recorded.

    LeRobot adds its bookkeeping features (timestamp, frame_index, …) to every dataset; only the
    recorded ones are compared.
    """
    problems = []
    for key in sorted(set(existing) | set(wanted)):
        if key in _LEROBOT_DEFAULT_FEATURES:
            continue
        if key not in wanted:
            problems.append(f"feature {key!r} is in the dataset but not recorded now")
        elif key not in existing:
            problems.append(f"feature {key!r} is recorded now but not in the dataset")
        else:
            old, new = existing[key], wanted[key]
            for field in ("dtype", "shape", "names"):
                a, b = _normal(old.get(field)), _normal(new.get(field))
                if a != b:
                    problems.append(f"feature {key!r} {field}: dataset has {a}, now {b}")
    return problems


_LEROBOT_DEFAULT_FEATURES = frozenset(
    {"timestamp", "frame_index", "episode_index", "index", "task_index"}
)


def _normal(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_normal(v) for v in value)
    return value
