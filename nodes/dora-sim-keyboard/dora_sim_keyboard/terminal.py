"""Terminal key source: the fallback with no X display, e.g. for SSH users.

What dora 1.1 gives a node (checked with ``dora run``): stdin is ``/dev/null`` and stdout/stderr
are pipes, but the node stays in the session of the terminal ``dora run`` was started from, in
its own process group. So the node can open ``/dev/tty``, but reading it from a background
process group would stop the node with SIGTTIN. The node therefore joins the terminal's
foreground process group — only when that group is its parent's, i.e. the ``dora run`` it was
started by — and puts the terminal in cbreak mode (no echo, no line buffering, signals kept, so
Ctrl+C still stops ``dora run``). The terminal mode is restored on exit.

A terminal reports neither key releases nor Shift or Ctrl alone: a key counts as held while its
autorepeat keeps arriving (:class:`HoldTracker`), and only the last key pressed repeats, so one
jog key acts at a time.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import termios
import tty

from dora_sim_keyboard import keys as k
from dora_sim_keyboard.keys import KeyEvent

log = logging.getLogger("dora-sim-keyboard")

ESC_TIMEOUT_S = 0.05  # a lone ESC byte is the Esc key, not the start of an escape sequence
TAP_HOLD_S = 0.1  # a single press jogs this long: a small, precise nudge
REPEAT_HOLD_S = 0.15  # held while autorepeat (typically every 30-40 ms) keeps arriving
REPEAT_GAP_S = 0.75  # the same key again within this is autorepeat (initial delay 0.25-0.66 s)

_ARROWS = {"A": k.UP, "B": k.DOWN, "C": k.RIGHT, "D": k.LEFT}
_TILDE = {"5": k.PAGE_UP, "6": k.PAGE_DOWN}
_BYTES = {0x20: k.SPACE, 0x7F: k.BACKSPACE, 0x08: k.BACKSPACE, 0x12: k.CTRL_R_CHORD}


class TerminalUnavailable(RuntimeError):
    """No terminal this node can read keys from; the message says why."""


class TerminalDecoder:
    """Bytes from a terminal -> key names (arrows, PgUp/PgDn, Esc, Space, letters, ...)."""

    def __init__(self) -> None:
        self._buf = b""
        self._esc_at = 0.0

    def feed(self, data: bytes, now: float) -> list[str]:
        self._buf += data
        names: list[str] = []
        while self._buf:
            if self._buf[0] != 0x1B:
                name = self._plain(self._buf[0])
                self._buf = self._buf[1:]
            elif len(self._buf) == 1:
                break  # Esc, or the first byte of a sequence: decided by the next feed/flush
            elif self._buf[1] == 0x1B:
                name, self._buf = k.ESC, self._buf[1:]
            elif self._buf[1] in b"[O":
                end = self._sequence_end()
                if end is None:
                    break  # incomplete sequence: wait for the rest
                name = self._sequence(self._buf[: end + 1])
                self._buf = self._buf[end + 1 :]
            else:
                name, self._buf = None, self._buf[2:]  # Alt+key: another program's shortcut
            if name is not None:
                names.append(name)
        if self._buf:
            self._esc_at = now
        return names

    def flush(self, now: float) -> list[str]:
        """A lone ESC (or a sequence cut short) that nothing followed for ESC_TIMEOUT_S: Esc."""
        if self._buf and now - self._esc_at >= ESC_TIMEOUT_S:
            self._buf = b""
            return [k.ESC]
        return []

    @staticmethod
    def _plain(byte: int) -> str | None:
        if byte in _BYTES:
            return _BYTES[byte]
        if 0x21 <= byte < 0x7F:
            return chr(byte).lower()
        return None  # other control bytes and UTF-8 bytes of non-ASCII characters

    def _sequence_end(self) -> int | None:
        if self._buf[1] == ord("O"):  # SS3: ESC O <final>
            return 2 if len(self._buf) > 2 else None
        for i in range(2, len(self._buf)):  # CSI: ESC [ <parameters> <final byte 0x40-0x7E>
            if 0x40 <= self._buf[i] <= 0x7E:
                return i
        return None

    @staticmethod
    def _sequence(seq: bytes) -> str | None:
        final = chr(seq[-1])
        if final in _ARROWS:  # also with modifiers, e.g. ESC [ 1 ; 2 A
            return _ARROWS[final]
        if final == "~":
            return _TILDE.get(seq[2:-1].decode("ascii", "replace").split(";")[0])
        return None


class HoldTracker:
    """Key names as they arrive -> press/release events, one held key at a time."""

    def __init__(self) -> None:
        self.held: str | None = None
        self._until = 0.0
        self._last: str | None = None
        self._last_at = float("-inf")

    def key(self, name: str, now: float) -> list[KeyEvent]:
        repeat = name == self._last and now - self._last_at <= REPEAT_GAP_S
        self._last, self._last_at = name, now
        self._until = now + (REPEAT_HOLD_S if repeat else TAP_HOLD_S)
        if name == self.held:
            return []
        events = [KeyEvent(self.held, pressed=False)] if self.held is not None else []
        self.held = name
        return [*events, KeyEvent(name, pressed=True, repeat=repeat)]

    def expire(self, now: float) -> list[KeyEvent]:
        if self.held is None or now < self._until:
            return []
        released, self.held = self.held, None
        return [KeyEvent(released, pressed=False)]


class TerminalSource:
    """Keys typed into the terminal ``dora run`` runs in."""

    terminal = True

    def __init__(self, fd: int, owns_fd: bool, saved: list) -> None:
        self.fd = fd
        self._owns_fd = owns_fd
        self._saved = saved
        self._decoder = TerminalDecoder()
        self._hold = HoldTracker()
        self._lost = False
        self.name = f"the terminal ({os.ttyname(fd)})"

    @classmethod
    def open(cls) -> TerminalSource:
        fd, owns_fd = _open_tty()
        try:
            _join_foreground(fd)
            saved = termios.tcgetattr(fd)
            # Restoring the mode at exit must not stop the node if the shell took the terminal back.
            signal.signal(signal.SIGTTOU, signal.SIG_IGN)
            # In the foreground group Ctrl+C reaches this node too: dora run turns it into STOP.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            # dora's SIGTERM (a node slow to stop) must still unwind through close().
            signal.signal(signal.SIGTERM, _exit_on_signal)
            tty.setcbreak(fd, termios.TCSANOW)
        except (OSError, termios.error) as err:
            if owns_fd:
                os.close(fd)
            raise TerminalUnavailable(f"cannot use the terminal: {err}") from err
        return cls(fd, owns_fd, saved)

    def poll(self, now: float) -> list[KeyEvent]:
        events: list[KeyEvent] = []
        while not self._lost and select.select([self.fd], [], [], 0)[0]:
            try:
                data = os.read(self.fd, 1024)
            except OSError:
                data = b""
            if not data:  # the terminal hung up (SSH connection lost)
                log.warning("the terminal closed: no more keys")
                self._lost = True
                break
            for name in self._decoder.feed(data, now):
                events += self._hold.key(name, now)
        for name in self._decoder.flush(now):
            events += self._hold.key(name, now)
        return events + self._hold.expire(now if not self._lost else float("inf"))

    def close(self) -> None:
        try:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
        except termios.error as err:
            log.warning("could not restore the terminal mode (%s): run `stty sane`", err)
        if self._owns_fd:
            os.close(self.fd)


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _open_tty() -> tuple[int, bool]:
    if os.isatty(0):  # started by hand in a terminal, not by dora (stdin is /dev/null there)
        return 0, False
    try:
        return os.open("/dev/tty", os.O_RDWR), True
    except OSError as err:
        raise TerminalUnavailable(
            f"no controlling terminal ({err.strerror}): `dora run` was not started from a terminal"
        ) from err


def _join_foreground(fd: int) -> None:
    foreground = os.tcgetpgrp(fd)
    if foreground == os.getpgrp():
        return
    if foreground != os.getpgid(os.getppid()):
        raise TerminalUnavailable(
            "the terminal's foreground job is not the `dora run` that started this node"
            " (was it started in the background, or by a separate `dora daemon`?)"
        )
    os.setpgid(0, foreground)
