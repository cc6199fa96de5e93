"""Desktop key source: pynput's global listener (X display; also macOS, Windows, uinput).

pynput listens to the whole desktop, not one window, so focus does not matter. On X it uses the
RECORD extension, whose events can arrive late or — after a grab by another program — never: on
X the held keys are therefore checked against the server's real key state (``XQueryKeymap``)
every poll, and a key the server says is up is released, so a lost key-up cannot keep the arm
jogging.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from dora_sim_keyboard import keys as k
from dora_sim_keyboard.keys import KeyEvent

READY_TIMEOUT_S = 3.0
# On servers that report autorepeat as release+press pairs, a press this soon after the key's
# release is autorepeat, not a new press (so holding Space cannot finish two episodes).
REARM_S = 0.03

_SIDED = {"shift": k.SHIFT_L, "ctrl": k.CTRL_L, "alt": "alt_l", "cmd": "cmd_l"}
_KEYSYMS = {
    k.UP: "Up", k.DOWN: "Down", k.LEFT: "Left", k.RIGHT: "Right",
    k.SHIFT_L: "Shift_L", k.SHIFT_R: "Shift_R", k.CTRL_L: "Control_L", k.CTRL_R: "Control_R",
    k.SPACE: "space", k.ESC: "Escape", k.BACKSPACE: "BackSpace",
    k.PAGE_UP: "Prior", k.PAGE_DOWN: "Next", "alt_l": "Alt_L", "alt_r": "Alt_R",
}  # fmt: skip


class DesktopUnavailable(RuntimeError):
    """pynput cannot listen here; the message says why."""


def key_name(key: Any) -> str | None:
    """A pynput key -> our key name (None for keys we have no use for)."""
    name = getattr(key, "name", None)  # pynput.keyboard.Key members
    if isinstance(name, str):
        return _SIDED.get(name, name)
    char = getattr(key, "char", None)
    if isinstance(char, str) and len(char) == 1 and char.isprintable():
        return char.lower()
    return None


class _XKeyState:
    """The X server's own idea of which keys are down."""

    def __init__(self) -> None:
        from Xlib import XK, display

        self._display = display.Display()
        self._XK = XK
        self._codes: dict[str, int] = {}

    def _keycode(self, name: str) -> int:
        if name not in self._codes:
            keysym = self._XK.string_to_keysym(_KEYSYMS.get(name, name))
            self._codes[name] = self._display.keysym_to_keycode(keysym) if keysym else 0
        return self._codes[name]

    def released(self, names: set[str]) -> set[str]:
        """Those of ``names`` the server says are up (keys it cannot map are kept)."""
        keymap = self._display.query_keymap()
        up = set()
        for name in names:
            code = self._keycode(name)
            if code and not keymap[code >> 3] & (1 << (code & 7)):
                up.add(name)
        return up

    def close(self) -> None:
        self._display.close()


class DesktopSource:
    """Key events from pynput's listener thread, drained by the node's thread."""

    terminal = False

    def __init__(self) -> None:
        try:
            from pynput import keyboard
        except Exception as err:  # ImportError without X; Xlib errors with a dead DISPLAY
            raise DesktopUnavailable(f"pynput: {str(err).splitlines()[0]}") from err
        self._lock = threading.Lock()
        self._events: deque[KeyEvent] = deque()
        self._down: set[str] = set()
        self._released_at: dict[str, float] = {}
        self._listener = keyboard.Listener(on_press=self._on_press, on_release=self._on_release)
        self._listener.start()
        _wait_ready(self._listener)
        backend = type(self._listener).__module__.rsplit(".", 1)[-1].lstrip("_")
        self._x = _XKeyState() if backend == "xorg" else None
        self.name = f"the desktop (pynput {backend} backend, all windows)"

    def _on_press(self, key: Any, *_injected: bool) -> None:
        name = key_name(key)
        if name is None:
            return
        with self._lock:
            rearm = time.monotonic() - self._released_at.get(name, float("-inf")) < REARM_S
            repeat = name in self._down or rearm
            self._down.add(name)
            self._events.append(KeyEvent(name, pressed=True, repeat=repeat))

    def _on_release(self, key: Any, *_injected: bool) -> None:
        name = key_name(key)
        with self._lock:
            if name not in self._down:
                return  # already released by the server-state check
            self._down.discard(name)
            self._released_at[name] = time.monotonic()
            self._events.append(KeyEvent(name, pressed=False))

    def poll(self, now: float) -> list[KeyEvent]:
        del now  # events carry their own order; X state is read live
        with self._lock:
            events = list(self._events)
            self._events.clear()
            if self._x is not None and self._down:
                for name in self._x.released(self._down):
                    self._down.discard(name)
                    events.append(KeyEvent(name, pressed=False))
        return events

    def close(self) -> None:
        self._listener.stop()
        if self._x is not None:
            self._x.close()


def _wait_ready(listener: Any) -> None:
    """Wait until the listener runs.

    pynput's own ``wait()`` — and ``stop()``, which calls it — block forever when the listener
    failed to start, so a failed listener is left to its (daemon) thread.
    """
    ready = threading.Event()
    threading.Thread(target=lambda: (listener.wait(), ready.set()), daemon=True).start()
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not ready.wait(0.05):
        if not listener.is_alive() or time.monotonic() > deadline:
            raise DesktopUnavailable("pynput's keyboard listener did not start")
