"""FOLLOWER_CAMERAS: the follower's cameras in ``lerobot-record --robot.cameras`` syntax.

``{front: {type: opencv, index_or_path: 0, width: 640, height: 480, fps: 30}}`` works as it does
for LeRobot, and so do RealSense, ZMQ, Reachy 2 and third-party camera plugins, plus this
package's ``dora_sim_dataset`` and ``dora_sim_graph`` cameras.
"""

from __future__ import annotations

import draccus
import yaml
from lerobot.cameras import CameraConfig
from lerobot.cameras.opencv import OpenCVCameraConfig
from lerobot.cameras.reachy2_camera import Reachy2CameraConfig
from lerobot.cameras.realsense import RealSenseCameraConfig
from lerobot.cameras.zmq import ZMQCameraConfig
from lerobot.utils.import_utils import register_third_party_plugins

from dora_sim.config import ConfigError
from dora_sim_follower.cameras.configs import DatasetCameraConfig, GraphCameraConfig

# Importing a config class registers its ``type`` with draccus (as lerobot-record does).
KNOWN = (
    OpenCVCameraConfig,
    RealSenseCameraConfig,
    ZMQCameraConfig,
    Reachy2CameraConfig,
    DatasetCameraConfig,
    GraphCameraConfig,
)


def parse_cameras(spec: str) -> dict[str, CameraConfig]:
    """Camera name -> LeRobot camera config; ConfigError (with the known types) when malformed."""
    if not spec.strip():
        return {}
    try:
        raw = yaml.safe_load(spec)
        if not isinstance(raw, dict):
            raise ValueError("expected a mapping of camera name -> {type: …, …}")
        wanted = {str(cam.get("type")) for cam in raw.values() if isinstance(cam, dict)}
        if not wanted <= set(CameraConfig.get_known_choices()):
            register_third_party_plugins()  # only then: it imports every lerobot_* plugin
        return draccus.decode(dict[str, CameraConfig], raw)
    except Exception as err:  # yaml, draccus and dataclass errors alike
        types = ", ".join(CameraConfig.get_known_choices())
        raise ConfigError(
            f"FOLLOWER_CAMERAS={spec!r}: {err}\nExpected lerobot-record's --robot.cameras"
            f" syntax, e.g. {{front: {{type: opencv, index_or_path: 0, width: 640, height: 480,"
            f" fps: 30}}}}; camera types: {types}"
        ) from err
