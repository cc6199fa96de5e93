"""Helpers for the policy node's graph tests: real `dora run`, real `lerobot-train`, offline."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

from dora_sim.headless import headless_env

REPO = Path(__file__).resolve().parents[3]
DATAFLOWS = REPO / "dataflows"
BIN = Path(sys.executable).parent
SUMMARY = re.compile(r"\[dora-sim-policy\] summary (\{.*\})")
# Small images keep the software renderer cheap on a shared 2-core machine.
SMALL = {"IMAGE_HEIGHT": "64", "IMAGE_WIDTH": "80"}
# An ACT small enough to build and run in seconds on the CPU (chunks of 10 actions).
TINY_ACT = {
    "dim_model": 32,
    "n_heads": 2,
    "dim_feedforward": 64,
    "n_encoder_layers": 1,
    "n_decoder_layers": 1,
    "n_vae_encoder_layers": 1,
    "latent_dim": 4,
    "chunk_size": 10,
    "n_action_steps": 10,
}


def dora_env(**overrides: str) -> dict[str, str]:
    """Headless, offline, one torch thread per process (several processes share 2 cores)."""
    return headless_env(**{"OMP_NUM_THREADS": "1", **overrides})


def dora_run(descriptor: Path, cwd: Path, timeout: float = 300, **env: str):
    """`dora run` from ``cwd`` (relative paths in the env resolve there, as from a user's shell)."""
    return subprocess.run(
        [str(BIN / "dora"), "run", str(descriptor)],
        cwd=cwd,
        env=dora_env(PWD=str(cwd), **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def policy_summary(output: str) -> dict:
    found = SUMMARY.findall(output)
    assert found, f"no policy summary in the output:\n{output[-3000:]}"
    return json.loads(found[-1])


def record_dataset(root: Path, episodes: int = 2) -> Path:
    """Expert episodes through the shipped record dataflow (sim + expert + recorder)."""
    result = dora_run(
        DATAFLOWS / "dataflow-record-expert.yaml",
        root.parent,
        NUM_EPISODES=str(episodes),
        DATASET_ROOT=str(root),
        REPO_ID="local/policy_test",
        EPISODE_TIME_S="10",
        VCODEC="h264",
        **SMALL,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return root


def train(config: str, dataset: Path, out: Path, steps: int = 10) -> Path:
    """A tiny policy trained for a few steps with the real `lerobot-train` CLI, on CPU.

    ``config`` names a file in configs/: ``train_act_tiny_cpu.json``,
    ``train_diffusion_tiny_cpu.json``.
    """
    result = subprocess.run(
        [
            str(BIN / "lerobot-train"),
            f"--config_path={REPO / 'configs' / config}",
            "--dataset.repo_id=local/policy_test",
            f"--dataset.root={dataset}",
            f"--output_dir={out}",
            f"--steps={steps}",
            f"--save_freq={steps}",
        ],
        env=dora_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    checkpoint = out / "checkpoints" / "last" / "pretrained_model"
    assert (checkpoint / "model.safetensors").is_file()
    return checkpoint


def eval_graph_without(tmp: Path, policy_input: str) -> Path:
    """dataflow-eval.yaml with one of the policy node's inputs unwired."""
    graph = yaml.safe_load((DATAFLOWS / "dataflow-eval.yaml").read_text())
    policy = next(n for n in graph["nodes"] if n["id"] == "policy")
    del policy["inputs"][policy_input]
    path = tmp / "eval-unwired.yaml"
    path.write_text(yaml.safe_dump(graph, sort_keys=False))
    return path
