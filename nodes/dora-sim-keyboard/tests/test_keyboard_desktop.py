"""pynput key source on a real X server (Xvfb), keys injected with xdotool."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from keyboard_testkit import xdotool, xvfb

from dora_sim import contract as c
from dora_sim_keyboard import keys as k
from dora_sim_keyboard.bindings import make_bindings
from dora_sim_keyboard.desktop import DesktopSource, DesktopUnavailable, key_name
from dora_sim_keyboard.keys import KeyEvent
from dora_sim_keyboard.teleop import JogSpeeds, Teleop

pytestmark = pytest.mark.display


def test_key_names():
    assert key_name(SimpleNamespace(name="shift")) == k.SHIFT_L
    assert key_name(SimpleNamespace(name="ctrl_r")) == k.CTRL_R
    assert key_name(SimpleNamespace(name="space", char=" ")) == k.SPACE
    assert key_name(SimpleNamespace(char="C")) == "c"  # with Shift held
    assert key_name(SimpleNamespace(char=None)) is None


@pytest.fixture(scope="module")
def desktop():
    with xvfb() as display, pytest.MonkeyPatch.context() as patch:
        patch.setenv("DISPLAY", display)
        source = DesktopSource()
        yield display, source
        source.close()


def drain(source: DesktopSource, seconds: float = 0.3) -> list[KeyEvent]:
    events: list[KeyEvent] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        events += source.poll(time.monotonic())
        time.sleep(0.02)
    return events


def test_presses_and_releases_are_reported(desktop):
    display, source = desktop
    drain(source)
    xdotool(display, "keydown", "Up")
    held = drain(source)
    xdotool(display, "keyup", "Up")
    assert held[0] == KeyEvent(k.UP, True)
    assert all(e == KeyEvent(k.UP, True, repeat=True) for e in held[1:])  # autorepeat, if any
    assert drain(source) == [KeyEvent(k.UP, False)]
    xdotool(display, "key", "shift+c")
    assert [e for e in drain(source) if e.key == "c"] == [KeyEvent("c", True), KeyEvent("c", False)]


def test_a_lost_key_up_is_released_from_the_servers_key_state(desktop):
    _, source = desktop
    drain(source)
    source._on_press(SimpleNamespace(name="right"))  # pynput saw a press, never its release
    assert drain(source) == [KeyEvent(k.RIGHT, True), KeyEvent(k.RIGHT, False)]


def test_ctrl_shortcuts_of_other_programs_are_ignored(desktop):
    display, source = desktop
    drain(source)
    teleop = Teleop(make_bindings("dora-sim", terminal=False, jog=True), JogSpeeds())
    commands = []
    xdotool(display, "key", "ctrl+c")
    xdotool(display, "key", "ctrl+s")
    xdotool(display, "key", "Control_R")
    for event in drain(source):
        commands.append(teleop.handle(event))
    assert [cmd for cmd in commands if cmd] == [c.CONTROL_RERECORD]  # only the lone Ctrl tap
    assert teleop.ee_delta() is None  # Ctrl+C did not close the gripper


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_no_display_is_reported(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(DesktopUnavailable, match="pynput"):
        DesktopSource()
