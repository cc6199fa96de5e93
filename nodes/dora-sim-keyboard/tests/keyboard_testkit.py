"""Helpers for the keyboard node's tests: Xvfb, key injection, a probed `dora run`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dora_sim import contract as c
from dora_sim.headless import headless_env

HERE = Path(__file__).resolve().parent
PROBE = HERE / "probe_node.py"
VENV_BIN = Path(sys.executable).parent


dora_env = headless_env


def need(*tools: str) -> None:
    path = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    missing = [tool for tool in tools if shutil.which(tool, path=path) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install xvfb xdotool tmux)")


# --- X display ------------------------------------------------------------------------------
@contextmanager
def xvfb() -> Iterator[str]:
    """A private Xvfb server; yields its DISPLAY."""
    need("Xvfb", "xdotool")
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "640x480x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        if not number:
            pytest.fail("Xvfb did not start")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def xdotool(display: str, *args: str) -> None:
    subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display}, check=True)


def xtest_key(display: str, keysym: str, down: bool) -> None:
    """Press or release one key by keycode through XTEST.

    Used for Shift_R: ``xdotool keydown Shift_R`` also presses Shift_L (it applies the shift
    modifier through the first shift keycode), which would cancel the vertical jog.
    """
    from Xlib import XK, X
    from Xlib import display as xdisplay
    from Xlib.ext import xtest

    conn = xdisplay.Display(display)
    try:
        code = conn.keysym_to_keycode(XK.string_to_keysym(keysym))
        xtest.fake_input(conn, X.KeyPress if down else X.KeyRelease, code)
        conn.sync()
    finally:
        conn.close()


# --- the probed dataflow ----------------------------------------------------------------------
# Every frame counts: the recorder acknowledges the frames it has taken (contract credits) and
# the sim holds while it is behind, so a queue of CREDIT_QUEUE_SIZE never overflows.
LOSSLESS = f"queue_size: {c.CREDIT_QUEUE_SIZE}"
RECORDER = f"""  - id: recorder
    path: dora-sim-recorder
    inputs:
      action: {{source: sim/applied_action, {LOSSLESS}}}
      observation.state: {{source: sim/observation.state, {LOSSLESS}}}
      scene: {{source: sim/scene, {LOSSLESS}}}
      episode: {{source: sim/episode, queue_size: 100}}
    outputs: [ack, status, control]
"""


SIM_OUTPUTS = (
    c.STATE, c.APPLIED_ACTION, c.EE_STATE, c.image_topic("front"), c.SCENE, c.EPISODE, c.STATUS
)  # fmt: skip
PROBED = {
    "scene": "sim/scene",
    "ee_state": "sim/ee_state",
    "observation.state": "sim/observation.state",
    "episode": "sim/episode",
    "control": "keyboard/control",
    "ee_delta": "keyboard/ee_delta",
}


def dataflow_yaml(
    sim_env: dict[str, Any],
    keyboard_env: dict[str, Any],
    recorder: bool = False,
    probed: tuple[str, ...] = tuple(PROBED),
) -> str:
    """sim <-> keyboard, a probe logging some of PROBED (+ the recorder)."""

    def env_block(env: dict[str, Any]) -> str:
        return "".join(f"      {key}: {json.dumps(str(value))}\n" for key, value in env.items())

    # credits: the sim holds for the recorder (acks are cumulative: a roomy queue, as shipped)
    credits = "      ack.recorder: {source: recorder/ack, queue_size: 100}\n" if recorder else ""

    return f"""nodes:
  - id: sim
    path: dora-sim-mujoco
    inputs:
      tick: {{source: dora/timer/hz/30, queue_size: 1}}
      ee_delta: {{source: keyboard/ee_delta, queue_size: 1}}
      control: {{source: keyboard/control, queue_size: 100}}
{credits}    outputs: [{", ".join(SIM_OUTPUTS)}]
    env:
{env_block(sim_env)}
  - id: keyboard
    path: dora-sim-keyboard
    inputs:
      tick: dora/timer/hz/30
      episode: sim/episode
{"      control: recorder/control" + chr(10) if recorder else ""}    outputs: [ee_delta, control]
    env:
{env_block(keyboard_env)}
  - id: probe
    path: {sys.executable}
    args: {PROBE}
    inputs:
{"".join(f"      {i}: {{source: {PROBED[i]}, queue_size: 1000}}{chr(10)}" for i in probed)}
{RECORDER if recorder else ""}"""


SIM_ENV = {
    "NUM_EPISODES": 0,
    "EPISODE_TIME_S": 120,
    "END_ON_SUCCESS": 0,
    "CAMERAS": "",
    "SEED": 3,
}


class Probe:
    """What the probe node logged (JSON lines), read incrementally: polling it stays cheap."""

    def __init__(self, path: Path):
        self.path = path
        self._offset = 0
        self._lines: list[dict] = []

    def lines(self, input_id: str | None = None) -> list[dict]:
        if self.path.exists():
            with self.path.open("rb") as log:
                log.seek(self._offset)
                data = log.read()
            complete = data[: data.rfind(b"\n") + 1]  # the last line may be half written
            self._offset += len(complete)
            self._lines += [json.loads(text) for text in complete.splitlines()]
        return [line for line in self._lines if input_id is None or line["id"] == input_id]

    def wait_for(self, what: Callable[[Probe], Any], timeout: float, why: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = what(self)
            if result:
                return result
            time.sleep(0.1)
        pytest.fail(f"timed out after {timeout:.0f} s waiting for {why}")

    def latest(self, input_id: str) -> dict:
        self.lines()
        return next(line for line in reversed(self._lines) if line["id"] == input_id)

    def running(self) -> bool:
        """A second of frames: the simulator is past its slow first ticks (lazy imports)."""
        return len(self.lines("scene")) >= 30

    def ee(self) -> list[float]:
        """The gripper's tool centre point (world frame, m), from the sim's ``ee_state``."""
        return self.latest("ee_state")["ee"]

    def settled_ee(self, wait: float = 0.4) -> list[float]:
        """The gripper position once the arm has had time to follow its target."""
        time.sleep(wait)
        return self.ee()

    def gripper(self) -> float:
        return self.latest("observation.state")["values"][5]

    def commands(self) -> list[str]:
        return [line["command"] for line in self.lines("control")]

    def ends(self) -> list[str]:
        return [line["reason"] for line in self.lines("episode") if line["event"] == "end"]

    def episodes_started(self) -> int:
        return sum(line["event"] == "start" for line in self.lines("episode"))

    def cube(self) -> list[float]:
        return self.latest("scene")["objects"]["cube"]


# Keys moving the gripper along +/- each world axis, seen from the front (the default view).
AXIS_KEYS = {0: ("Down", "Up"), 1: ("Right", "Left"), 2: ("Shift_R", "Shift_L")}


def set_key(display: str, key: str, down: bool) -> None:
    if key == "Shift_R":
        xtest_key(display, key, down)
    else:
        xdotool(display, "keydown" if down else "keyup", key)


def drive_to(display: str, probe: Probe, axis: int, target: float, tol: float = 0.01) -> None:
    """Jog one axis to ``target`` (world metres) like a person: hold a key, watch, let go."""
    plus, minus = AXIS_KEYS[axis]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        error = target - probe.ee()[axis]
        if abs(error) <= tol:
            return
        key = plus if error > 0 else minus
        set_key(display, key, down=True)
        direction = 1.0 if error > 0 else -1.0
        while (target - probe.ee()[axis]) * direction > tol / 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        set_key(display, key, down=False)
        time.sleep(0.3)  # let the arm settle before looking again
    pytest.fail(f"could not jog axis {axis} to {target:.3f} (at {probe.ee()[axis]:.3f})")


class DoraRun:
    """`dora run` in its own session (its process group is ours to end), output to a file."""

    def __init__(self, descriptor: Path, cwd: Path, env: dict[str, str]):
        self.log_path = cwd / "dora-run.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            ["dora", "run", str(descriptor)],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"dora run did not end within {timeout:.0f} s:\n{self.tail()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join([line for line in text if "DEBUG" not in line][-lines:])

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._log.close()


class TmuxDoraRun:
    """`dora run` in a tmux pane, as a user in a terminal (SSH) would: no X display.

    The pane's terminal settings are saved before and after (``stty -g``) to check that the
    keyboard node gives the terminal back as it found it.
    """

    def __init__(self, descriptor: Path, cwd: Path, env: dict[str, str]):
        need("tmux")
        self.cwd = cwd
        self.session = f"kbtest{os.getpid()}"
        names = ("PATH", "MUJOCO_GL", "EGL_PLATFORM", "PROBE_OUT")
        exports = " ".join(f"{name}={env[name]!r}" for name in names if name in env)
        script = (
            f"cd {cwd} && export {exports} && unset DISPLAY && stty -g > stty-before"
            f" && dora run {descriptor} > dora-run.log 2>&1; echo $? > rc; stty -g > stty-after;"
            " sleep 60"
        )
        subprocess.run(["tmux", "new-session", "-d", "-s", self.session, "-x", "160", "-y", "40",
                        script], check=True)  # fmt: skip

    def keys(self, *names: str, repeat: int = 1, every: float = 0.0) -> None:
        """tmux send-keys; ``repeat`` every ``every`` seconds imitates a held key's autorepeat."""
        for _ in range(repeat):
            subprocess.run(["tmux", "send-keys", "-t", self.session, *names], check=True)
            time.sleep(every)

    def log(self) -> str:
        path = self.cwd / "dora-run.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def ended(self) -> bool:
        return (self.cwd / "stty-after").exists()

    def returncode(self) -> int:
        return int((self.cwd / "rc").read_text())

    def terminal_restored(self) -> bool:
        return (self.cwd / "stty-before").read_text() == (self.cwd / "stty-after").read_text()

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.session], check=False)
