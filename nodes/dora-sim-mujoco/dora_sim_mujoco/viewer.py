"""Optional MuJoCo passive viewer window, for teleoperating by eye when a display exists."""

from __future__ import annotations

import logging
import os
from typing import Any

import mujoco

log = logging.getLogger("dora-sim-mujoco")


class PassiveViewer:
    def __init__(self, handle: Any | None):
        self.handle = handle

    @classmethod
    def none(cls) -> PassiveViewer:
        return cls(None)

    @classmethod
    def open(cls, model: mujoco.MjModel, data: mujoco.MjData) -> PassiveViewer:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            log.warning("VIEWER is on but there is no display (DISPLAY unset): running headless")
            return cls.none()
        try:
            import mujoco.viewer

            handle = mujoco.viewer.launch_passive(
                model, data, show_left_ui=False, show_right_ui=False
            )
        except Exception as err:  # any GL/GLFW failure: keep simulating without a window
            log.warning("could not open the MuJoCo viewer (%s): running headless", err)
            return cls.none()
        handle.cam.lookat[:] = [0.2, 0.0, 0.05]
        handle.cam.distance, handle.cam.azimuth, handle.cam.elevation = 0.75, 200.0, -30.0
        return cls(handle)

    def sync(self) -> None:
        if self.handle is not None and self.handle.is_running():
            self.handle.sync()

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
