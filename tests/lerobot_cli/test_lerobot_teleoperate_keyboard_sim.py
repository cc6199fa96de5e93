"""``lerobot-teleoperate --robot.type=dora_sim_so101 --teleop.type=keyboard_ee`` under Xvfb, keys
pressed with xdotool: LeRobot's keyboard teleoperator (pynput) jogs the simulated gripper through
the sim's IK. The sim's joints come back through ``--display_data`` (a headless Rerun server) and
the gripper's height is computed from them with the sim's own kinematics."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from dora_sim import contract as c
from dora_sim.units import contract_to_sim

from .kit import BIN, Home, free_port

pytestmark = [pytest.mark.slow, pytest.mark.display]

SPEED_M_S = 0.1  # the robot's default ee_speed_m_s
HOLD_S = 2.0


def column(rrd: Path, entity: str) -> np.ndarray:
    from dora_sim_rerun import readback

    _, cells = readback.column(rrd, entity, "Scalars:scalars", index="log_time")
    return np.array(cells, dtype=np.float64).reshape(-1)


def wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_keyboard_ee_raises_the_gripper_at_the_jog_speed(home: Home) -> None:
    if not (shutil.which("Xvfb") and shutil.which("xdotool")):
        pytest.skip("needs Xvfb and xdotool (apt-get install xvfb xdotool)")
    display = f":{60 + os.getpid() % 30}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "800x600x24", "-nolisten", "tcp"])
    rrd, port, log = home.root / "keyboard.rrd", free_port(), home.root / "keyboard.log"
    server = subprocess.Popen(
        [str(BIN / "rerun"), "--serve-grpc", "--port", str(port), "--save", str(rrd)],
        env=home.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    keys = {**home.env(), "DISPLAY": display}
    with log.open("w") as out:
        teleop = subprocess.Popen(
            [str(BIN / "lerobot-teleoperate"), "--robot.type=dora_sim_so101",
             "--robot.reset_arm=true", "--robot.cameras={front: {height: 48, width: 64}}",
             "--teleop.type=keyboard_ee", "--fps=30", "--teleop_time_s=6", "--display_data=true",
             "--display_ip=127.0.0.1", f"--display_port={port}"],
            env={**keys, "MUJOCO_GL": "egl"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_for(lambda: "Teleop loop time" in log.read_text(), 120, "the teleop loop")
            time.sleep(0.5)
            subprocess.run(["xdotool", "keydown", "Shift_R"], env=keys, check=True)  # up
            time.sleep(HOLD_S)
            subprocess.run(["xdotool", "keyup", "Shift_R"], env=keys, check=True)
            assert teleop.wait(timeout=60) == 0, log.read_text()[-3000:]
        finally:
            for process in (teleop, server, xvfb):
                if process.poll() is None:
                    process.send_signal(subprocess.signal.SIGINT)
                    process.wait(timeout=20)

    joints = np.stack([column(rrd, f"observation.{n}") for n in c.MOTOR_FEATURE_NAMES], axis=1)
    pressed = np.flatnonzero(column(rrd, "action.delta_z") > 0)
    assert len(pressed) > 0.8 * HOLD_S * 30, "LeRobot's keyboard teleoperator saw no Shift_R"
    # mujoco picks its GL backend when first imported: after dora_sim_mujoco chose headless EGL
    from lerobot_robot_dora_sim.simulation import build_simulator  # noqa: I001
    import mujoco

    sim = build_simulator(task="pick-cube", fps=30, cameras={}, render_profile="fast",
                          simulator="mujoco", reset_arm=True)  # fmt: skip

    def gripper_position(frame: int) -> np.ndarray:
        sim.data.qpos[sim.qadr] = contract_to_sim(joints[frame], sim.gripper_range)
        mujoco.mj_forward(sim.model, sim.data)
        return sim.ee_pose()[:3].copy()

    # frame k's observation precedes frame k's action: the jog shows from the frame after
    moved = gripper_position(pressed[-1] + 1) - gripper_position(pressed[0])
    expected = len(pressed) / 30 * SPEED_M_S
    assert moved[2] == pytest.approx(expected, rel=0.25), moved
    assert np.abs(moved[:2]).max() < 0.02, moved
    sim.close()
