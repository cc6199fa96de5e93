"""Pack a dataset's per-episode files into LeRobot v3's few large ones.

The recorder commits every episode as files of its own (a data parquet, one video per camera,
an episode-metadata parquet; see ``store.py``), because LeRobot's writer only completes files in
``finalize()``. A session of 500 episodes would leave 500 video files per camera. At the end of
a session this module builds a packed copy of the dataset beside it, and ``DatasetStore``
swaps it in atomically, so a kill at any instant leaves either the unpacked or the packed
dataset, both complete.

Packing follows LeRobot's own layout rules (those of its writer and of ``aggregate_datasets``):
consecutive files of one stream are joined while the result stays under the dataset's
``data_files_size_in_mb`` / ``video_files_size_in_mb``, with chunk/file numbers advanced by
``update_chunk_file_indices``. Videos are joined with LeRobot's ``concatenate_video_files``
(stream copy, no re-encoding), in one pass per output file, and each episode's
``from_timestamp``/``to_timestamp`` moves by the duration of the files before its own, as
LeRobot's writer computes it. Data parquet rows keep their global ``index``; only which file
holds them changes. A file that stays alone is hard-linked, not copied, so a session's packing
costs about the size of what that session added (plus the last partly filled file).
``aggregate_datasets`` is not used because it appends one file at a time, rewriting the growing
output for each: quadratic in the number of episodes.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from lerobot.datasets.io_utils import write_table_one_row_group_per_episode
from lerobot.datasets.utils import (
    DEFAULT_DATA_FILE_SIZE_IN_MB,
    DEFAULT_EPISODES_PATH,
    DEFAULT_VIDEO_FILE_SIZE_IN_MB,
    update_chunk_file_indices,
)
from lerobot.datasets.video_utils import concatenate_video_files, get_video_duration_in_s

EPISODES_GLOB = "meta/episodes/*/*.parquet"
DATA = "data"
EPISODES_FILE_COLUMNS = ("meta/episodes/chunk_index", "meta/episodes/file_index")


class PackError(RuntimeError):
    """The dataset's layout is not what packing expects; it is left as it is."""


@dataclass(frozen=True)
class Stream:
    """One series of files: the data parquet files, or the video files of one camera."""

    name: str  # DATA or a video key
    path_template: str  # info.json's data_path / video_path

    @property
    def prefix(self) -> str:
        return "data" if self.name == DATA else f"videos/{self.name}"

    def path(self, chunk: int, file: int) -> str:
        return self.path_template.format(video_key=self.name, chunk_index=chunk, file_index=file)


@dataclass(frozen=True)
class Group:
    """Source files (in episode order) that become one output file."""

    sources: tuple[tuple[int, int], ...]
    target: tuple[int, int]


@dataclass(frozen=True)
class PackResult:
    files_before: int
    files_after: int
    bytes_written: int


def needs_packing(root: Path) -> bool:
    """True when some stream's files could be joined (more files than the size limits need)."""
    info, episodes = _read(root)
    return any(
        len(group.sources) > 1 or group.sources[0] != group.target
        for stream in _streams(info)
        for group in _plan(root, info, episodes, stream)
    )


def pack(root: Path, target: Path) -> PackResult:
    """Write a packed copy of the dataset at ``root`` into ``target`` (which must not exist)."""
    info, episodes = _read(root)
    before = after = written = 0
    columns = {name: episodes.column(name).to_pylist() for name in episodes.column_names}
    for stream in _streams(info):
        groups = _plan(root, info, episodes, stream)
        before += sum(len(g.sources) for g in groups)
        after += len(groups)
        sources = _source_pairs(episodes, stream)  # per row, before any is renumbered
        for group in groups:
            written += _write_group(root, target, stream, group, sources, columns)
    for name in EPISODES_FILE_COLUMNS:
        columns[name] = [0] * episodes.num_rows
    table = pa.table(columns, schema=episodes.schema)
    episodes_path = target / DEFAULT_EPISODES_PATH.format(chunk_index=0, file_index=0)
    episodes_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, episodes_path)
    for meta in (root / "meta").iterdir():
        if meta.is_file():
            _link(meta, target / "meta" / meta.name)
    return PackResult(before, after, written)


def _read(root: Path) -> tuple[dict, pa.Table]:
    info = json.loads((root / "meta" / "info.json").read_text())
    files = sorted(root.glob(EPISODES_GLOB))  # LeRobot's loader reads them in path order
    if not files:
        raise PackError(f"{root} has no episode metadata")
    episodes = pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
    order = episodes.column("episode_index").to_pylist()
    if order != list(range(len(order))) or len(order) != info["total_episodes"]:
        raise PackError(f"{root}: episode metadata rows are not episodes 0..{len(order) - 1}")
    return info, episodes


def _streams(info: dict) -> list[Stream]:
    videos = [k for k, ft in info["features"].items() if ft["dtype"] == "video"]
    return [Stream(DATA, info["data_path"])] + [Stream(k, info["video_path"]) for k in videos]


def _columns(stream: Stream) -> tuple[str, str]:
    return f"{stream.prefix}/chunk_index", f"{stream.prefix}/file_index"


def _source_pairs(episodes: pa.Table, stream: Stream) -> list[tuple[int, int]]:
    """(chunk, file) of the stream's file holding each episode, in row order."""
    chunk_col, file_col = _columns(stream)
    chunks, files = episodes.column(chunk_col).to_pylist(), episodes.column(file_col).to_pylist()
    return list(zip(chunks, files, strict=True))


def _plan(root: Path, info: dict, episodes: pa.Table, stream: Stream) -> list[Group]:
    """Join consecutive files while they fit the size limit, numbering outputs from 0."""
    sources: list[tuple[int, int]] = []
    for pair in _source_pairs(episodes, stream):
        if not sources or sources[-1] != pair:
            if pair in sources:
                raise PackError(f"{root}: {stream.prefix} file {pair} holds episodes out of order")
            sources.append(pair)
    default = DEFAULT_DATA_FILE_SIZE_IN_MB if stream.name == DATA else DEFAULT_VIDEO_FILE_SIZE_IN_MB
    limit_key = "data_files_size_in_mb" if stream.name == DATA else "video_files_size_in_mb"
    limit = float(info.get(limit_key) or default) * 2**20
    chunks_size = int(info["chunks_size"])
    groups, current, size, target = [], [], 0, (0, 0)
    for pair in sources:
        file_size = (root / stream.path(*pair)).stat().st_size
        if current and size + file_size >= limit:
            groups.append(Group(tuple(current), target))
            target = update_chunk_file_indices(*target, chunks_size)
            current, size = [], 0
        current.append(pair)
        size += file_size
    groups.append(Group(tuple(current), target))
    return groups


def _write_group(
    root: Path,
    target: Path,
    stream: Stream,
    group: Group,
    row_sources: list[tuple[int, int]],
    columns: dict[str, list],
) -> int:
    """Write one output file and point its episodes' metadata at it. Returns bytes written."""
    chunk_col, file_col = _columns(stream)
    out = target / stream.path(*group.target)
    out.parent.mkdir(parents=True, exist_ok=True)
    sources = [root / stream.path(*pair) for pair in group.sources]
    offsets = {pair: 0.0 for pair in group.sources}
    if len(sources) == 1:
        _link(sources[0], out)
        written = 0
    elif stream.name == DATA:
        table = pa.concat_tables([pq.read_table(p) for p in sources])
        write_table_one_row_group_per_episode(table, out)
        written = out.stat().st_size
    else:
        elapsed = 0.0
        for pair, source in zip(group.sources, sources, strict=True):
            offsets[pair] = elapsed
            elapsed += get_video_duration_in_s(source)
        concatenate_video_files(sources, out)
        written = out.stat().st_size
    for row, pair in enumerate(row_sources):
        if pair not in offsets:
            continue
        columns[chunk_col][row], columns[file_col][row] = group.target
        if stream.name != DATA:
            for edge in ("from_timestamp", "to_timestamp"):
                columns[f"{stream.prefix}/{edge}"][row] += offsets[pair]
    return written


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:  # no hard links on this filesystem
        shutil.copy2(src, dst)
