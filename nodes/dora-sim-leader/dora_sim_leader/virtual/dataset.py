"""A recorded LeRobot v3 dataset read straight from its files: episode actions and videos.

Used by the virtual arms (``--motion dataset``), the follower's dataset camera and the replay
node. It reads ``meta/info.json``, ``meta/episodes/`` and ``data/`` with pyarrow, the dataset
format's documented layout, instead of LeRobot's dataset classes: importing those pulls in HF
``datasets`` and pandas (~8 s here), too slow for a device that starts beside a dataflow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dora_sim import contract as c


@dataclass(frozen=True)
class DatasetInfo:
    root: Path
    fps: float
    features: dict[str, Any]
    video_path: str  # LeRobot's template: videos/{video_key}/chunk-{chunk_index:03d}/…

    @classmethod
    def load(cls, root: Path) -> DatasetInfo:
        """Raises ValueError (or OSError) with the path when ``root`` is not a v3 dataset."""
        path = root / "meta" / "info.json"
        try:
            info = json.loads(path.read_text())
            return cls(root, float(info["fps"]), info["features"], info.get("video_path") or "")
        except (OSError, ValueError, KeyError) as err:
            raise ValueError(f"{root}: not a LeRobot v3 dataset ({path}: {err})") from err

    def video_key(self, camera: str) -> str:
        """``front`` or ``observation.images.front`` -> the dataset's video feature key."""
        key = camera if camera in self.features else c.image_topic(camera)
        if self.features.get(key, {}).get("dtype") != "video":
            videos = [k for k, f in self.features.items() if f.get("dtype") == "video"]
            raise ValueError(f"{self.root}: no video {camera!r}; its videos: {videos or 'none'}")
        return key


def _episode_table(info: DatasetInfo, folder: str, columns: list[str], episode: int | None):
    files = sorted((info.root / folder).glob("**/*.parquet"))
    if not files:
        raise ValueError(f"{info.root}: no parquet files under {folder}/")
    tables = []
    for file in files:
        table = pq.read_table(file, columns=[*columns, "episode_index"])
        if episode is not None:
            table = table.filter(pc.equal(table["episode_index"], episode))
        tables.append(table)
    table = pa.concat_tables(tables)
    if not table.num_rows:
        which = "" if episode is None else f" for episode {episode}"
        raise ValueError(f"{info.root}: no rows in {folder}/{which}")
    return table


def episode_actions(root: Path, episode: int | None = None) -> np.ndarray:
    """The ``action`` column (so101 units, float64[n, 6]) of one episode or of all, in order."""
    info = DatasetInfo.load(root)
    names = info.features.get(c.ACTION, {}).get("names")
    if names is not None and list(names) != list(c.MOTOR_FEATURE_NAMES):
        raise ValueError(
            f"{root}: action names {names} are not an SO-101's {list(c.MOTOR_FEATURE_NAMES)}"
        )
    table = _episode_table(info, "data", [c.ACTION], episode)
    actions = np.stack(table[c.ACTION].to_numpy(zero_copy_only=False)).astype(np.float64)
    actions[:, c.GRIPPER_INDEX] = np.clip(actions[:, c.GRIPPER_INDEX], *c.GRIPPER_RANGE)
    return actions


@dataclass(frozen=True)
class EpisodeVideo:
    path: Path
    start_s: float  # the episode's frames in the file: [start_s, end_s)
    end_s: float


def episode_video(root: Path, camera: str, episode: int) -> EpisodeVideo:
    """Where episode ``episode`` of camera ``camera`` lies in the dataset's video files."""
    info = DatasetInfo.load(root)
    key = info.video_key(camera)
    fields = ("chunk_index", "file_index", "from_timestamp", "to_timestamp")
    columns = {field: f"videos/{key}/{field}" for field in fields}
    row = _episode_table(info, "meta/episodes", list(columns.values()), episode)
    value = {field: row[column][0].as_py() for field, column in columns.items()}
    relative = info.video_path.format(
        video_key=key, chunk_index=value["chunk_index"], file_index=value["file_index"]
    )
    return EpisodeVideo(root / relative, value["from_timestamp"], value["to_timestamp"])
