"""What the LeRobot CLI tests share: a private LeRobot home, running a CLI, the command lines."""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dora_sim.headless import headless_env

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LEADER_ID = "virtual_arm"  # the id dora-sim-virtual-arm --write-calibration saves under
TASK = "Pick up the cube and lift it"
HEIGHT, WIDTH = 64, 80  # small images keep the software renderer cheap on 2 shared cores
CAMERAS = (
    f"{{front: {{height: {HEIGHT}, width: {WIDTH}}}, wrist: {{height: {HEIGHT}, width: {WIDTH}}}}}"
)
EPISODE_S = 3
EVAL_SEED = 1000


@dataclass(frozen=True)
class Home:
    """A private LeRobot home: calibration files, datasets, checkpoints; never the user's."""

    root: Path

    @property
    def calibration(self) -> Path:
        return self.root / "calibration"

    def env(self, **overrides: str) -> dict[str, str]:
        """Headless, offline, one torch thread per process (several processes share 2 cores)."""
        return headless_env(
            OMP_NUM_THREADS="1",
            HF_LEROBOT_CALIBRATION=str(self.calibration),
            HF_LEROBOT_HOME=str(self.root / "lerobot"),
            **overrides,
        )


def run_cli(home: Home, name: str, *args: str, timeout: float = 300, **env: str):
    """One LeRobot (or dora-sim) CLI, to completion. stdin answers LeRobot's one question
    (press ENTER to write the leader's calibration file to its motors) as a user would."""
    return subprocess.run(
        [str(BIN / name), *args],
        input="\n",
        cwd=home.root,
        env=home.env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Recording:
    root: Path
    returncode: int
    output: str


def record_args(port: Path | str, root: Path, *extra: str) -> list[str]:
    """lerobot-record on the sim, as docs/lerobot-cli.md shows it, small and short."""
    return [
        "--robot.type=dora_sim_so101",
        f"--robot.cameras={CAMERAS}",
        "--teleop.type=so101_leader",
        f"--teleop.port={port}",
        f"--teleop.id={LEADER_ID}",
        "--dataset.repo_id=local/sim_pick",
        f"--dataset.root={root}",
        "--dataset.num_episodes=2",
        f"--dataset.episode_time_s={EPISODE_S}",
        "--dataset.reset_time_s=1",
        f"--dataset.single_task={TASK}",
        "--dataset.push_to_hub=false",
        "--play_sounds=false",
        *extra,
    ]


@dataclass(frozen=True)
class EvalRun:
    output_dir: Path
    returncode: int
    output: str


def lerobot_eval(home: Home, policy: Path, out: Path, *extra: str, episodes: int = 2):
    return run_cli(
        home,
        "lerobot-eval",
        f"--policy.path={policy}",
        "--env.type=dora_sim",
        f"--env.cameras={CAMERAS}",
        "--env.episode_time_s=2",
        f"--eval.n_episodes={episodes}",
        f"--seed={EVAL_SEED}",
        f"--output_dir={out}",
        *extra,
        timeout=600,
    )
