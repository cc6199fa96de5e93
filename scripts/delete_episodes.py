"""Delete episodes from a recorded LeRobot dataset, safely.

    uv run python scripts/delete_episodes.py --repo_id me/so101_pick \\
        --root outputs/datasets/so101_pick --episode_indices "[41,42]"

Uses LeRobot's own ``dataset_tools.delete_episodes``. The indices are checked before anything is
touched; the edited dataset is written to a new directory next to the original, loaded back and
checked, and only then swapped in with one atomic rename exchange (the original is removed last).
A kill at any moment leaves either the old or the new dataset at ``--root``, never a mix.
Afterwards ``RESUME_RECORDING=1`` re-records the deleted count (the recorder keeps recording until
the dataset holds NUM_EPISODES episodes).
"""

from __future__ import annotations

import argparse
import ast
import ctypes
import fcntl
import json
import os
import shutil
import sys
from pathlib import Path

RENAME_EXCHANGE = 2  # linux/fs.h


class DeleteError(RuntimeError):
    """Nothing was changed; the message says why."""


def parse_indices(text: str) -> list[int]:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError) as err:
        raise DeleteError(f"--episode_indices {text!r}: expected a list like [41,42]") from err
    if isinstance(value, int):
        value = [value]
    if not isinstance(value, list | tuple) or not all(type(v) is int for v in value):
        raise DeleteError(f"--episode_indices {text!r}: expected a list of integers")
    if not value:
        raise DeleteError("--episode_indices: the list is empty")
    return sorted(set(value))


def check_indices(indices: list[int], total: int) -> None:
    bad = [i for i in indices if not 0 <= i < total]
    if bad:
        raise DeleteError(
            f"episode indices {bad} do not exist (the dataset has episodes 0..{total - 1})"
        )
    if len(indices) == total:
        raise DeleteError("refusing to delete every episode; remove the directory instead")


def read_total_episodes(root: Path) -> int:
    info = root / "meta" / "info.json"
    try:
        return int(json.loads(info.read_text())["total_episodes"])
    except FileNotFoundError as err:
        raise DeleteError(f"no LeRobot dataset at {root} ({info} missing)") from err
    except (ValueError, KeyError) as err:
        raise DeleteError(f"{info} is not a LeRobot dataset info file: {err}") from err


class RecorderLock:
    """The recorder's per-dataset lock, so no recording session writes while we edit.

    Refuses when a recording session left an interrupted save: resuming completes it first.
    """

    def __init__(self, root: Path):
        self.work = root.parent / f".{root.name}.recorder"
        if (self.work / "commit.json").exists():
            raise DeleteError(
                f"{self.work} holds an interrupted save: run the recorder once "
                "with RESUME_RECORDING=1 to complete it, then delete"
            )
        self.created = not self.work.exists()
        self.work.mkdir(exist_ok=True)
        self.file = open(self.work / "lock", "a+")  # noqa: SIM115 - closed in release()
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            self.file.close()
            raise DeleteError(f"a recorder is writing to {root}; stop it first") from err

    def release(self) -> None:
        self.file.close()
        if self.created:
            shutil.rmtree(self.work, ignore_errors=True)


def swap(new: Path, root: Path) -> None:
    """Put ``new`` at ``root`` and the original at ``new``, atomically where Linux allows.

    renameat2(RENAME_EXCHANGE) swaps both names in one step; on a filesystem without it the two
    plain renames leave a moment with no dataset at ``root`` (the original is kept meanwhile).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    at_fdcwd = -100
    if libc.renameat2(at_fdcwd, os.fsencode(new), at_fdcwd, os.fsencode(root), RENAME_EXCHANGE):
        old = root.with_name(root.name + ".delete-old")
        os.rename(root, old)
        os.rename(new, root)
        os.rename(old, new)


def delete(repo_id: str, root: Path, indices: list[int]) -> int:
    """Delete ``indices`` from the dataset at ``root``; returns the episodes left."""
    total = read_total_episodes(root)
    check_indices(indices, total)
    lock = RecorderLock(root)
    try:
        return _delete(repo_id, root, indices, total)
    finally:
        lock.release()


def _delete(repo_id: str, root: Path, indices: list[int], total: int) -> int:
    from lerobot.datasets.dataset_tools import delete_episodes
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    new = root.parent / f".{root.name}.delete-new"
    shutil.rmtree(new, ignore_errors=True)
    dataset = LeRobotDataset(repo_id, root=root, video_backend="pyav")
    delete_episodes(dataset, indices, output_dir=new, repo_id=repo_id)
    edited = LeRobotDataset(repo_id, root=new, video_backend="pyav")
    lengths = [int(dataset.meta.episodes[i]["length"]) for i in indices]
    expected = dataset.meta.total_frames - sum(lengths)
    if edited.meta.total_episodes != total - len(indices) or len(edited) != expected:
        shutil.rmtree(new, ignore_errors=True)
        raise DeleteError(
            f"the edited copy has {edited.meta.total_episodes} episodes and "
            f"{len(edited)} frames, expected {total - len(indices)} and "
            f"{expected}; nothing was changed"
        )
    swap(new, root)  # root now holds the edited dataset, `new` the original
    shutil.rmtree(new)
    return edited.meta.total_episodes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo_id", required=True)
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--episode_indices", required=True, help='e.g. "[41,42]"')
    args = parser.parse_args(argv)
    root = args.root.expanduser().resolve()
    try:
        indices = parse_indices(args.episode_indices)
        left = delete(args.repo_id, root, indices)
    except DeleteError as err:
        print(f"delete_episodes: {err}", file=sys.stderr)
        return 2
    print(f"deleted episodes {indices} from {root}: {left} episodes left, numbered 0..{left - 1}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
