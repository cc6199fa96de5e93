"""Shared fixtures of the leader tests: a virtual arm on a pty and LeRobot's SO-101 leader on it."""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest

from dora_sim_leader.virtual.arm import ArmCounters, VirtualArm
from dora_sim_leader.virtual.motion import Motion

# Headless rendering, no network, as in every dora-sim test.
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("EGL_PLATFORM", "surfaceless")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
LENIENT_REPLY_MS = 500  # see the lenient_bus fixture


@pytest.fixture
def calibration_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private LeRobot calibration root (never the user's ~/.cache)."""
    root = tmp_path / "calibration"
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(root))
    directory = root / "teleoperators" / "so_leader"
    directory.mkdir(parents=True)
    return directory


class ArmProcess:
    """A :class:`VirtualArm` serving from a child process, driven from the test.

    Not a thread of the test process: LeRobot's bus code busy-polls for replies while holding the
    GIL most of the time, which starves an in-process arm of it under load.
    """

    def __init__(self, link: Path, motion: Motion) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process that holds torch
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, link, motion), daemon=True)
        self._process.start()
        self.link = link
        self._motion = motion
        self.started_at: float = self._conn.recv()  # its motion time 0 on CLOCK_MONOTONIC

    @property
    def motion(self) -> Motion:
        return self._motion

    @motion.setter
    def motion(self, motion: Motion) -> None:
        self._call("motion", motion)
        self._motion = motion

    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    def set_faults(self, **fields: float) -> None:
        self._call("faults", fields)

    def unplug_for(self, seconds: float) -> None:
        self._call("unplug", seconds)

    def counters(self) -> ArmCounters:
        return self._call("counters")

    def stop(self) -> None:
        if self._process.is_alive():
            self._call("stop")
        self._process.join(timeout=5)

    def _call(self, command: str, argument: object = None) -> Any:
        self._conn.send((command, argument))
        return self._conn.recv()


def _serve(conn: Connection, link: Path, motion: Motion) -> None:
    arm = VirtualArm(link, motion).start()
    conn.send(arm.started_at)
    while True:
        command, argument = conn.recv()
        reply = None
        if command == "motion":
            arm.motion = argument
        elif command == "faults":
            for name, value in argument.items():
                setattr(arm.faults, name, value)
        elif command == "unplug":
            arm.unplug_for(argument)
        elif command == "counters":
            reply = arm.counters
        elif command == "stop":
            arm.stop()
            conn.send(None)
            return
        conn.send(reply)


@pytest.fixture
def start_arm(tmp_path: Path) -> Iterator:
    """``start_arm(motion) -> ArmProcess``, serving until the test ends."""
    arms: list[ArmProcess] = []

    def start(motion: Motion) -> ArmProcess:
        arm = ArmProcess(tmp_path / f"arm{len(arms)}", motion)
        arms.append(arm)
        return arm

    yield start
    for arm in arms:
        arm.stop()


@pytest.fixture(scope="session")
def lerobot_imported() -> None:
    """LeRobot's SO-101 leader imported (and with it torch: seconds, once per session)."""
    import dora_sim_leader.device  # noqa: F401

    # Torch is millions of objects. A full garbage collection over them stalls this process for
    # 100+ ms, long enough for the bus code to time out waiting for a reply.
    gc.collect()
    gc.freeze()


@pytest.fixture
def lenient_bus(lerobot_imported: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """LeRobot's Feetech buses give the servos 500 ms to answer, not 50 ms.

    The virtual arm here is a Python process on a shared 2-core machine, where scheduling stalls
    beyond 50 ms happen under load; LeRobot's handshake and homing read do not retry. These
    tests check logic and arithmetic: the node's retries are tested with dropped replies (which
    still time out), and the ``dora run`` test keeps LeRobot's 50 ms.
    """
    import lerobot.motors.feetech.feetech as feetech

    def lenient_packet_timeout(port, packet_length: int) -> None:
        port.packet_start_time = port.getCurrentTime()
        port.packet_timeout = port.tx_time_per_byte * (packet_length + 3) + LENIENT_REPLY_MS

    monkeypatch.setattr(feetech, "patch_setPacketTimeout", lenient_packet_timeout)
