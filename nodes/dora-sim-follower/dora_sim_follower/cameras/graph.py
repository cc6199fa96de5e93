"""A LeRobot camera whose frames come from the dataflow (e.g. the simulator's render).

With a virtual follower, the simulator mirroring it can stand in for its cameras: the follower
node pushes each image it receives on ``observation.images.<name>`` into the camera of that
name, and ``SOFollower.get_observation()`` reads it back as it would a USB camera's frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dora_sim_follower.cameras.configs import GraphCameraConfig
from dora_sim_follower.cameras.frames import LatestFrame, SlotCamera


class GraphCamera(SlotCamera):
    def __init__(self, config: GraphCameraConfig) -> None:
        super().__init__(config)
        self.config = config
        self.frames = LatestFrame(str(self))
        self._connected = False

    @property
    def is_connected(self) -> bool:
        return self._connected

    @staticmethod
    def find_cameras() -> list[dict[str, Any]]:
        return []  # nothing to discover: frames arrive from the dataflow

    def connect(self, warmup: bool = True) -> None:
        self._connected = True

    def push(self, frame: np.ndarray) -> None:
        """A frame from the dataflow; copied, since dora's shared memory is released after the
        event is handled. ValueError when its size is not the configured one."""
        if frame.shape[:2] != (self.height, self.width):
            raise ValueError(
                f"frames of {frame.shape[1]}x{frame.shape[0]} for a camera configured at"
                f" {self.width}x{self.height}"
            )
        self.frames.put(frame.copy())

    def disconnect(self) -> None:
        self._connected = False
