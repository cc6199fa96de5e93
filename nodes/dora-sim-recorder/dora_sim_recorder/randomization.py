"""Each episode's domain randomization, stored beside the LeRobot dataset it belongs to.

A simulator that randomizes its scenes sends the values it sampled for an episode on that
episode's start event (``EpisodeStart.randomization``). The recorder writes them, one JSON line
per saved episode, to ``meta/randomization.jsonl`` of the dataset, in the same atomic commit as
the episode itself (``store.py``: the file is one of the metadata files swapped in with it), so
a line exists exactly for each committed episode that had one. LeRobot ignores the file when it
loads the dataset, and ``push_to_hub`` uploads it with the rest of ``meta/``::

    {"episode_index": 3, "seed": 1003, "task": "Stack the red cube on the blue cube",
     "profile": "configs/randomization/moderate.yaml", "digest": "…",
     "frequency": {"lights": "episode", …}, "values": {"lights.sun.intensity": 1.12, …}}

``episode_index`` is the dataset's episode index (what ``LeRobotDataset`` calls it), ``seed``
the simulator's: the same profile and seed give the same values again. LeRobot's
``dataset_tools`` know nothing of the file: ``scripts/delete_episodes.py`` carries it over to the
edited dataset itself (:func:`carry_over`), renumbered as LeRobot renumbers the episodes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SIDECAR = "meta/randomization.jsonl"


def append(root: Path, record: dict[str, Any]) -> None:
    """Add one episode's line to the sidecar of ``root``, the recorder's work copy: a torn
    write there never reaches the dataset, whose commit only starts after this returns."""
    with open(root / SIDECAR, "a") as sidecar:
        sidecar.write(json.dumps(record) + "\n")


def read(root: Path) -> dict[int, dict[str, Any]]:
    """The dataset's randomized episodes: dataset episode index -> its line (empty: none)."""
    path = Path(root) / SIDECAR
    if not path.exists():
        return {}
    records = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {int(record["episode_index"]): record for record in records}


def carry_over(root: Path, new: Path, deleted: list[int]) -> None:
    """Write the sidecar of ``root`` to the dataset ``new`` made from it by deleting the episodes
    ``deleted``: their lines dropped, the others renumbered in order (LeRobot's numbering)."""
    records = read(root)
    if not records:
        return
    gone = set(deleted)
    kept = [index for index in sorted(records) if index not in gone]
    with open(Path(new) / SIDECAR, "w") as sidecar:
        for index in kept:
            shift = sum(1 for d in gone if d < index)
            sidecar.write(json.dumps({**records[index], "episode_index": index - shift}) + "\n")
