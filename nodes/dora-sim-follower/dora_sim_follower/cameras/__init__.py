"""Cameras for a follower without real ones, as LeRobot camera plugins.

``SOFollower`` builds them from its ``cameras`` configs like any LeRobot camera
(``make_cameras_from_configs`` finds a plugin's class next to its config class), so the node
reads them through ``get_observation()`` exactly as it reads OpenCV or RealSense cameras:

- ``dora_sim_dataset``: the frames of a recorded episode's video, played at the dataset's fps;
- ``dora_sim_graph``: frames received from the dataflow, e.g. the simulator's render.
"""

from dora_sim_follower.cameras.configs import DatasetCameraConfig, GraphCameraConfig
from dora_sim_follower.cameras.dataset import DatasetCamera
from dora_sim_follower.cameras.graph import GraphCamera

__all__ = ["DatasetCamera", "DatasetCameraConfig", "GraphCamera", "GraphCameraConfig"]
