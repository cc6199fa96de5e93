"""The optional MuJoCo viewer window opens on an X display and shows the arm (under Xvfb)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

SHOW_VIEWER = """
import time
from PIL import ImageGrab
from dora_sim_mujoco.simulator import SimConfig, Simulator
from dora_sim_mujoco.viewer import PassiveViewer

sim = Simulator(SimConfig(cameras=()))
sim.reset(0)
viewer = PassiveViewer.open(sim.model, sim.data)
assert viewer.handle is not None, "viewer did not open"
for _ in range(60):
    sim.step()
    viewer.sync()
    time.sleep(0.03)
ImageGrab.grab(xdisplay=None).save({path!r})
viewer.close()
"""


@pytest.fixture
def xvfb():
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    display = f":{90 + os.getpid() % 9}"
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", "800x600x24", "-nolisten", "tcp"])
    time.sleep(1.0)
    yield display
    server.terminate()
    server.wait(timeout=10)


@pytest.mark.display
def test_viewer_shows_the_arm(xvfb, tmp_path):
    shot = tmp_path / "viewer.png"
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "EGL_PLATFORM")}
    env["DISPLAY"] = xvfb
    result = subprocess.run(
        [sys.executable, "-c", SHOW_VIEWER.format(path=str(shot))],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    # The SO-101's printed parts are yellow (1, 0.82, 0.12): find them on screen.
    yellow = (pixels[..., 0] > 150) & (pixels[..., 1] > 110) & (pixels[..., 2] < 90)
    assert yellow.sum() > 500, f"only {yellow.sum()} arm-coloured pixels in the viewer window"
