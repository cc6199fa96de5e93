"""Optional MuJoCo passive viewer window, for teleoperating by eye when a display exists."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import mujoco

log = logging.getLogger("dora-sim-mujoco")
CLOSE_TIMEOUT_S = 3.0


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
        """Close the window and wait for the viewer thread to let go of its GL context.

        Exiting while that thread is still tearing down crashed MuJoCo 3.17 (SIGSEGV at exit,
        about one run in three under Xvfb); waiting until it reports stopped avoids it.
        """
        if self.handle is None:
            return
        self.handle.close()
        deadline = time.monotonic() + CLOSE_TIMEOUT_S
        while self.handle.is_running() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # is_running() turns false before the render thread has fully exited
        self.handle = None
