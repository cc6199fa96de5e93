"""Build the dora graph's own simulator from a LeRobot-side configuration.

Both LeRobot plugins (this robot and ``lerobot_env_dora_sim``) drive the very ``Simulator`` class
the ``dora-sim-mujoco`` node runs, so the scene, cameras, units, seeding and success predicate are
the dora graph's, not a copy of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # mujoco is imported when a simulator is built, not when LeRobot loads plugins
    from dora_sim_mujoco.simulator import Simulator

SIMULATORS = ("mujoco",)
DEFAULT_CAMERAS = ("front", "wrist")


@dataclass
class SimCameraConfig:
    """One rendered camera of the scene (``front`` or ``wrist``) and its image size in pixels.

    Cameras render every tick of sim time, so unlike a real camera there is no ``fps`` to set.
    """

    height: int = 240
    width: int = 320


def default_cameras() -> dict[str, SimCameraConfig]:
    return {name: SimCameraConfig() for name in DEFAULT_CAMERAS}


def image_size(cameras: dict[str, SimCameraConfig]) -> tuple[int, int]:
    """The (height, width) every camera shares: the simulator renders all cameras with one
    renderer, as the dora node does. With no cameras the size is unused."""
    sizes = {(cam.height, cam.width) for cam in cameras.values()}
    if len(sizes) > 1:
        listed = ", ".join(f"{name} {cam.height}x{cam.width}" for name, cam in cameras.items())
        raise ValueError(f"all cameras must have the same size (got {listed})")
    height, width = sizes.pop() if sizes else (SimCameraConfig.height, SimCameraConfig.width)
    if min(height, width) < 16:
        raise ValueError(f"camera images must be at least 16x16 pixels (got {height}x{width})")
    return height, width


def build_simulator(
    *,
    task: str,
    fps: int,
    cameras: dict[str, SimCameraConfig],
    render_profile: str,
    simulator: str,
    reset_arm: bool,
) -> Simulator:
    """The MuJoCo ``Simulator`` of ``dora-sim-mujoco`` with these settings.

    Raises ``ValueError`` naming the bad setting (task, camera, size, profile, simulator): every
    check but the size and the simulator name is the dora node's own.
    """
    if simulator not in SIMULATORS:
        raise ValueError(
            f"unknown simulator {simulator!r}; available here: {', '.join(SIMULATORS)}. The"
            " Isaac Lab simulator runs in Isaac Lab's own Python: use the dataflows/*-isaac.yaml"
            " graphs (docs/isaac.md)"
        )
    if fps < 1:
        raise ValueError(f"fps must be at least 1 (got {fps})")
    height, width = image_size(cameras)
    from dora_sim_mujoco.simulator import SimConfig, Simulator

    config = SimConfig(
        task=task,
        fps=fps,
        cameras=tuple(cameras),
        height=height,
        width=width,
        profile=render_profile,
        reset_arm=reset_arm,
    )
    return Simulator(config)
