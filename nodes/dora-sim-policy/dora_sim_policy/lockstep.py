"""Lockstep chunk execution: every frame's action comes from the policy, however long it takes.

In lockstep (``EVAL_MODE=lockstep``) the simulator emits frame ``g``'s observation and waits for
the action stamped ``for_frame = g`` before it steps. The runner answers each complete
observation with the next row of the current chunk; when the chunk is used up it asks the
policy for a new one, predicted from exactly this observation, and the sim waits meanwhile. As
with ``lerobot-eval``'s ``select_action`` there is no overlap and no aggregation, so the same
seeds give the same actions whether inference takes 1 ms or 1 s.

No dora and no torch here: driven by plain calls and unit-tested.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from dora_sim import contract as c
from dora_sim_policy.assembler import Observation
from dora_sim_policy.runner import RunnerStats, checked_action
from dora_sim_policy.worker import Request, Result


class LockstepRunner:
    def __init__(self, history: int):
        self.history: deque[Observation] = deque(maxlen=history)
        self.chunk: dict[int, np.ndarray] = {}  # frame -> action of the current chunk
        self.episode: int | None = None
        self.waiting: int | None = None  # frame whose action waits for a chunk
        self.last_action: np.ndarray | None = None
        self.stats = RunnerStats()

    def on_observation(
        self, obs: Observation, task: str | None
    ) -> tuple[np.ndarray | None, Request | None]:
        """Frame g's observation: its action now, or the request for a chunk that starts at g."""
        stamp = obs.stamp
        if stamp.phase != c.PHASE_EPISODE or task is None:
            return None, None
        if stamp.episode_index != self.episode:
            self.episode = stamp.episode_index
            self.history.clear()
            self.chunk.clear()
            self.last_action = None
        self.stats.frames += 1
        self.history.append(obs)
        action = self.chunk.pop(stamp.frame, None)
        if action is not None:
            return self._send(action, obs), None
        self.chunk.clear()
        self.waiting = stamp.frame
        history = list(self.history)
        history = [history[0]] * (self.history.maxlen - len(history)) + history
        return None, Request(stamp.episode_index, stamp.frame, history, task)

    def on_result(self, result: Result) -> tuple[int, np.ndarray] | None:
        """A chunk predicted from frame ``result.frame``: that frame's action, if still awaited."""
        if result.chunk is None:
            self.stats.inference_errors += 1
            return None
        self.stats.latencies_ms.append(1000 * result.latency_s)
        if result.episode != self.episode or result.frame != self.waiting:
            return None
        self.stats.chunks += 1
        self.chunk = {result.frame + i: row for i, row in enumerate(result.chunk)}
        self.waiting = None
        return result.frame, self._send(self.chunk.pop(result.frame), self.history[-1])

    def _send(self, action: np.ndarray, obs: Observation) -> np.ndarray:
        """The action to send for ``obs``'s frame; always one, or the sim would wait forever:
        a non-finite first action holds the arm where it is."""
        held_from = self.last_action if self.last_action is not None else obs.state
        self.last_action, held, clipped = checked_action(action, held_from)
        self.stats.nonfinite_held += int(held)
        self.stats.clipped += int(clipped)
        self.stats.actions_sent += 1
        return self.last_action
