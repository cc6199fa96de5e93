"""Configs of the virtual cameras, registered with LeRobot's ``CameraConfig`` choice registry.

A robot's camera config must carry its fps, width and height (LeRobot's ``RobotConfig`` checks):
the dataset camera takes them from the dataset; the graph camera's must be given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lerobot.cameras import CameraConfig

from dora_sim_leader.virtual.dataset import DatasetInfo

DATASET_CAMERA = "dora_sim_dataset"
GRAPH_CAMERA = "dora_sim_graph"


@CameraConfig.register_subclass(DATASET_CAMERA)
@dataclass(kw_only=True)
class DatasetCameraConfig(CameraConfig):
    """``{type: dora_sim_dataset, root: outputs/datasets/x, key: front, episode: 0}``; fps, width
    and height come from the dataset."""

    root: Path
    key: str  # camera name (``front``) or feature key (``observation.images.front``)
    episode: int = 0

    def __post_init__(self) -> None:
        info = DatasetInfo.load(Path(self.root))
        self.height, self.width = info.features[info.video_key(self.key)]["shape"][:2]
        self.fps = round(info.fps)


@CameraConfig.register_subclass(GRAPH_CAMERA)
@dataclass(kw_only=True)
class GraphCameraConfig(CameraConfig):
    """``{type: dora_sim_graph, width: 320, height: 240, fps: 30}``: the follower node feeds it
    from its input ``observation.images.<name>`` (wire that to, e.g., a simulator's camera
    output; the simulator's IMAGE_WIDTH and IMAGE_HEIGHT must match)."""
