"""Keyboard -> sim through a real `dora run`: Xvfb + xdotool, a tmux terminal, no keyboard at all.

A probe node logs the sim's scene (gripper pose), state, episode events and the keyboard's
outputs; the assertions read that log while keys are injected.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from keyboard_testkit import (
    SIM_ENV,
    DoraRun,
    Probe,
    TmuxDoraRun,
    dataflow_yaml,
    dora_env,
    xdotool,
    xtest_key,
    xvfb,
)

pytestmark = pytest.mark.slow

STARTUP_S = 120  # first frame; a loaded 2-core machine needs a while to import everything
MOVE = 0.04  # metres a 1 s hold at 0.1 m/s must at least achieve (the sim may run < real time)


def wait_running(probe: Probe, run: DoraRun) -> None:
    def running(p: Probe) -> bool:
        if run.proc.poll() is not None:
            pytest.fail(f"dora run ended early ({run.proc.returncode}):\n{run.tail()}")
        return p.running()

    probe.wait_for(running, STARTUP_S, "the simulator to run")


def hold(display: str, key: str, seconds: float) -> None:
    xdotool(display, "keydown", key)
    time.sleep(seconds)
    xdotool(display, "keyup", key)


@pytest.mark.display
def test_x_keys_jog_the_gripper_and_control_the_episodes(tmp_path: Path):
    with xvfb() as display:
        flow = tmp_path / "flow.yaml"
        flow.write_text(dataflow_yaml(SIM_ENV, {"KEY_SCHEME": "dora-sim"}))
        probe = Probe(tmp_path / "probe.jsonl")
        run = DoraRun(flow, tmp_path, dora_env(DISPLAY=display, PROBE_OUT=str(probe.path)))
        try:
            wait_running(probe, run)
            start = probe.settled_ee()
            hold(display, "Right", 1.0)  # front view: screen right = world +y
            right = probe.settled_ee()
            assert right[1] - start[1] > MOVE and abs(right[0] - start[0]) < 0.02, (start, right)
            hold(display, "Up", 1.0)  # away from the viewer = towards the base = world -x
            up = probe.settled_ee()
            assert right[0] - up[0] > MOVE and abs(up[1] - right[1]) < 0.02, (right, up)
            xtest_key(display, "Shift_R", down=True)
            time.sleep(0.8)
            xtest_key(display, "Shift_R", down=False)
            raised = probe.settled_ee()
            assert raised[2] - up[2] > 0.03, (up, raised)
            still = probe.settled_ee(0.5)
            assert np.allclose(still, raised, atol=0.005), (raised, still)  # nothing held: no drift

            xdotool(display, "keydown", "c")
            closed = probe.wait_for(lambda p: p.gripper() < 15, 10, "the gripper to close")
            xdotool(display, "keyup", "c")
            probe.wait_for(lambda p: p.gripper() > 30, 10, "the gripper to open again")
            assert closed

            xdotool(display, "key", "ctrl+c")  # another program's shortcut: ignored
            xdotool(display, "key", "space")
            probe.wait_for(lambda p: p.ends() == ["finish"], 20, "the episode to finish")
            xdotool(display, "key", "Control_L")
            probe.wait_for(lambda p: p.ends()[1:] == ["rerecord"], 20, "a re-record")
            xdotool(display, "key", "Escape")
            assert run.wait(60) == 0, run.tail()
            commands = probe.commands()
            assert commands[:2] == ["finish", "rerecord"] and set(commands[2:]) == {"stop"}
            assert probe.ends() == ["finish", "rerecord", "stop"]
        finally:
            run.close()


def test_terminal_fallback_in_a_tmux_pane(tmp_path: Path):
    """No X display: keys typed into the terminal `dora run` runs in (tmux send-keys)."""
    flow = tmp_path / "flow.yaml"
    flow.write_text(dataflow_yaml(SIM_ENV, {}))
    probe = Probe(tmp_path / "probe.jsonl")
    run = TmuxDoraRun(flow, tmp_path, dora_env(PROBE_OUT=str(probe.path)))
    try:
        probe.wait_for(lambda p: p.running() or run.ended(), STARTUP_S, "the simulator to run")
        assert not run.ended(), run.log()[-3000:]
        start = probe.settled_ee()
        run.keys("Right", repeat=30, every=0.033)  # a held key: autorepeat every ~33 ms
        right = probe.settled_ee()
        assert right[1] - start[1] > MOVE, (start, right)
        run.keys("PPage", repeat=25, every=0.033)
        raised = probe.settled_ee()
        assert raised[2] - right[2] > 0.03, (right, raised)
        run.keys("c")  # toggles the gripper closed ...
        probe.wait_for(lambda p: p.gripper() < 15, 10, "the gripper to close")
        time.sleep(1.0)
        run.keys("c")  # ... and open again
        probe.wait_for(lambda p: p.gripper() > 30, 10, "the gripper to open")
        run.keys("Space")
        probe.wait_for(lambda p: p.ends() == ["finish"], 20, "the episode to finish")
        run.keys("BSpace")
        probe.wait_for(lambda p: p.ends()[1:] == ["rerecord"], 20, "a re-record")
        run.keys("Escape")
        probe.wait_for(lambda p: run.ended(), 60, "dora run to end")
        assert run.returncode() == 0, run.log()[-3000:]
        assert probe.ends() == ["finish", "rerecord", "stop"]
        assert "keys from the terminal" in run.log()
        assert run.terminal_restored()  # cbreak mode undone: the shell gets its terminal back
    finally:
        run.close()


def test_without_any_keyboard_the_session_stops_with_an_error(tmp_path: Path):
    """No DISPLAY and no terminal (a new session): the keyboard says why and stops the sim."""
    flow = tmp_path / "flow.yaml"
    flow.write_text(dataflow_yaml(SIM_ENV, {}))
    probe = Probe(tmp_path / "probe.jsonl")
    run = DoraRun(flow, tmp_path, dora_env(PROBE_OUT=str(probe.path)))
    try:
        assert run.wait(STARTUP_S) != 0  # the keyboard node failed ...
        log = run.log()
        assert "cannot read the keyboard" in log and "Alternatives" in log
        assert probe.ends() in ([], ["stop"])  # ... and the simulator stopped: no hang
    finally:
        run.close()


DATAFLOWS = Path(__file__).resolve().parents[3] / "dataflows"
SHIPPED = ("dataflow-teleop-keyboard.yaml", "dataflow-record-keyboard.yaml")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_dataflows_validate(name: str):
    result = subprocess.run(
        ["dora", "validate", str(DATAFLOWS / name)], env=dora_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_shipped_teleop_dataflow_in_a_terminal_and_ctrl_c(tmp_path: Path):
    """The shipped YAML as an SSH user runs it (a terminal, no display, so no viewer).

    Ctrl+C must still stop `dora run` although the node reads the terminal in cbreak mode.
    """
    flow = tmp_path / SHIPPED[0]
    flow.write_text((DATAFLOWS / SHIPPED[0]).read_text())  # dora writes out/ beside the file
    run = TmuxDoraRun(flow, tmp_path, dora_env())
    try:
        deadline = time.monotonic() + STARTUP_S
        while "episode 0 is running" not in run.log():
            assert time.monotonic() < deadline and not run.ended(), run.log()[-3000:]
            time.sleep(0.2)
        assert "keys from the terminal" in run.log()
        run.keys("C-c")
        deadline = time.monotonic() + 60
        while not run.ended():
            assert time.monotonic() < deadline, run.log()[-3000:]
            time.sleep(0.2)
        assert run.returncode() == 0, run.log()[-3000:]
        assert run.terminal_restored()
    finally:
        run.close()
