"""Delete episodes from a recorded LeRobot dataset, safely.

    uv run python scripts/delete_episodes.py --repo_id me/so101_pick \\
        --root outputs/datasets/so101_pick --episode_indices "[41,42]"

Uses LeRobot's own ``dataset_tools.delete_episodes``. The indices are checked before anything is
touched; the edited dataset is written to a new directory beside the original (the recorder's
work directory, whose lock keeps a recording session out meanwhile), loaded back and checked, and
only then swapped in with one atomic rename exchange (the original is removed last). A kill at
any moment leaves either the old or the new dataset at ``--root``, never a mix. The recorder's
``meta/randomization.jsonl`` (per-episode domain randomization) comes along, renumbered.
Afterwards ``RESUME_RECORDING=1`` re-records the deleted count (the recorder keeps recording until
the dataset holds NUM_EPISODES episodes).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path


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


def delete(repo_id: str, root: Path, indices: list[int]) -> int:
    """Delete ``indices`` from the dataset at ``root``; returns the episodes left."""
    from dora_sim_recorder.store import DatasetStore, StoreError, work_dir

    total = read_total_episodes(root)
    check_indices(indices, total)
    store = DatasetStore(root, work_dir(root))
    try:
        store.acquire()
    except StoreError as err:
        raise DeleteError(f"a recorder is writing to {root}; stop it first") from err
    try:
        if store.manifest.exists():
            raise DeleteError(
                f"{store.work} holds an interrupted save: run the recorder once "
                "with RESUME_RECORDING=1 to complete it, then delete"
            )
        store.replace_root(lambda new: _write_edited(repo_id, root, new, indices))
    except StoreError as err:
        raise DeleteError(str(err)) from err
    finally:
        store.release(remove=True)
    return total - len(indices)


def _write_edited(repo_id: str, root: Path, new: Path, indices: list[int]) -> None:
    """The dataset without ``indices``, written to ``new`` and checked by loading it back."""
    from lerobot.datasets.dataset_tools import delete_episodes
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from dora_sim_recorder.randomization import carry_over

    dataset = LeRobotDataset(repo_id, root=root, video_backend="pyav")
    delete_episodes(dataset, indices, output_dir=new, repo_id=repo_id)
    carry_over(root, new, indices)  # each episode's domain randomization, renumbered likewise
    edited = LeRobotDataset(repo_id, root=new, video_backend="pyav")
    total = dataset.meta.total_episodes
    expected = dataset.meta.total_frames - sum(
        int(dataset.meta.episodes[i]["length"]) for i in indices
    )
    if edited.meta.total_episodes != total - len(indices) or len(edited) != expected:
        raise DeleteError(
            f"the edited copy has {edited.meta.total_episodes} episodes and "
            f"{len(edited)} frames, expected {total - len(indices)} and "
            f"{expected}; nothing was changed"
        )


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
