"""Key events as every key source reports them: one small vocabulary of key names.

Names are pynput's ``Key`` names with the side made explicit (``shift_l``, ``ctrl_r``) plus
lower-case characters (``"w"``) and ``ctrl+r`` (the one chord a terminal reports as a single byte).
"""

from __future__ import annotations

from dataclasses import dataclass

UP, DOWN, LEFT, RIGHT = "up", "down", "left", "right"
SHIFT_L, SHIFT_R, CTRL_L, CTRL_R = "shift_l", "shift_r", "ctrl_l", "ctrl_r"
SPACE, ESC, BACKSPACE = "space", "esc", "backspace"
PAGE_UP, PAGE_DOWN = "page_up", "page_down"
CTRL_R_CHORD = "ctrl+r"
# While one of these is held, other keys are another program's shortcut (Ctrl+C, Alt+Tab).
CHORD_MODIFIERS = frozenset({CTRL_L, CTRL_R, "alt_l", "alt_r", "alt_gr", "cmd_l", "cmd_r"})

LABELS = {
    UP: "↑",
    DOWN: "↓",
    LEFT: "←",
    RIGHT: "→",
    SHIFT_L: "Left Shift",
    SHIFT_R: "Right Shift",
    CTRL_L: "Ctrl",
    CTRL_R: "Ctrl",
    SPACE: "Space",
    ESC: "Esc",
    BACKSPACE: "Backspace",
    PAGE_UP: "PgUp",
    PAGE_DOWN: "PgDn",
    CTRL_R_CHORD: "Ctrl+R",
}


def label(key: str) -> str:
    """How a key is named in the printed bindings."""
    return LABELS.get(key, key.upper())


@dataclass(frozen=True)
class KeyEvent:
    """A key went down or up. ``repeat`` marks a press that autorepeat made, not a new press."""

    key: str
    pressed: bool
    repeat: bool = False
