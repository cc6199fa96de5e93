"""Shared fixtures of the follower tests: a virtual follower in a child process, LeRobot's
calibration folder in a temporary directory, and the follower device/config built on them."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from dora.testing import MockNode

from dora_sim_leader.virtual import physical
from dora_sim_leader.virtual.motion import Motion
from dora_sim_leader.virtual.process import ArmProcess
from dora_sim_leader.virtual.roles import FOLLOWER, FOLLOWER_ROBOT_NAME

# Headless rendering, no network, as in every dora-sim test.
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("EGL_PLATFORM", "surfaceless")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
REST_POSE = np.array([5.0, -20.0, 25.0, 10.0, -5.0, 30.0])
LENIENT_REPLY_MS = 500  # see the lenient_bus fixture


@pytest.fixture
def rest_pose() -> np.ndarray:
    """Where the virtual follower's joints are when it is switched on (so101 units)."""
    return REST_POSE.copy()


@pytest.fixture
def calibration_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private LeRobot calibration root (never the user's ~/.cache), holding the virtual
    follower's calibration under LeRobot's follower folder."""
    root = tmp_path / "calibration"
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(root))
    directory = root / "robots" / FOLLOWER_ROBOT_NAME
    physical.write_calibration(
        directory / f"{FOLLOWER.calibration_id}.json", physical.FOLLOWER_CALIBRATION
    )
    return directory


@pytest.fixture
def start_follower(tmp_path: Path) -> Iterator[Callable[..., ArmProcess]]:
    """``start_follower(pose=REST_POSE, motion=None) -> ArmProcess``, serving until the end."""
    arms: list[ArmProcess] = []

    def start(pose: np.ndarray = REST_POSE, motion: Motion | None = None) -> ArmProcess:
        arm = ArmProcess(
            tmp_path / f"follower{len(arms)}", motion, physical.FOLLOWER_CALIBRATION, pose
        )
        arms.append(arm)
        return arm

    yield start
    for arm in arms:
        arm.stop()


@pytest.fixture(scope="session")
def lerobot_imported() -> None:
    """LeRobot's SO-101 follower imported (and with it torch: seconds, once per session)."""
    import lerobot.robots.so_follower  # noqa: F401

    # Torch is millions of objects: a full garbage collection over them stalls this process for
    # 100+ ms, long enough for the bus code to time out waiting for a reply.
    gc.collect()
    gc.freeze()


@pytest.fixture
def lenient_bus(lerobot_imported: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """LeRobot's Feetech buses give the servos 500 ms to answer, not 50 ms.

    The virtual arm is a Python process on a shared 2-core machine, where scheduling stalls
    beyond 50 ms happen under load, and LeRobot's handshake never retries. Tests that check
    logic use this; the ``dora run`` tests keep LeRobot's 50 ms (the node retries).
    """
    import lerobot.motors.feetech.feetech as feetech

    def lenient_packet_timeout(port, packet_length: int) -> None:
        port.packet_start_time = port.getCurrentTime()
        port.packet_timeout = port.tx_time_per_byte * (packet_length + 3) + LENIENT_REPLY_MS

    monkeypatch.setattr(feetech, "patch_setPacketTimeout", lenient_packet_timeout)


class ScriptedNode(MockNode):
    """dora's ``MockNode`` delivering its events in real time: ``tick`` at ``fps`` for
    ``duration`` seconds, plus scripted ``(t, event)`` items, where an event is an input
    ``(id, value, metadata)`` or a callable run at that moment (unplug the arm…). Ticks the node
    was too busy to take are dropped, as dora's timer input with ``queue_size: 1`` does. Outputs
    are kept with their metadata (MockNode keeps only the values)."""

    def __init__(self, duration: float, script: list[tuple[float, Any]] = (), fps: int = 30):
        super().__init__([])
        self.duration, self.period = duration, 1.0 / fps
        self.script = sorted(script, key=lambda item: item[0])
        self.sent: list[tuple[str, Any, dict[str, Any]]] = []
        self.start: float | None = None
        self.ticks = 0

    def next(self, timeout: float | None = None) -> dict[str, Any] | None:
        if self.start is None:
            self.start = time.monotonic()
        overdue = int((time.monotonic() - self.start) / self.period) - self.ticks
        self.ticks += max(0, overdue)  # only the newest missed tick is still queued
        tick_at = self.ticks * self.period
        if self.script and self.script[0][0] <= tick_at:
            at, item = self.script.pop(0)
            self._sleep_until(at)
            if callable(item):
                item()
                return self.next(timeout)
            input_id, value, metadata = item
            return {"type": "INPUT", "id": input_id, "value": value, "metadata": metadata}
        if tick_at >= self.duration:
            return {"type": "STOP", "id": "STOP"}
        self._sleep_until(tick_at)
        self.ticks += 1
        return {"type": "INPUT", "id": "tick", "value": pa.array([self.ticks]), "metadata": {}}

    def _sleep_until(self, at: float) -> None:
        assert self.start is not None
        time.sleep(max(0.0, self.start + at - time.monotonic()))

    def __next__(self) -> dict[str, Any]:
        return self.next()

    def send_output(self, output_id: str, data: Any, metadata: dict | None = None) -> None:
        super().send_output(output_id, data, metadata)
        self.sent.append((output_id, data, dict(metadata or {})))

    def of(self, output_id: str) -> list[tuple[Any, dict[str, Any]]]:
        return [(value, md) for oid, value, md in self.sent if oid == output_id]


@pytest.fixture(scope="session")
def sample_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two 60-frame episodes (actions, state, front and wrist videos at 96x128) written by
    LeRobot's own writer; ~25 s on 2 cores (LeRobot's dataset imports), once per session."""
    from dora_sim_follower.sample import write_sample_dataset

    return write_sample_dataset(tmp_path_factory.mktemp("sample") / "dataset")
