"""Fake ``isaaclab.sensors``: camera configs and a ``TiledCamera`` whose RGB output is a drawing.

Like Isaac Lab's, the output ``data.output["rgb"]`` is a (N, H, W, 3) uint8 tensor on the sim
device that only changes when the simulation renders; before the first render it is black.
The drawing is an orthographic top view: robot bodies in blue, rigid objects in green.
"""

from __future__ import annotations

import re
from typing import Any

import torch

from isaaclab.utils import configclass

ROBOT_COLOR, OBJECT_COLOR = (40, 60, 220), (40, 200, 60)


@configclass
class CameraCfg:
    @configclass
    class OffsetCfg:
        pos: tuple = (0.0, 0.0, 0.0)
        rot: tuple = (1.0, 0.0, 0.0, 0.0)
        convention: str = "ros"

    prim_path: str = ""
    offset: Any = OffsetCfg()
    spawn: Any = None
    data_types: list = ["rgb"]
    height: int = 100
    width: int = 100
    update_period: float = 0.0


@configclass
class TiledCameraCfg(CameraCfg):
    pass


class CameraData:
    def __init__(self) -> None:
        self.output: dict[str, torch.Tensor] = {}


class TiledCamera:
    def __init__(self, cfg: CameraCfg, scene: Any):
        self.cfg, self._scene = cfg, scene
        self.data = CameraData()
        n, device = scene.num_envs, scene.device
        if "rgb" in cfg.data_types:
            self.data.output["rgb"] = torch.zeros(
                n, cfg.height, cfg.width, 3, dtype=torch.uint8, device=device
            )
        # A camera under a robot link ("…/Robot/<link>/Name") follows that link.
        match = re.search(r"/Robot/([^/]+)/", cfg.prim_path)
        self._link = match.group(1) if match else None

    def update(self, dt: float) -> None:
        """Buffers change only when the simulation renders."""

    def reset(self, env_ids: Any = None) -> None:
        """Nothing to reset."""

    def draw(self) -> None:
        if "rgb" not in self.data.output:
            return
        image = self.data.output["rgb"]
        height, width = image.shape[1:3]
        robots = list(self._scene.articulations.values())
        for env in range(self._scene.num_envs):
            origin = self._scene.env_origins[env]
            center, span = origin[:2] + torch.tensor([0.2, 0.0], device=origin.device), 0.35
            if self._link is not None and robots:
                link = robots[0].body_names.index(self._link)
                center, span = robots[0].data.body_pos_w[env, link, :2], 0.15
            image[env] = torch.tensor([90, 90, 80], dtype=torch.uint8)
            bodies = [pos for robot in robots for pos in robot.data.body_pos_w[env]]
            objects = [obj.data.root_pos_w[env] for obj in self._scene.rigid_objects.values()]
            points = [(pos, ROBOT_COLOR) for pos in bodies] + [
                (pos, OBJECT_COLOR) for pos in objects
            ]
            for pos, color in points:
                u, v = (pos[:2] - center) / span  # -1..1 across the view
                row, col = int((1 - u) / 2 * height), int((1 + v) / 2 * width)
                if 0 <= row < height and 0 <= col < width:
                    image[env, max(0, row - 1) : row + 2, max(0, col - 1) : col + 2] = torch.tensor(
                        color, dtype=torch.uint8
                    )
