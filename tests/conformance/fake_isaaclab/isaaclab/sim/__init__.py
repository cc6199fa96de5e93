"""Fake ``isaaclab.sim``: simulation and spawner configs, and the ``SimulationContext``."""

from __future__ import annotations

from typing import Any

from isaaclab.app import running_app
from isaaclab.utils import configclass


@configclass
class SimulationCfg:
    dt: float = 1.0 / 60.0
    render_interval: int = 1
    device: str = "cuda:0"
    use_fabric: bool = True


@configclass
class PinholeCameraCfg:
    focal_length: float = 24.0
    horizontal_aperture: float = 20.955
    clipping_range: tuple = (0.01, 1e6)


@configclass
class UrdfFileCfg:
    """Fake-only stand-in for the robot's USD/URDF: the kinematic chain, in articulation order.

    ``joints``: (name, parent body, child body, origin xyz in the parent, axis "y"|"z",
    lower, upper) per joint; the first body of the first joint is the fixed root. The jaws hold
    an object when ``grip_joint`` is nearly closed and the object is at ``grip_link``'s grip point.
    """

    asset_path: str = ""
    joints: tuple = ()
    grip_link: str = "gripper_link"
    grip_joint: str = "gripper"


class SimulationContext:
    """Steps the scene's pretend physics; renders cameras on ``render()``."""

    def __init__(self, cfg: SimulationCfg):
        self.app = running_app()
        self.cfg = cfg
        self.device = cfg.device
        self.physics: list[Any] = []  # assets stepped by step()
        self.cameras: list[Any] = []  # sensors drawn by render()

    def is_playing(self) -> bool:
        return True

    def has_gui(self) -> bool:
        return not self.app.headless

    def has_rtx_sensors(self) -> bool:
        return bool(self.cameras)

    def step(self, render: bool = True) -> None:
        for asset in self.physics:
            asset.simulate(self.cfg.dt)
        if render:
            self.render()

    def forward(self) -> None:
        for asset in self.physics:
            asset.update(0.0)

    def render(self) -> None:
        for camera in self.cameras:
            camera.draw()
