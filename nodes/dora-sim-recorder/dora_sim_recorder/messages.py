"""Decoding of the recorder's own inputs beyond the contract's joint and image codecs.

Like :mod:`dora_sim.codec`, everything here raises :class:`~dora_sim.codec.ContractError` (and
nothing else) for a malformed message, so the node logs, rejects and carries on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from dora_sim import codec
from dora_sim import contract as c


def decode_vector(value: Any, what: str) -> np.ndarray:
    """A flat float32 Arrow array (extra observation inputs) -> float32 numpy vector (a view)."""
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    if not isinstance(value, pa.Array) or value.type != pa.float32() or value.null_count:
        raise codec.ContractError(f"{what}: expected a flat float32 array without nulls")
    array = value.to_numpy(zero_copy_only=True)
    if not np.all(np.isfinite(array)):
        raise codec.ContractError(f"{what}: non-finite value(s)")
    return array


def validate_episode_event(kind: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """Check an episode event's metadata; returns a copy with typed values."""
    try:
        event = dict(metadata)
        event[c.MD_EPISODE] = int(metadata[c.MD_EPISODE])
        if kind == c.EPISODE_START:
            event[c.MD_TASK] = str(metadata[c.MD_TASK])
            event[c.MD_FPS] = int(metadata[c.MD_FPS])
            if event[c.MD_FPS] <= 0:
                raise ValueError("fps must be positive")
        elif kind == c.EPISODE_END:
            event[c.MD_NUM_FRAMES] = int(metadata[c.MD_NUM_FRAMES])
            event[c.MD_END_REASON] = str(metadata[c.MD_END_REASON])
        else:
            raise ValueError(f"unknown kind {kind!r} (expected start or end)")
    except (KeyError, TypeError, ValueError) as err:
        raise codec.ContractError(f"episode event {kind!r}: {err}") from err
    return event
