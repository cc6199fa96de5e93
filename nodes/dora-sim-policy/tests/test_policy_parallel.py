"""``dora-sim-eval``: N simulators in one generated graph, and the eval graph across two dora
daemons (the policy on the other "machine"), with the real dora CLI, MuJoCo and a real ACT."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from policy_testkit import BIN, REPO, SMALL, TINY_ACT, dora_env

from dora_sim.transport import with_overlay
from dora_sim_policy.evaluator import EpisodeRecord, EvalBook, eval_info, merge
from dora_sim_policy.offline import build_act
from dora_sim_policy.parallel import Plan

SMALL_SETTINGS = [arg for k, v in SMALL.items() for arg in ("--set", f"{k}={v}")]


def test_episodes_are_split_in_disjoint_blocks_of_seeds():
    plan = Plan.split(seed=1000, episodes=10, sims=4)
    assert plan.counts == [3, 3, 2, 2]
    assert plan.seeds == [1000, 1003, 1006, 1008]
    covered = [s + k for s, n in zip(plan.seeds, plan.counts, strict=True) for k in range(n)]
    assert covered == list(range(1000, 1010))
    with pytest.raises(ValueError, match="sims"):
        Plan.split(seed=0, episodes=2, sims=3)


def record(seed: int, success: bool, length: int) -> EpisodeRecord:
    return EpisodeRecord(
        0, "task", seed, frames=length, sum_reward=float(success), max_reward=float(success),
        success=success, reason="success" if success else "time_limit", num_frames=length,
    )  # fmt: skip


def test_merged_eval_info_is_what_one_eval_of_all_episodes_gives():
    episodes = [record(1000 + i, i % 3 == 0, 50 + i) for i in range(7)]
    whole = eval_info(EvalBook(dict(enumerate(episodes))), 1.0, {})
    parts = [episodes[:3], episodes[3:5], episodes[5:]]
    infos = [eval_info(EvalBook(dict(enumerate(p))), 1.0, {}) for p in reversed(parts)]
    merged = merge(json.loads(json.dumps(infos)), 1.0, {})  # through JSON, as from the files
    assert merged["overall"] == whole["overall"]
    assert merged["aggregated"] == whole["aggregated"]
    assert merged["per_task"] == whole["per_task"]
    assert [e["seed"] for e in merged["per_episode"]] == list(range(1000, 1007))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return build_act(
        tmp_path_factory.mktemp("act") / "act", image_shape=(3, 64, 80), seed=5, **TINY_ACT
    )


def dora_sim_eval(tmp: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "dora-sim-eval"), *args, *SMALL_SETTINGS, "--episode-time-s", "2"],
        cwd=REPO,
        env=env or dora_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_three_simulators_merge_into_one_eval_with_every_seed(checkpoint, tmp_path):
    out = tmp_path / "eval"
    args = ["--policy", str(checkpoint), "--episodes", "4", "--seed", "20", "--sims", "3"]
    result = dora_sim_eval(tmp_path, *args, "--output-dir", str(out))
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    info = json.loads((out / "eval_info.json").read_text())
    assert info["overall"]["n_episodes"] == info["aggregated"]["n_episodes"] == 4
    assert [e["seed"] for e in info["per_episode"]] == [20, 21, 22, 23]
    assert all(e["length"] == e["frames_scored"] == 60 for e in info["per_episode"])
    assert info["dora_sim"]["sims"] == 3
    assert info["dora_sim"]["seeds"]["episodes_per_sim"] == [2, 1, 1]
    assert all(part["eval_mode"] == "lockstep" for part in info["dora_sim"]["per_sim"])
    # each copy's own eval, and the graph that ran them, are kept beside the merged one
    assert (out / "eval_graph.yaml").is_file()
    assert len(list(out.glob("sims/sim-*/eval_info.json"))) == 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dora_cluster(machines: list[str], env: dict, logs: Path):
    """A dora coordinator and one daemon per machine id, all on this host."""
    port, peer = free_port(), free_port()
    processes = []

    def spawn(name: str, *args: str) -> None:
        log = (logs / f"{name}.log").open("w")
        processes.append(
            subprocess.Popen(
                [str(BIN / "dora"), *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the daemon's nodes die with its group
            )
        )

    try:
        spawn("coordinator", "coordinator", "--port", str(port), "--store", "memory")
        time.sleep(1)
        for machine in machines:
            spawn(
                machine,
                *("daemon", "--machine-id", machine, "--coordinator-port", str(port)),
                *("--local-listen-port", str(free_port())),
                *("--zenoh-peer", f"tcp/127.0.0.1:{peer}"),
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            logged = (logs / "coordinator.log").read_text()
            if all(f"daemon {m}-" in logged for m in machines):
                break
            time.sleep(0.5)
        else:
            pytest.fail("the daemons did not register:\n" + (logs / "coordinator.log").read_text())
        yield f"127.0.0.1:{port}"
    finally:
        for process in reversed(processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.mark.slow
def test_the_eval_graph_runs_across_two_dora_daemons_with_the_policy_on_the_other(
    checkpoint, tmp_path
):
    env = with_overlay(dora_env(PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}"))
    out = tmp_path / "eval"
    with dora_cluster(["cpu", "gpu"], env, tmp_path) as coordinator:
        result = dora_sim_eval(
            tmp_path,
            *("--policy", str(checkpoint), "--episodes", "2", "--output-dir", str(out)),
            *("--machine", "policy=gpu", "--machine", "*=cpu", "--coordinator", coordinator),
            env=env,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "policy-0 on daemon `gpu`" in output and "sim-0 on daemon `cpu`" in output
    info = json.loads((out / "eval_info.json").read_text())
    assert info["overall"]["n_episodes"] == 2
    assert [e["seed"] for e in info["per_episode"]] == [1000, 1001]
