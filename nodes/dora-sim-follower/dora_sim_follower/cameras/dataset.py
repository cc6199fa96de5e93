"""A LeRobot camera that plays the frames a recorded episode's camera saw.

Like a USB camera, a background thread produces frames at the camera's rate (the dataset's
fps) and readers peek at the newest one; the episode loops. Frames are decoded from the
dataset's video file (PyAV) as they are due, so memory stays flat whatever the episode's length.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import av
import numpy as np

from dora_sim_follower.cameras.configs import DatasetCameraConfig
from dora_sim_follower.cameras.frames import LatestFrame, SlotCamera
from dora_sim_leader.virtual.dataset import EpisodeVideo, episode_video

# A frame belongs to the episode when its timestamp is within half a frame of the episode's span.
HALF_FRAME = 0.5
CONNECT_TIMEOUT_MS = 5000


class DatasetCamera(SlotCamera):
    def __init__(self, config: DatasetCameraConfig) -> None:
        super().__init__(config)  # fps, width and height: the dataset's (see its config)
        self.config = config
        self.video: EpisodeVideo = episode_video(config.root, config.key, config.episode)
        self.frames = LatestFrame(str(self))
        self.played = 0  # frames published since connect
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __str__(self) -> str:
        return f"{self.__class__.__name__}({self.config.key}, episode {self.config.episode})"

    @property
    def is_connected(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @staticmethod
    def find_cameras() -> list[dict[str, Any]]:
        return []  # configured with a dataset root, never discovered

    def connect(self, warmup: bool = True) -> None:
        next(self._decode())  # fails here, with the path, if the video cannot be read
        self._stop.clear()
        self.played = 0
        self._thread = threading.Thread(target=self._play, name=str(self), daemon=True)
        self._thread.start()
        self.frames.wait_new(CONNECT_TIMEOUT_MS)  # frame 0 is out: read_latest works now

    def _decode(self) -> Iterator[np.ndarray]:
        """The episode's frames, RGB HWC uint8, in order."""
        period = 1.0 / self.fps
        with av.open(str(self.video.path)) as container:
            stream = container.streams.video[0]
            container.seek(int(self.video.start_s / stream.time_base), stream=stream)
            for frame in container.decode(stream):
                t = float(frame.pts * stream.time_base)
                if t < self.video.start_s - HALF_FRAME * period:
                    continue
                if t >= self.video.end_s - HALF_FRAME * period:
                    return
                yield frame.to_ndarray(format="rgb24")

    def _play(self) -> None:
        """Frames at the camera's rate; each pass starts its clock at its first decoded frame,
        so reopening the video to loop pauses the camera briefly instead of bursting frames."""
        while not self._stop.is_set():
            start = 0.0
            for index, image in enumerate(self._decode()):
                start = start or time.monotonic()
                due = start + index / self.fps
                if self._stop.wait(max(0.0, due - time.monotonic())):
                    return
                self.frames.put(image)
                self.played += 1

    def disconnect(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._thread = None
