"""dora-sim-mujoco: the MuJoCo SO-101 simulator node of dora-sim.

MuJoCo picks its OpenGL backend when it is first imported, so headless EGL rendering is chosen
here, before any submodule imports ``mujoco`` (a user's own ``MUJOCO_GL`` always wins).
"""

import os

if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
    os.environ["MUJOCO_GL"] = "egl"
if os.environ.get("MUJOCO_GL") == "egl":
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
