"""Key bindings: which key jogs which axis and which key sends which episode command.

Two schemes (``KEY_SCHEME``):

* ``dora-sim`` (default, the peer playground's scheme): Space = finish, Ctrl = re-record,
  Esc = stop; the arrows jog in the horizontal plane.
* ``lerobot`` (``lerobot-record``'s keys): → = finish, ← = re-record, Esc = stop; the arrows
  are taken, so the horizontal jog moves to I/J/K/L.

A terminal cannot report Shift or Ctrl pressed alone, nor key releases, so the terminal variant
of each scheme uses PgUp/PgDn for the vertical jog, Backspace or Ctrl+R to re-record, and C
toggles the gripper instead of being held.

Horizontal directions follow the view (``JOG_VIEW``): ``front`` (default) as the MuJoCo viewer
and the front camera show the arm, from in front of it (↑ = away from the camera, towards the
robot's base = world -x; → = screen right = world +y); ``behind`` as an operator standing behind
the robot, like a leader-arm user (↑ = world +x, ← = world +y).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dora_sim import contract as c
from dora_sim_keyboard import keys as k

SCHEMES = ("dora-sim", "lerobot")
VIEWS = ("front", "behind")
X, Y, Z, PITCH, ROLL = range(5)  # indices into contract.EE_DELTA_FIELDS

COMMAND_HELP = {
    c.CONTROL_FINISH: "finish the episode / end the reset phase",
    c.CONTROL_RERECORD: "discard the episode and record it again",
    c.CONTROL_STOP: "stop recording and end the session",
}


@dataclass(frozen=True)
class JogPair:
    """Two keys jogging one axis in opposite directions; ``sign`` is the first key's direction."""

    first: str
    second: str
    axis: int
    sign: float
    text: str


@dataclass(frozen=True)
class Bindings:
    scheme: str
    jog_pairs: tuple[JogPair, ...]  # empty in control-only mode (JOG=0)
    gripper_key: str | None
    gripper_toggle: bool  # terminal: a tap toggles; X display: held = closed
    control: tuple[tuple[str, str], ...]  # (key, command)
    # Control keys that fire on release, and only if no other key was pressed while they were
    # down: Ctrl+C (quitting dora) or Ctrl+S in another window must not discard an episode.
    alone: frozenset[str] = frozenset()
    _jog: dict[str, tuple[int, float]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        jog = {}
        for pair in self.jog_pairs:
            jog[pair.first] = (pair.axis, pair.sign)
            jog[pair.second] = (pair.axis, -pair.sign)
        object.__setattr__(self, "_jog", jog)

    @property
    def jog_enabled(self) -> bool:
        return bool(self.jog_pairs)

    def jog_axis(self, key: str) -> tuple[int, float] | None:
        """(EE_DELTA index, direction) of a jog key, else None."""
        return self._jog.get(key)

    def command(self, key: str) -> str | None:
        return next((command for bound, command in self.control if bound == key), None)

    def describe(self) -> list[str]:
        """The bindings as printed at start."""
        lines = []
        if self.jog_enabled:
            lines.append("jog the gripper:")
            for pair in self.jog_pairs:
                keys = f"{k.label(pair.first)} / {k.label(pair.second)}"
                lines.append(f"  {keys:<26}{pair.text}")
            if self.gripper_key is not None:
                how = "toggle" if self.gripper_toggle else "hold"
                verb = "close / open the gripper" if self.gripper_toggle else "close the gripper"
                extra = "" if self.gripper_toggle else " (release to open)"
                lines.append(f"  {f'{k.label(self.gripper_key)} ({how})':<26}{verb}{extra}")
        lines.append("episode control:")
        for command, text in COMMAND_HELP.items():
            names = self.keys_for(command, " or ")
            if any(key in self.alone for key, cmd in self.control if cmd == command):
                names += " (tap alone)"
            lines.append(f"  {names:<26}{text}")
        return lines

    def keys_for(self, command: str, sep: str = "/") -> str:
        """Labels of the keys bound to ``command``, e.g. ``Backspace/Ctrl+R``."""
        labels = dict.fromkeys(k.label(key) for key, cmd in self.control if cmd == command)
        return sep.join(labels)


def make_bindings(scheme: str, *, terminal: bool, jog: bool, view: str = "front") -> Bindings:
    """The bindings of ``scheme`` for an X display / pynput (``terminal=False``) or a terminal."""
    if scheme not in SCHEMES:
        raise ValueError(f"KEY_SCHEME={scheme!r}: expected one of {', '.join(SCHEMES)}")
    if view not in VIEWS:
        raise ValueError(f"JOG_VIEW={view!r}: expected one of {', '.join(VIEWS)}")
    lerobot = scheme == "lerobot"
    fwd, back, left, right = ("i", "k", "j", "l") if lerobot else (k.UP, k.DOWN, k.LEFT, k.RIGHT)
    if view == "front":
        horizontal = (
            JogPair(fwd, back, X, -1.0, "away from / towards you (world -x / +x)"),
            JogPair(left, right, Y, -1.0, "left / right as seen (world -y / +y)"),
        )
    else:
        horizontal = (
            JogPair(fwd, back, X, 1.0, "away from / towards the base (world +x / -x)"),
            JogPair(left, right, Y, 1.0, "left / right (world +y / -y)"),
        )
    up, down = (k.PAGE_UP, k.PAGE_DOWN) if terminal else (k.SHIFT_R, k.SHIFT_L)
    pairs = (
        *horizontal,
        JogPair(up, down, Z, 1.0, "up / down (world +z / -z)"),
        JogPair("w", "s", PITCH, -1.0, "tilt the gripper tip up / down (wrist_flex)"),
        JogPair("a", "d", ROLL, 1.0, "roll the wrist ↺ / ↻ seen from above (wrist_roll)"),
    )
    if lerobot:
        control = (
            (k.RIGHT, c.CONTROL_FINISH),
            (k.LEFT, c.CONTROL_RERECORD),
            (k.ESC, c.CONTROL_STOP),
        )
        alone: frozenset[str] = frozenset()
    elif terminal:
        control = (
            (k.SPACE, c.CONTROL_FINISH),
            (k.BACKSPACE, c.CONTROL_RERECORD),
            (k.CTRL_R_CHORD, c.CONTROL_RERECORD),
            (k.ESC, c.CONTROL_STOP),
        )
        alone = frozenset()
    else:
        control = (
            (k.SPACE, c.CONTROL_FINISH),
            (k.CTRL_L, c.CONTROL_RERECORD),
            (k.CTRL_R, c.CONTROL_RERECORD),
            (k.ESC, c.CONTROL_STOP),
        )
        alone = frozenset({k.CTRL_L, k.CTRL_R})
    return Bindings(
        scheme=scheme,
        jog_pairs=pairs if jog else (),
        gripper_key="c" if jog else None,
        gripper_toggle=terminal,
        control=control,
        alone=alone,
    )
