"""Key events -> episode commands and the Cartesian jog velocity (contract ``EE_DELTA``).

Pure and clock-free: the node feeds it the events a key source reported and asks once per tick
what to send. ``EE_DELTA`` is a velocity the simulator integrates only while it is fresher than
``EE_DELTA_HOLD_S``, so it is re-sent every tick while a jog key is held, once more (zero
velocity) when the last one is released, and not at all when the keyboard is idle — an idle
keyboard never holds the arm, and a lost message never leaves it drifting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dora_sim import contract as c
from dora_sim_keyboard import keys as k
from dora_sim_keyboard.bindings import PITCH, ROLL, Bindings, X, Y, Z
from dora_sim_keyboard.keys import KeyEvent


@dataclass(frozen=True)
class JogSpeeds:
    linear_m_s: float = 0.1
    vertical_m_s: float = 0.1
    wrist_deg_s: float = 90.0
    gripper_open: float = 40.0  # contract gripper units, 0 = closed
    gripper_closed: float = 0.0

    def __post_init__(self) -> None:
        for name, value, bound in (
            ("JOG_SPEED_M_S", self.linear_m_s, c.EE_DELTA_LINEAR_BOUND),
            ("JOG_SPEED_Z_M_S", self.vertical_m_s, c.EE_DELTA_LINEAR_BOUND),
            ("WRIST_SPEED_DEG_S", self.wrist_deg_s, c.EE_DELTA_ANGULAR_BOUND),
        ):
            if not 0.0 < value <= bound:
                raise ValueError(f"{name}={value}: must be above 0 and at most {bound}")
        lo, hi = c.GRIPPER_RANGE
        for name, value in (("GRIPPER_OPEN", self.gripper_open),
                            ("GRIPPER_CLOSED", self.gripper_closed)):  # fmt: skip
            if not lo <= value <= hi:
                raise ValueError(f"{name}={value}: must be within {lo:.0f}..{hi:.0f}")

    def scale(self, axis: int) -> float:
        return {X: self.linear_m_s, Y: self.linear_m_s, Z: self.vertical_m_s,
                PITCH: self.wrist_deg_s, ROLL: self.wrist_deg_s}[axis]  # fmt: skip


class Teleop:
    """Which keys are held, and what that asks of the simulator."""

    def __init__(self, bindings: Bindings, speeds: JogSpeeds):
        self.bindings = bindings
        self.speeds = speeds
        self.held: set[str] = set()
        self.gripper_closed = False  # toggle state (terminal); held key state otherwise
        self._alone_candidates: set[str] = set()
        self._was_moving = False
        self._sent_gripper = speeds.gripper_open  # nothing to send until a key changes it

    def handle(self, event: KeyEvent) -> str | None:
        """Update the held keys; returns the control command this event triggers, if any."""
        b = self.bindings
        if not event.pressed:
            self.held.discard(event.key)
            if event.key in self._alone_candidates:
                self._alone_candidates.discard(event.key)
                return b.command(event.key)
            return None
        if self.held & k.CHORD_MODIFIERS and event.key not in k.CHORD_MODIFIERS:
            self._alone_candidates.clear()
            return None  # a shortcut of another program (Ctrl+C, Alt+Tab), not ours
        self.held.add(event.key)
        if event.repeat:
            return None
        self._alone_candidates = {event.key} if event.key in b.alone else set()
        if b.gripper_toggle and event.key == b.gripper_key:
            self.gripper_closed = not self.gripper_closed
        return None if event.key in b.alone else b.command(event.key)

    def new_episode(self) -> None:
        """The sim put the arm back home, gripper open: reopen the toggle, nothing to resend."""
        self.gripper_closed = False
        self._was_moving = False
        self._sent_gripper = self.speeds.gripper_open

    def gripper_target(self) -> float:
        b = self.bindings
        closed = self.gripper_closed if b.gripper_toggle else b.gripper_key in self.held
        return self.speeds.gripper_closed if closed else self.speeds.gripper_open

    def velocity(self) -> np.ndarray:
        """EE_DELTA for the held keys (opposite keys cancel)."""
        delta = np.zeros(len(c.EE_DELTA_FIELDS), dtype=np.float32)
        for key in self.held:
            jog = self.bindings.jog_axis(key)
            if jog is not None:
                axis, sign = jog
                delta[axis] += sign * self.speeds.scale(axis)
        delta[c.GRIPPER_INDEX] = self.gripper_target()
        return delta

    def ee_delta(self) -> np.ndarray | None:
        """What to send on ``ee_delta`` this tick, or None to stay silent."""
        if not self.bindings.jog_enabled:
            return None
        delta = self.velocity()
        gripper = float(delta[c.GRIPPER_INDEX])
        held_gripper = not self.bindings.gripper_toggle and self.bindings.gripper_key in self.held
        moving = held_gripper or any(self.bindings.jog_axis(key) for key in self.held)
        send = moving or self._was_moving or gripper != self._sent_gripper
        self._was_moving = moving
        if not send:
            return None
        self._sent_gripper = gripper
        return delta
