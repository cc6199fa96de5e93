"""A pseudo-terminal standing in for the arm's USB serial adapter, at a stable symlink path.

"Unplugging" closes the terminal and removes the link, as a real ``/dev/ttyACM0`` vanishes: the
host's next read or write fails with EIO and reopening the path fails until it is "plugged" again
(a fresh pty, the same link path).
"""

from __future__ import annotations

import contextlib
import errno
import os
import pty
import tty
from pathlib import Path


class PtyPort:
    def __init__(self, link: Path) -> None:
        self.link = link
        self.master: int | None = None
        self._slave: int | None = None  # held open so the pty survives the host closing it
        self.device = ""
        self.dropped_bytes = 0

    @property
    def plugged(self) -> bool:
        return self.master is not None

    def plug(self) -> None:
        if self.plugged:
            return
        master, slave = pty.openpty()
        tty.setraw(slave)  # no echo or line editing before the host's pyserial configures it
        os.set_blocking(master, False)
        self.master, self._slave, self.device = master, slave, os.ttyname(slave)
        tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(self.device)
        tmp.replace(self.link)  # atomic: the path never points at a stale device

    def unplug(self) -> None:
        if not self.plugged:
            return
        with contextlib.suppress(FileNotFoundError):
            if self.link.is_symlink() and os.readlink(self.link) == self.device:
                self.link.unlink()
        for fd in (self.master, self._slave):
            if fd is not None:
                os.close(fd)
        self.master = self._slave = None

    def read(self, size: int = 4096) -> bytes:
        if self.master is None:
            return b""
        try:
            return os.read(self.master, size)
        except BlockingIOError:
            return b""
        except OSError as err:
            if err.errno == errno.EIO:  # no host has the device open
                return b""
            raise

    def write(self, data: bytes) -> None:
        """Best effort, like a UART: bytes the host is not draining are dropped, never waited on."""
        if self.master is None:
            return
        try:
            written = os.write(self.master, data)
        except OSError:  # EAGAIN (buffer full) or EIO (no host)
            written = 0
        self.dropped_bytes += len(data) - written
