"""Assemble one observation per simulator frame from the separately delivered streams.

The simulator sends ``observation.state`` and each camera as separate messages stamped with the
same ``frame``; inputs use ``queue_size: 1`` (latest wins), so a stream may skip a frame. An
observation is complete when every stream the policy needs holds the same frame. Images are copied
out of dora's shared memory on arrival (the sample is released when the event is dropped).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dora_sim import codec
from dora_sim import contract as c


@dataclass(frozen=True)
class Observation:
    stamp: codec.FrameStamp
    state: np.ndarray  # float32[6], so101 units
    images: dict[str, np.ndarray]  # contract key -> HxWx3 uint8


@dataclass
class ObservationAssembler:
    cameras: tuple[str, ...]  # contract image keys the policy needs
    seen: set[str] = field(default_factory=set)  # streams that ever arrived
    _latest: dict[str, tuple[codec.FrameStamp, np.ndarray]] = field(default_factory=dict)

    def add(self, key: str, stamp: codec.FrameStamp, value: np.ndarray) -> Observation | None:
        """Store the latest value of ``key``; return the observation once its frame is complete."""
        self.seen.add(key)
        self._latest[key] = (stamp, np.array(value, copy=True))
        frames = {
            self._latest[k][0].frame if k in self._latest else None
            for k in (c.STATE, *self.cameras)
        }
        if frames != {stamp.frame}:
            return None
        state_stamp, state = self._latest.pop(c.STATE)
        images = {k: self._latest.pop(k)[1] for k in self.cameras}
        return Observation(state_stamp, state, images)

    def missing(self) -> list[str]:
        """Needed streams that never arrived."""
        return [k for k in (c.STATE, *self.cameras) if k not in self.seen]
