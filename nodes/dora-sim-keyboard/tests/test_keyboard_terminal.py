"""Terminal key source: escape-sequence decoding, held-key synthesis, and a real pseudo-terminal."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import termios
import time

import pytest

from dora_sim_keyboard import keys as k
from dora_sim_keyboard.keys import KeyEvent
from dora_sim_keyboard.terminal import (
    ESC_TIMEOUT_S,
    REPEAT_HOLD_S,
    TAP_HOLD_S,
    HoldTracker,
    TerminalDecoder,
    TerminalSource,
)


@pytest.mark.parametrize(
    ("data", "names"),
    [
        (b"\x1b[A\x1b[B\x1b[C\x1b[D", [k.UP, k.DOWN, k.RIGHT, k.LEFT]),
        (b"\x1bOA\x1bOD", [k.UP, k.LEFT]),  # application cursor mode
        (b"\x1b[1;2A", [k.UP]),  # with a modifier
        (b"\x1b[5~\x1b[6~", [k.PAGE_UP, k.PAGE_DOWN]),
        (b" \x7f\x08\x12", [k.SPACE, k.BACKSPACE, k.BACKSPACE, k.CTRL_R_CHORD]),
        (b"WsC", ["w", "s", "c"]),
        (b"\x1b[3~\x1b[15~x", ["x"]),  # Delete, F5: not ours
        (b"\x1bw", []),  # Alt+W: another program's shortcut
        (b"\x1b\x1b[A", [k.ESC, k.UP]),
        ("é".encode(), []),
    ],
)
def test_decoder_maps_bytes_to_keys(data, names):
    assert TerminalDecoder().feed(data, now=0.0) == names


def test_lone_esc_is_the_esc_key_once_nothing_follows():
    decoder = TerminalDecoder()
    assert decoder.feed(b"\x1b", now=0.0) == []
    assert decoder.flush(now=ESC_TIMEOUT_S / 2) == []
    assert decoder.feed(b"[", now=0.01) == []  # a sequence split across reads
    assert decoder.feed(b"A", now=0.02) == [k.UP]
    assert decoder.feed(b"\x1b", now=1.0) == []
    assert decoder.flush(now=1.0 + ESC_TIMEOUT_S) == [k.ESC]
    assert decoder.flush(now=2.0) == []


def test_hold_tracker_turns_autorepeat_into_one_held_key():
    hold = HoldTracker()
    assert hold.key(k.UP, 0.0) == [KeyEvent(k.UP, True)]
    assert hold.expire(TAP_HOLD_S / 2) == []
    assert hold.expire(TAP_HOLD_S) == [KeyEvent(k.UP, False)]  # a tap is a short nudge
    # Autorepeat starts after its delay: pressed again (as a repeat), then held.
    assert hold.key(k.UP, 0.5) == [KeyEvent(k.UP, True, repeat=True)]
    for step in range(1, 10):
        assert hold.key(k.UP, 0.5 + 0.033 * step) == []
    last = 0.5 + 0.033 * 9
    assert hold.expire(last + REPEAT_HOLD_S / 2) == []
    assert hold.expire(last + REPEAT_HOLD_S) == [KeyEvent(k.UP, False)]


def test_a_new_key_releases_the_held_one():
    # A terminal repeats only the last key pressed: the previous one is no longer reported.
    hold = HoldTracker()
    hold.key(k.UP, 0.0)
    assert hold.key(k.SPACE, 0.05) == [KeyEvent(k.UP, False), KeyEvent(k.SPACE, True)]


def test_source_reads_a_pseudo_terminal():
    master, slave = pty.openpty()
    source = TerminalSource(slave, owns_fd=False, saved=termios.tcgetattr(slave))
    try:
        termios_attrs = termios.tcgetattr(slave)
        termios_attrs[3] &= ~(termios.ICANON | termios.ECHO)
        termios.tcsetattr(slave, termios.TCSANOW, termios_attrs)
        os.write(master, b"\x1b[C ")
        time.sleep(0.05)
        now = time.monotonic()
        events = source.poll(now)
        right, space = KeyEvent(k.RIGHT, True), KeyEvent(k.SPACE, True)
        assert events == [right, KeyEvent(k.RIGHT, False), space]
        assert source.poll(now + 1.0) == [KeyEvent(k.SPACE, False)]
        os.close(master)  # the terminal hangs up: held keys are released, no error
        assert source.poll(now + 2.0) == []
    finally:
        source.close()
        os.close(slave)


CHILD = """
import time
from dora_sim_keyboard.terminal import TerminalSource
source = TerminalSource.open()
print("READY", source.name, flush=True)
names = []
deadline = time.monotonic() + 10
while len(names) < 3 and time.monotonic() < deadline:
    names += [e.key for e in source.poll(time.monotonic()) if e.pressed]
    time.sleep(0.01)
source.close()
print("KEYS", ",".join(names), flush=True)
"""


def _read_until(fd: int, marker: bytes, timeout: float = 20.0) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while marker not in out and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
    return out


def test_open_reads_its_terminal_in_cbreak_mode_and_restores_it():
    """A process started by hand in a terminal (stdin is that terminal) reads keys from it."""
    pid, master = pty.fork()
    if pid == 0:  # the child: the pseudo-terminal is its controlling terminal and stdin
        os.execv(sys.executable, [sys.executable, "-c", CHILD])
    try:
        before = termios.tcgetattr(master)
        assert b"READY" in _read_until(master, b"READY")
        attrs = termios.tcgetattr(master)
        assert not attrs[3] & termios.ICANON and not attrs[3] & termios.ECHO
        assert attrs[3] & termios.ISIG  # Ctrl+C still interrupts dora run
        os.write(master, b"\x1b[Aw ")
        out = _read_until(master, b"space")
        assert b"KEYS up,w,space" in out, out
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert termios.tcgetattr(master) == before
    finally:
        os.close(master)


CHILD_UNTIL_KILLED = """
import time
from dora_sim_keyboard.terminal import TerminalSource
source = TerminalSource.open()
try:
    print("READY", flush=True)
    while True:
        source.poll(time.monotonic())
        time.sleep(0.01)
finally:
    source.close()
"""


def test_sigterm_still_restores_the_terminal():
    """dora sends SIGTERM to a node slow to stop: the terminal must not stay in cbreak mode."""
    pid, master = pty.fork()
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-c", CHILD_UNTIL_KILLED])
    try:
        before = termios.tcgetattr(master)
        assert b"READY" in _read_until(master, b"READY")
        assert termios.tcgetattr(master) != before
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 128 + signal.SIGTERM
        assert termios.tcgetattr(master) == before
    finally:
        os.close(master)
