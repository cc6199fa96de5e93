"""The newest frame of a camera, shared between whatever produces frames and LeRobot's readers."""

from __future__ import annotations

import threading
import time

import numpy as np
from lerobot.cameras import Camera
from lerobot.utils.errors import DeviceNotConnectedError


class LatestFrame:
    """LeRobot's camera read semantics over one slot: ``latest`` peeks (``read_latest``),
    ``wait_new`` takes a frame not seen before (``async_read``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._new = threading.Event()
        self._frame: np.ndarray | None = None
        self._stamp = 0.0

    def put(self, frame: np.ndarray) -> None:
        with self._lock:
            self._frame, self._stamp = frame, time.perf_counter()
        self._new.set()

    def latest(self, max_age_ms: float) -> np.ndarray:
        with self._lock:
            frame, stamp = self._frame, self._stamp
        if frame is None:
            raise RuntimeError(f"{self.name} has not captured any frames yet.")
        age_ms = (time.perf_counter() - stamp) * 1e3
        if age_ms > max_age_ms:
            raise TimeoutError(
                f"{self.name} latest frame is too old: {age_ms:.1f} ms (max allowed:"
                f" {max_age_ms} ms)."
            )
        return frame

    def wait_new(self, timeout_ms: float) -> np.ndarray:
        if not self._new.wait(timeout_ms / 1e3):
            raise TimeoutError(f"Timed out waiting for a frame from {self.name} after"
                               f" {timeout_ms} ms.")  # fmt: skip
        with self._lock:
            self._new.clear()
            assert self._frame is not None
            return self._frame


class SlotCamera(Camera):
    """A LeRobot camera serving its frames from a :class:`LatestFrame` slot."""

    frames: LatestFrame

    def read(self) -> np.ndarray:
        return self.async_read(timeout_ms=1000)

    def async_read(self, timeout_ms: float = 200) -> np.ndarray:
        self._check()
        return self.frames.wait_new(timeout_ms)

    def read_latest(self, max_age_ms: int = 500) -> np.ndarray:
        self._check()
        return self.frames.latest(max_age_ms)

    def _check(self) -> None:
        if not self.is_connected:
            raise DeviceNotConnectedError(f"{self} is not connected.")
