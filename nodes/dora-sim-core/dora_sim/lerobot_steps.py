"""The contract's unit conversions as LeRobot processor steps, for LeRobot-facing code only.

Importing this module imports ``lerobot.processor`` (~5 s, ~0.9 GB): the simulator, teleop and
expert nodes must not import it; they use :mod:`dora_sim.units` directly.

Both steps work on LeRobot's per-motor dictionaries (``"shoulder_pan.pos"`` … ``"gripper.pos"``)
and change units only, never keys, so they drop into a ``RobotProcessorPipeline`` next to
LeRobot's own steps (e.g. between a real SO-101 leader and a simulated follower).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from lerobot.configs.types import PipelineFeatureType, PolicyFeature
from lerobot.processor import (
    ObservationProcessorStep,
    ProcessorStepRegistry,
    RobotAction,
    RobotActionProcessorStep,
    RobotObservation,
)

from dora_sim import contract as c
from dora_sim.units import SO101_GRIPPER_RANGE_RAD, contract_to_sim, sim_to_contract


def _vector(values: dict[str, Any]) -> np.ndarray:
    return np.array([float(values[key]) for key in c.MOTOR_FEATURE_NAMES])


def _with_vector(values: dict[str, Any], vector: np.ndarray) -> dict[str, Any]:
    out = dict(values)
    out.update({key: float(v) for key, v in zip(c.MOTOR_FEATURE_NAMES, vector, strict=True)})
    return out


@ProcessorStepRegistry.register(name="dora_sim_so101_to_sim_action")
@dataclass
class So101ToSimActionStep(RobotActionProcessorStep):
    """Action in so101 units (degrees, gripper 0-100) -> simulator joint radians, same keys."""

    gripper_range_rad: tuple[float, float] = field(default=SO101_GRIPPER_RANGE_RAD)

    def action(self, action: RobotAction) -> RobotAction:
        return _with_vector(action, contract_to_sim(_vector(action), self.gripper_range_rad))

    def get_config(self) -> dict[str, Any]:
        return {"gripper_range_rad": list(self.gripper_range_rad)}

    def transform_features(
        self, features: dict[PipelineFeatureType, dict[str, PolicyFeature]]
    ) -> dict[PipelineFeatureType, dict[str, PolicyFeature]]:
        return features


@ProcessorStepRegistry.register(name="dora_sim_sim_to_so101_observation")
@dataclass
class SimToSo101ObservationStep(ObservationProcessorStep):
    """Observation with simulator joint radians -> so101 units, same keys; other keys untouched."""

    gripper_range_rad: tuple[float, float] = field(default=SO101_GRIPPER_RANGE_RAD)

    def observation(self, observation: RobotObservation) -> RobotObservation:
        vector = sim_to_contract(_vector(observation), self.gripper_range_rad)
        return _with_vector(observation, vector)

    def get_config(self) -> dict[str, Any]:
        return {"gripper_range_rad": list(self.gripper_range_rad)}

    def transform_features(
        self, features: dict[PipelineFeatureType, dict[str, PolicyFeature]]
    ) -> dict[PipelineFeatureType, dict[str, PolicyFeature]]:
        return features
