"""Read a saved ``.rrd`` back: which entities it holds, and one component's values over a timeline.

For tests, ``scripts/bench_rerun.py`` and anyone checking a session without a viewer. Built on
``rerun.experimental.RrdReader``, rerun's replacement (since 0.32) of ``rerun.dataframe``, which
0.33 no longer has; the reader streams chunks, so a file still being written can be read too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
from rerun.experimental import RrdReader

from dora_sim_rerun import layout


def entity_paths(rrd: Path) -> set[str]:
    """Every entity with data on a timeline (``/cameras/front``, ``/joints/gripper/state``, …)."""
    return {chunk.entity_path for chunk in RrdReader(rrd).stream() if not chunk.is_static}


def column(
    rrd: Path, entity: str, component: str, index: str = layout.TIMELINE_FRAME
) -> tuple[list[int], list[Any]]:
    """(index values, cells) of every row logged to ``entity``'s ``component``
    (``"Scalars:scalars"``) on the ``index`` timeline, in index order; rows that share an index
    value (an episode's end and the next start) stay in the order they were logged. Timestamps
    come as ns since the epoch."""
    stream = RrdReader(rrd).stream()
    chunks = stream.filter(content=absolute(entity), has_timeline=index, components=component)
    rows: list[tuple[int, Any]] = []
    for chunk in chunks:
        batch = chunk.to_record_batch()
        indices = batch.column(index)
        if pa.types.is_timestamp(indices.type):
            indices = indices.cast(pa.int64())
        rows += zip(indices.to_pylist(), batch.column(component).to_pylist(), strict=True)
    rows.sort(key=lambda row: row[0])  # stable: ties keep the file's (logging) order
    return [i for i, _ in rows], [cell for _, cell in rows]


def row_count(rrd: Path, entity: str, index: str = layout.TIMELINE_FRAME) -> int:
    """How many times ``entity`` was logged on the ``index`` timeline (e.g. images of a camera)."""
    chunks = RrdReader(rrd).stream().filter(content=absolute(entity), has_timeline=index)
    return sum(chunk.num_rows for chunk in chunks)


def absolute(entity: str) -> str:
    """``cameras/front`` -> ``/cameras/front`` (layout names are relative, rerun's absolute)."""
    return entity if entity.startswith("/") else f"/{entity}"
