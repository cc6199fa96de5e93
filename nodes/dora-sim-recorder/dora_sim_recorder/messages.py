"""Decoding of the recorder's own inputs beyond the contract's joint and image codecs.

Like :mod:`dora_sim.codec`, everything here raises :class:`~dora_sim.codec.ContractError` (and
nothing else) for a malformed message, so the node logs, rejects and carries on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from dora_sim import codec


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
