"""A :class:`VirtualArm` serving from a child process, driven from its parent (tests, benchmarks).

Not a thread of the process that runs LeRobot: LeRobot's bus code busy-polls for replies while
holding the GIL most of the time, which starves an in-process arm of it under load.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from dora_sim_leader.virtual import physical
from dora_sim_leader.virtual.arm import ArmCounters, VirtualArm
from dora_sim_leader.virtual.motion import Motion


class ArmProcess:
    def __init__(
        self,
        link: Path,
        motion: Motion | None,
        calibration: physical.Calibration = physical.REFERENCE_CALIBRATION,
        pose: np.ndarray | None = None,
    ) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process that holds torch
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, link, motion, calibration, pose), daemon=True
        )
        self._process.start()
        self.link = link
        self.started_at: float = self._conn.recv()  # its motion time 0 on CLOCK_MONOTONIC

    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    def set_motion(self, motion: Motion | None) -> None:
        self._call("motion", motion)

    def set_faults(self, **fields: float) -> None:
        self._call("faults", fields)

    def unplug_for(self, seconds: float) -> None:
        self._call("unplug", seconds)

    def counters(self) -> ArmCounters:
        return self._call("counters")

    def pose(self) -> np.ndarray:
        """Where the joints are (so101 units under the body's calibration)."""
        return self._call("pose")

    def torque(self) -> list[bool]:
        return self._call("torque")

    def stop(self) -> None:
        if self._process.is_alive():
            self._call("stop")
        self._process.join(timeout=5)

    def _call(self, command: str, argument: object = None) -> Any:
        self._conn.send((command, argument))
        return self._conn.recv()


def _serve(
    conn: Connection,
    link: Path,
    motion: Motion | None,
    calibration: physical.Calibration,
    pose: np.ndarray | None,
) -> None:
    arm = VirtualArm(link, motion, calibration=calibration, pose=pose).start()
    conn.send(arm.started_at)
    while True:
        command, argument = conn.recv()
        reply: Any = None
        if command == "motion":
            arm.motion = argument
        elif command == "faults":
            for name, value in argument.items():
                setattr(arm.faults, name, value)
        elif command == "unplug":
            arm.unplug_for(argument)
        elif command == "counters":
            reply = arm.counters
        elif command == "pose":
            reply = arm.pose()
        elif command == "torque":
            reply = arm.torque()
        elif command == "stop":
            arm.stop()
            conn.send(None)
            return
        conn.send(reply)
