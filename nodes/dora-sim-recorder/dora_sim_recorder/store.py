"""Crash-safe placement of LeRobot's output into the user's dataset directory.

LeRobot's writer is not crash safe: its parquet files get their footer only in ``finalize()``
and it rewrites ``info.json``/``stats.json``/``tasks.parquet`` in place. So LeRobot never writes
into the user's dataset (``root``). It writes into a private work copy (``<work>/dataset``), and
after each saved episode this module *commits* the result into ``root`` with atomic steps only:

1. a manifest naming the new files is written (atomically) to ``<work>/commit.json``;
2. the new data parquet and video files (LeRobot writes each resumed episode into files of its
   own) are hard-linked (or copied) under a temporary name and renamed into place, so ``root``
   gains complete files only. LeRobot does not look at them yet: no metadata points there;
3. a new ``meta/`` is assembled beside the old one (links to the existing episode metadata,
   the new episode's metadata file, the new ``info.json``, ``stats.json``, ``tasks.parquet``)
   and swapped with it in one ``renameat2(RENAME_EXCHANGE)`` — the commit point: the dataset
   claims the new episode in all of its metadata at once;
4. the old ``meta/`` and the manifest are removed.

A kill at any instant therefore leaves ``root`` exactly as LeRobot left it after some whole
number of episodes (plus, between steps 2 and 3, data and video files no metadata refers to).
A kill inside steps 2-4 leaves the manifest; the next session rolls that commit forward
(idempotently) before it touches anything else. The very first commit builds a complete dataset
in ``<work>/staging`` and renames it to ``root``, so ``root`` never exists half-made. Where the
filesystem cannot exchange directories, step 3 falls back to renaming the metadata files one by
one, ``info.json`` last (loadable throughout; for a moment ``meta/episodes`` may list the new
episode before ``info.json`` counts it).

The work copy holds what LeRobot needs to resume and no more: copies of the small metadata
files and every episode's metadata row compacted into one parquet file (``LeRobotDataset.resume``
reads only ``meta/``). Reopening LeRobot's writer on it after each episode thus reads two files
whatever the dataset's size; on the dataset itself (one metadata file per episode, as
finalize-and-reopen makes them) the reopen grows by ~8 ms per episode (1.3 s at 150 episodes).

Finalize-and-reopen gives every episode files of its own. At the end of a session ``packer.py``
joins them into LeRobot v3's few large files, in a new version of ``root`` that
:meth:`DatasetStore.replace_root` swaps in atomically.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dora_sim_recorder.randomization import SIDECAR

INFO = "meta/info.json"
EPISODES_DIR = "meta/episodes"
TMP_SUFFIX = ".recorder-tmp"
NEW_META = "meta.recorder-new"  # beside root/meta while a commit assembles the next one
REPLACEMENT = "replacement"  # in the work directory: a new version of root (packed, edited)
RENAME_EXCHANGE = 2  # linux/fs.h
# Files LeRobot rewrites in place: copied, never linked, and committed in this order (info last);
# with them the recorder's own per-episode randomization file (randomization.py).
META_FILES = (
    "meta/tasks.parquet",
    "meta/subtasks.parquet",
    "meta/stats.json",
    SIDECAR,
    INFO,
)
# Files LeRobot only ever creates (one set per resumed episode): safe to hard-link.
ADDED_GLOBS = ("data/*/*.parquet", "videos/*/*/*.mp4", "meta/episodes/*/*.parquet")
# The work copy's compacted episode metadata. LeRobot never writes this name again (it continues
# from the index stored in the newest row), and it sorts first, as LeRobot's loader reads files
# in path order.
COMPACT_EPISODES = "meta/episodes/chunk-000/file-000.parquet"


class StoreError(RuntimeError):
    """The dataset directory cannot be used as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Commit:
    files: tuple[str, ...]  # new files, relative to the dataset root
    meta: tuple[str, ...]
    base_episodes: int | None  # total_episodes in root before the commit (None: no root yet)
    target_episodes: int

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str) -> Commit:
        data = json.loads(text)
        return cls(
            files=tuple(data["files"]),
            meta=tuple(data["meta"]),
            base_episodes=data["base_episodes"],
            target_episodes=int(data["target_episodes"]),
        )


def work_dir(root: Path) -> Path:
    """Private sibling of the dataset where LeRobot writes before each atomic commit."""
    return root.parent / f".{root.name}.recorder"


class DatasetStore:
    def __init__(self, root: Path, work: Path):
        self.root = root
        self.work = work
        self.lerobot_root = work / "dataset"  # where LeRobot's writer works
        self.cache = work / "hf-datasets-cache"  # HF datasets' arrow cache for the work copy
        self.manifest = work / "commit.json"
        self.staging = work / "staging"
        self._lock_file: Any = None
        self._known: set[str] = set()  # work-copy files present when LeRobot (re)opened it

    # --- session ---
    def acquire(self) -> None:
        """Take the dataset's writer lock (one recorder or editor per dataset at a time)."""
        try:
            self.work.mkdir(parents=True, exist_ok=True)
            lock = open(self.work / "lock", "a+")  # noqa: SIM115 - held for the whole session
        except OSError as err:
            raise StoreError(f"cannot write next to the dataset ({self.work}): {err}") from err
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            lock.close()
            raise StoreError(
                f"another recorder or editor is using {self.root} (lock "
                f"{self.work / 'lock'} is held)"
            ) from err
        self._lock_file = lock

    def release(self, remove: bool) -> None:
        """Drop the lock; with ``remove`` also the whole work directory (nothing pending)."""
        if remove and not self.manifest.exists():
            shutil.rmtree(self.work, ignore_errors=True)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def pending(self) -> Commit | None:
        try:
            return Commit.from_json(self.manifest.read_text())
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as err:
            raise StoreError(f"unreadable commit manifest {self.manifest}: {err}") from err

    # --- recovery ---
    def recover(self) -> str | None:
        """Finish an interrupted commit and clear leftovers. Returns what was done, if anything."""
        done = None
        commit = self.pending()
        if commit is not None:
            current = _total_episodes(self.root) if self.root.exists() else None
            if current not in (commit.base_episodes, commit.target_episodes):
                raise StoreError(
                    f"an interrupted commit in {self.work} was made against {self.root} with "
                    f"{commit.base_episodes} episodes, but it now has {current}: the dataset "
                    f"changed since; move {self.work} away to start over"
                )
            missing = [
                f for f in commit.files + commit.meta if not (self.lerobot_root / f).exists()
            ]
            if missing:
                raise StoreError(f"interrupted commit in {self.work} lacks {', '.join(missing)}")
            self._apply(commit)
            done = (
                f"completed an interrupted save: {self.root} now holds "
                f"{commit.target_episodes} episodes"
            )
        if self.root.is_dir():
            for stray in self.root.rglob(f"*{TMP_SUFFIX}"):
                stray.unlink()
            shutil.rmtree(self.root / NEW_META, ignore_errors=True)
        shutil.rmtree(self.staging, ignore_errors=True)
        shutil.rmtree(self.work / REPLACEMENT, ignore_errors=True)
        return done

    def replace_root(self, build: Callable[[Path], None]) -> None:
        """Replace ``root`` by the new version of it that ``build(directory)`` writes.

        The new version is written in the work directory (on root's filesystem) and swapped
        with ``root`` in one ``renameat2(RENAME_EXCHANGE)``: a kill at any instant leaves the
        old or the new dataset at ``root``, complete, and at most a stale copy in the work
        directory, which :meth:`recover` removes. Where the filesystem cannot exchange
        directories nothing is replaced (:class:`StoreError`).
        """
        new = self.work / REPLACEMENT
        shutil.rmtree(new, ignore_errors=True)
        build(new)
        for path in sorted(new.rglob("*"), reverse=True):  # files before their directories
            (_fsync_dir if path.is_dir() else _fsync_file)(path)
        _fsync_dir(new)
        if not _exchange(new, self.root):
            shutil.rmtree(new)
            raise StoreError(
                f"the filesystem of {self.root} cannot swap directories atomically "
                "(renameat2 RENAME_EXCHANGE); the dataset was left as it was"
            )
        _fsync_dir(self.root.parent)
        _fsync_dir(self.work)
        shutil.rmtree(new)  # the previous version

    def reset_work_copy(self) -> None:
        shutil.rmtree(self.lerobot_root, ignore_errors=True)
        shutil.rmtree(self.cache, ignore_errors=True)

    def build_work_copy(self) -> None:
        """Work copy of ``root`` for LeRobot to resume in: its metadata only.

        ``LeRobotDataset.resume`` reads nothing but ``meta/``, and starts the next episode's
        data and video files after the newest ones (checked by :meth:`commit`, which refuses
        to overwrite a file of ``root``).
        """
        self.reset_work_copy()
        (self.lerobot_root / "meta").mkdir(parents=True)
        for path in (self.root / "meta").iterdir():
            if path.is_file():
                shutil.copy2(path, self.lerobot_root / "meta" / path.name)
        self._compact_episodes(sorted((self.root / "meta" / "episodes").glob("*/*.parquet")))

    # --- commit ---
    def mark(self) -> None:
        """Remember the work copy's files: what appears after this is the next commit's."""
        self._known = set(self._added_files())

    def commit(self) -> Commit:
        """Place the work copy's newly saved episode into ``root`` (see the module docstring)."""
        files = sorted(set(self._added_files()) - self._known)
        for rel in files:
            if (self.root / rel).exists():
                raise StoreError(
                    f"refusing to overwrite {self.root / rel}: LeRobot wrote a file "
                    "of that name again"
                )
        meta = tuple(m for m in META_FILES if (self.lerobot_root / m).exists())
        commit = Commit(
            files=tuple(files),
            meta=meta,
            base_episodes=_total_episodes(self.root) if self.root.exists() else None,
            target_episodes=_total_episodes(self.lerobot_root),
        )
        for rel in commit.files + commit.meta:
            _fsync_file(self.lerobot_root / rel)
        _write_atomic(self.manifest, commit.to_json())
        self._apply(commit)
        self.manifest.unlink()
        _fsync_dir(self.work)
        return commit

    def trim_work_copy(self) -> None:
        """After a commit: drop the committed data and video files (``root`` has them), fold
        the new episode metadata into the compacted file, and drop HF datasets' cache."""
        for rel in self._added_files():
            if not rel.startswith("meta/"):
                (self.lerobot_root / rel).unlink()
        episodes = sorted((self.lerobot_root / "meta" / "episodes").glob("*/*.parquet"))
        self._compact_episodes(episodes)
        for path in episodes:
            if path != self.lerobot_root / COMPACT_EPISODES:
                path.unlink()
        shutil.rmtree(self.cache, ignore_errors=True)

    def _compact_episodes(self, sources: list[Path]) -> None:
        """Write every episode's metadata row, in LeRobot's load order, as one file.

        Written under a new name and renamed: the old file may be a hard link into ``root``.
        """
        table = pa.concat_tables([pq.read_table(p) for p in sources], promote_options="permissive")
        target = self.lerobot_root / COMPACT_EPISODES
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + TMP_SUFFIX)
        pq.write_table(table, tmp)
        os.replace(tmp, target)

    def _added_files(self) -> list[str]:
        return [
            path.relative_to(self.lerobot_root).as_posix()
            for pattern in ADDED_GLOBS
            for path in self.lerobot_root.glob(pattern)
        ]

    def _apply(self, commit: Commit) -> None:
        if commit.base_episodes is None:
            if not self.root.exists():
                self._first_commit()
            return
        episodes = [rel for rel in commit.files if rel.startswith(EPISODES_DIR)]
        dirs = set()
        for rel in commit.files:
            if rel not in episodes:
                _place(self.lerobot_root / rel, self.root / rel, link=True)
                dirs.add((self.root / rel).parent)
        for d in dirs:
            _fsync_dir(d)
        if _total_episodes(self.root) != commit.target_episodes:  # not switched yet
            self._switch_meta(episodes, commit.meta)

    def _switch_meta(self, episodes: list[str], meta: tuple[str, ...]) -> None:
        """Replace ``root/meta`` by the committed one in a single step (see module docstring)."""
        new = self.root / NEW_META
        shutil.rmtree(new, ignore_errors=True)
        current = self.root / "meta"
        for path in sorted(current.rglob("*")):
            rel = path.relative_to(current).as_posix()
            if path.is_file() and f"meta/{rel}" not in meta:  # never link what gets replaced
                _link(path, new / rel)
        for rel in episodes:
            _link(self.lerobot_root / rel, new / rel.removeprefix("meta/"))
        for rel in meta:
            _copy(self.lerobot_root / rel, new / rel.removeprefix("meta/"))
        for d in sorted({p for p in new.rglob("*") if p.is_dir()} | {new}):
            _fsync_dir(d)
        if _exchange(new, current):
            _fsync_dir(self.root)
            shutil.rmtree(new)  # the old metadata
            return
        shutil.rmtree(new)  # no RENAME_EXCHANGE here: one file at a time, info.json last
        for rel in [*episodes, *meta]:
            _place(self.lerobot_root / rel, self.root / rel, link=rel in episodes)
            _fsync_dir((self.root / rel).parent)

    def _first_commit(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        for path in sorted(self.lerobot_root.rglob("*")):
            rel = path.relative_to(self.lerobot_root)
            if not path.is_file() or rel.parts[0] not in ("data", "videos", "meta"):
                continue
            _place(path, self.staging / rel, link=rel.as_posix() not in META_FILES)
        for d in sorted({p for p in self.staging.rglob("*") if p.is_dir()} | {self.staging}):
            _fsync_dir(d)
        self.root.parent.mkdir(parents=True, exist_ok=True)
        os.rename(self.staging, self.root)  # atomic: root appears complete or not at all
        _fsync_dir(self.root.parent)


def _total_episodes(root: Path) -> int:
    return int(json.loads((root / INFO).read_text())["total_episodes"])


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:  # no hard links on this filesystem
        shutil.copy2(src, dst)


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)
    _fsync_file(dst)


def _place(src: Path, dst: Path, link: bool) -> None:
    """Put ``src`` at ``dst`` in one atomic rename (complete file or no file)."""
    tmp = dst.with_name(dst.name + TMP_SUFFIX)
    tmp.unlink(missing_ok=True)
    if link:
        _link(src, tmp)
        _fsync_file(tmp)
    else:
        _copy(src, tmp)
    os.replace(tmp, dst)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically; False where the filesystem cannot (then nothing moved)."""
    libc = ctypes.CDLL(None, use_errno=True)
    at_fdcwd = -100
    if libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, f"renameat2({a}, {b}, RENAME_EXCHANGE): {os.strerror(err)}")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + TMP_SUFFIX)
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
