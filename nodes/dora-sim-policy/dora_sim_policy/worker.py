"""The inference thread: computes the next chunk while the dora loop keeps playing the current one.

One request at a time (the loop only asks when the worker is idle), results through a queue that
the loop polls on every event, so neither side ever blocks the other. torch releases the GIL in
its kernels; the loop itself only copies arrays and sends messages.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dora_sim_policy.assembler import Observation


@dataclass(frozen=True)
class Request:
    episode: int
    frame: int  # frame of the newest observation: row 0 of the chunk is for this frame
    observations: list[Observation]  # oldest first (policies with an observation history)
    task: str
    seed: int | None = None  # the episode's seed: the policy's random generators start from it


@dataclass(frozen=True)
class Result:
    episode: int
    frame: int
    chunk: np.ndarray | None  # float32[n, 6]; None when inference failed
    latency_s: float  # inference wall time, artificial delay included
    error: str | None = None


Predict = Callable[[list[Observation], str], np.ndarray]


class InferenceWorker(threading.Thread):
    def __init__(self, predict: Predict, reset: Callable[[int | None], None], delay_s: float = 0.0):
        super().__init__(name="dora-sim-policy-inference", daemon=True)
        self._predict = predict
        self._reset = reset
        self.delay_s = delay_s
        self._requests: queue.Queue[Request | None] = queue.Queue(maxsize=1)
        self._results: queue.Queue[Result] = queue.Queue()
        self._busy = threading.Event()
        self._episode: int | None = None

    @property
    def busy(self) -> bool:
        return self._busy.is_set()

    def submit(self, request: Request) -> bool:
        """Hand a request over; False (and nothing queued) while the previous one still runs."""
        if self._busy.is_set():
            return False
        self._busy.set()
        self._requests.put_nowait(request)
        return True

    def poll(self) -> Result | None:
        try:
            return self._results.get_nowait()
        except queue.Empty:
            return None

    def close(self) -> None:
        """Stop after the request in progress (the thread is a daemon: exit never waits on it)."""
        with contextlib.suppress(queue.Full):
            self._requests.put_nowait(None)

    def run(self) -> None:
        while (request := self._requests.get()) is not None:
            started = time.perf_counter()
            try:
                if request.episode != self._episode:
                    self._reset(request.seed)
                    self._episode = request.episode
                chunk = self._predict(request.observations, request.task)
                if self.delay_s:
                    time.sleep(self.delay_s)
                result = Result(
                    request.episode, request.frame, chunk, time.perf_counter() - started
                )
            except Exception:  # reported to the loop, which decides (a broken policy is fatal)
                result = Result(
                    request.episode,
                    request.frame,
                    None,
                    time.perf_counter() - started,
                    traceback.format_exc(),
                )
            self._results.put(result)
            self._busy.clear()
