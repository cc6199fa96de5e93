"""Bindings and the key -> command / EE_DELTA logic, without any keyboard."""

from __future__ import annotations

import numpy as np
import pytest

from dora_sim import codec
from dora_sim import contract as c
from dora_sim_keyboard import keys as k
from dora_sim_keyboard.bindings import PITCH, ROLL, SCHEMES, X, Y, Z, make_bindings
from dora_sim_keyboard.keys import KeyEvent
from dora_sim_keyboard.teleop import JogSpeeds, Teleop

SPEEDS = JogSpeeds(linear_m_s=0.1, vertical_m_s=0.05, wrist_deg_s=90.0, gripper_open=40.0)


def press(key: str, repeat: bool = False) -> KeyEvent:
    return KeyEvent(key, pressed=True, repeat=repeat)


def release(key: str) -> KeyEvent:
    return KeyEvent(key, pressed=False)


def desktop_teleop(**kwargs) -> Teleop:
    return Teleop(make_bindings("dora-sim", terminal=False, jog=True, **kwargs), SPEEDS)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("terminal", [False, True])
def test_every_scheme_binds_every_command_and_no_key_twice(scheme, terminal):
    b = make_bindings(scheme, terminal=terminal, jog=True)
    commands = {command for _, command in b.control}
    assert commands == {c.CONTROL_FINISH, c.CONTROL_RERECORD, c.CONTROL_STOP}
    jog_keys = [key for pair in b.jog_pairs for key in (pair.first, pair.second)]
    all_keys = [*jog_keys, b.gripper_key, *(key for key, _ in b.control)]
    assert len(all_keys) == len(set(all_keys)), all_keys
    assert {pair.axis for pair in b.jog_pairs} == {X, Y, Z, PITCH, ROLL}
    text = "\n".join(b.describe())
    assert "Esc" in text and "gripper" in text


def test_schemes_follow_their_peers():
    peer = make_bindings("dora-sim", terminal=False, jog=True)
    assert (peer.command(k.SPACE), peer.command(k.ESC)) == (c.CONTROL_FINISH, c.CONTROL_STOP)
    assert peer.jog_axis(k.UP) is not None and peer.jog_axis(k.SHIFT_R) == (Z, 1.0)
    lerobot = make_bindings("lerobot", terminal=False, jog=True)
    assert lerobot.command(k.RIGHT) == c.CONTROL_FINISH
    assert lerobot.command(k.LEFT) == c.CONTROL_RERECORD
    assert lerobot.jog_axis(k.RIGHT) is None and lerobot.jog_axis("l") == (Y, 1.0)
    terminal = make_bindings("dora-sim", terminal=True, jog=True)
    assert terminal.jog_axis(k.PAGE_UP) == (Z, 1.0) and terminal.gripper_toggle
    assert terminal.command(k.BACKSPACE) == terminal.command(k.CTRL_R_CHORD) == c.CONTROL_RERECORD


def test_control_only_mode_has_no_jog_keys():
    b = make_bindings("dora-sim", terminal=False, jog=False)
    assert not b.jog_enabled and b.gripper_key is None
    teleop = Teleop(b, SPEEDS)
    teleop.handle(press(k.UP))
    assert teleop.ee_delta() is None
    assert "jog" not in "\n".join(b.describe())


@pytest.mark.parametrize(
    ("view", "key", "axis", "sign"),
    [
        ("front", k.UP, X, -1.0),  # away from the viewer, who looks at the arm from +x
        ("front", k.RIGHT, Y, 1.0),
        ("behind", k.UP, X, 1.0),
        ("behind", k.RIGHT, Y, -1.0),
    ],
)
def test_arrow_directions_follow_the_view(view, key, axis, sign):
    assert make_bindings("dora-sim", terminal=False, jog=True, view=view).jog_axis(key) == (
        axis,
        sign,
    )


def test_unknown_scheme_or_view_is_refused():
    with pytest.raises(ValueError, match="KEY_SCHEME"):
        make_bindings("vim", terminal=False, jog=True)
    with pytest.raises(ValueError, match="JOG_VIEW"):
        make_bindings("dora-sim", terminal=False, jog=True, view="top")


def test_held_keys_give_velocities_and_opposite_keys_cancel():
    teleop = desktop_teleop()
    for key in (k.RIGHT, k.SHIFT_R, "w", "a"):
        teleop.handle(press(key))
    delta = teleop.ee_delta()
    np.testing.assert_allclose(delta, [0.0, 0.1, 0.05, -90.0, 90.0, 40.0])
    codec.validate_ee_delta(delta)  # what is sent is always a valid contract message
    teleop.handle(press(k.LEFT))
    assert teleop.ee_delta()[Y] == 0.0


def test_jog_is_sent_while_held_then_once_stopped_then_silence():
    teleop = desktop_teleop()
    assert teleop.ee_delta() is None  # an idle keyboard never holds the arm
    teleop.handle(press(k.UP))
    assert teleop.ee_delta()[X] == pytest.approx(-0.1)
    teleop.handle(press(k.UP, repeat=True))
    assert teleop.ee_delta()[X] == pytest.approx(-0.1)
    teleop.handle(release(k.UP))
    stop = teleop.ee_delta()
    np.testing.assert_array_equal(stop[:5], 0.0)
    assert teleop.ee_delta() is None


def test_gripper_key_held_closes_and_release_opens():
    teleop = desktop_teleop()
    teleop.handle(press("c"))
    assert teleop.ee_delta()[c.GRIPPER_INDEX] == 0.0
    assert teleop.ee_delta()[c.GRIPPER_INDEX] == 0.0  # re-sent while held
    teleop.handle(release("c"))
    assert teleop.ee_delta()[c.GRIPPER_INDEX] == 40.0
    assert teleop.ee_delta() is None


def test_terminal_gripper_key_toggles_and_a_new_episode_reopens_it():
    teleop = Teleop(make_bindings("dora-sim", terminal=True, jog=True), SPEEDS)
    teleop.handle(press("c"))
    assert teleop.ee_delta()[c.GRIPPER_INDEX] == 0.0
    teleop.handle(release("c"))
    assert teleop.ee_delta() is None  # stays closed, nothing more to say
    teleop.handle(press(k.UP))
    assert teleop.ee_delta()[c.GRIPPER_INDEX] == 0.0  # jogging keeps it closed
    teleop.new_episode()  # the sim put the arm home with the gripper open
    assert teleop.ee_delta()[c.GRIPPER_INDEX] == 40.0
    teleop.handle(press("c", repeat=True))  # autorepeat does not toggle again
    assert not teleop.gripper_closed


def test_control_keys_fire_once_per_press():
    teleop = desktop_teleop()
    assert teleop.handle(press(k.SPACE)) == c.CONTROL_FINISH
    assert teleop.handle(press(k.SPACE, repeat=True)) is None
    assert teleop.handle(release(k.SPACE)) is None
    assert teleop.handle(press(k.ESC)) == c.CONTROL_STOP


def test_ctrl_rerecords_only_when_tapped_alone():
    teleop = desktop_teleop()
    assert teleop.handle(press(k.CTRL_R)) is None
    assert teleop.handle(release(k.CTRL_R)) == c.CONTROL_RERECORD
    # Ctrl+C (quitting dora run) or Ctrl+S in an editor: another program's shortcut.
    assert teleop.handle(press(k.CTRL_L)) is None
    assert teleop.handle(press("c")) is None
    assert teleop.ee_delta() is None  # ... and it did not close the gripper either
    teleop.handle(release("c"))
    assert teleop.handle(release(k.CTRL_L)) is None


@pytest.mark.parametrize(
    "field",
    [
        {"linear_m_s": 0.0},
        {"vertical_m_s": 5.0},
        {"wrist_deg_s": -1.0},
        {"gripper_open": 120.0},
        {"gripper_closed": -1.0},
    ],
)
def test_speeds_outside_the_contract_are_refused(field):
    with pytest.raises(ValueError):
        JogSpeeds(**field)
