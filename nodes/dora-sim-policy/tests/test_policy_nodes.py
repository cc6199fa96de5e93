"""The policy node's and the eval scorer's dora glue, on ``dora.testing.MockNode`` (no torch, no
checkpoint): their real event loops (``run``), fed what the simulator sends under contract v2."""

from __future__ import annotations

import json
from typing import Any

import dora
import numpy as np
import pyarrow as pa
from dora.testing import MockNode

from dora_sim import codec
from dora_sim import contract as c
from dora_sim_policy import eval_node
from dora_sim_policy import node as policy_node
from dora_sim_policy.features import FeatureMap
from dora_sim_policy.lockstep import LockstepRunner
from dora_sim_policy.runner import ChunkRunner
from dora_sim_policy.schedule import ActionSchedule
from dora_sim_policy.worker import Request, Result

CONTRACT = {c.MD_CONTRACT: c.CONTRACT_VERSION}  # what every dora-sim node stamps on its messages
TASK = "Pick up the cube"
FPS = 30


class CapturingNode(MockNode):
    """MockNode that keeps each output's metadata too."""

    def __init__(self, inputs: list, outputs: list[str]):
        super().__init__(inputs, CONTRACT, node_config={"outputs": outputs})
        self.sent: list[tuple[str, Any, dict]] = []

    def send_output(self, output_id: str, data: Any, metadata: dict | None = None) -> None:
        self.sent.append((output_id, data, dict(metadata or {})))

    def of(self, output_id: str) -> list[tuple[Any, dict]]:
        return [(d, m) for i, d, m in self.sent if i == output_id]


def event(input_id: str, value: pa.Array, metadata: dict) -> dict:
    """An input as dora delivers it from the simulator (stamped with the contract version)."""
    return {"type": "INPUT", "id": input_id, "value": value, "metadata": {**metadata, **CONTRACT}}


def start(index: int, frame: int, seed: int) -> dict:
    return event(
        c.EPISODE, *codec.encode_episode(codec.EpisodeStart(frame, index, TASK, seed, FPS))
    )


def end(index: int, frame: int, seed: int, frames: int, reason: str, last: bool) -> dict:
    ended = codec.EpisodeEnd(
        frame=frame,
        episode_index=index,
        task=TASK,
        seed=seed,
        fps=FPS,
        success=reason == c.END_SUCCESS,
        reason=reason,
        num_frames=frames,
        sim_time=frames / FPS,
        wall_time=frames / FPS,
        last=last,
    )
    return event(c.EPISODE, *codec.encode_episode(ended))


def state(frame: int, index: int, episode_frame: int, reward: float = 0.0, phase=c.PHASE_EPISODE):
    md = codec.FrameStamp(frame, index, episode_frame, episode_frame / FPS, phase).to_metadata()
    md.update({c.MD_REWARD: reward, c.MD_SUCCESS: reward > 0})
    joints = np.full(c.NUM_JOINTS, 10.0, np.float32)
    return event(c.STATE, codec.encode_joints(joints), md)


# --- the eval scorer -----------------------------------------------------------------------------
def run_scorer(monkeypatch, tmp_path, inputs: list, episodes: int) -> tuple[int, CapturingNode]:
    node = CapturingNode(inputs, outputs=[c.ACK])
    monkeypatch.setattr(dora, "Node", lambda: node)
    monkeypatch.setenv("EVAL_OUTPUT_DIR", str(tmp_path / "eval"))
    monkeypatch.setenv("NUM_EPISODES", str(episodes))
    monkeypatch.setenv("SEED", "1000")
    return eval_node.run(), node


def test_the_scorer_scores_every_frame_and_acknowledges_each_one(monkeypatch, tmp_path):
    rewards = [[0, 0, 1, 1], [0, 0, 0, 0, 0]]
    inputs, frame = [], 0
    for index, episode in enumerate(rewards):
        inputs.append(start(index, frame, 1000 + index))
        for i, reward in enumerate(episode):
            inputs.append(state(frame, index, i, reward))
            frame += 1
        reason = c.END_SUCCESS if max(episode) else c.END_TIME_LIMIT
        inputs.append(end(index, frame, 1000 + index, len(episode), reason, index == 1))
        inputs.append(state(frame, index, 0, phase=c.PHASE_RESET))  # a reset-phase frame
        frame += 1
    status, node = run_scorer(monkeypatch, tmp_path, inputs, episodes=2)
    assert status == 0
    # Credits: every frame taken (the reset phase's too) is acknowledged, in order, stamped.
    acks = node.of(c.ACK)
    assert [codec.decode_ack(v) for v, _ in acks] == list(range(frame))
    assert all(md[c.MD_CONTRACT] == c.CONTRACT_VERSION for _, md in acks)
    info = json.loads((tmp_path / "eval" / "eval_info.json").read_text())
    assert [e["seed"] for e in info["per_episode"]] == [1000, 1001]
    assert [e["sum_reward"] for e in info["per_episode"]] == [2.0, 0.0]
    assert [e["frames_scored"] for e in info["per_episode"]] == [4, 5]
    assert info["overall"]["pc_success"] == 50.0


def test_the_scorer_does_not_count_a_discarded_episode(monkeypatch, tmp_path):
    inputs = [start(0, 0, 7), state(0, 0, 0, 1.0), end(0, 1, 7, 1, c.END_RESET, False)]
    inputs += [start(1, 1, 8), state(1, 1, 0, 1.0), end(1, 2, 8, 1, c.END_SUCCESS, True)]
    status, _ = run_scorer(monkeypatch, tmp_path, inputs, episodes=1)
    assert status == 0
    info = json.loads((tmp_path / "eval" / "eval_info.json").read_text())
    assert [e["seed"] for e in info["per_episode"]] == [8]  # the episode after the reset


def test_the_scorer_refuses_a_sender_of_another_contract_version(monkeypatch, tmp_path, caplog):
    v1_state = {**state(0, 0, 0), "metadata": {c.MD_FRAME: 0}}
    status, node = run_scorer(monkeypatch, tmp_path, [start(0, 0, 0), v1_state], episodes=1)
    assert status == 2
    assert "speaks no dora-sim contract version" in caplog.text
    assert node.of(c.ACK) == []


# --- the policy node -----------------------------------------------------------------------------
CHUNK = 8


class InlineWorker:
    """The inference worker's interface, answering at once with rows whose first joint is the
    frame they are for (deterministic: no thread)."""

    def __init__(self) -> None:
        self.results: list[Result] = []
        self.requests: list[Request] = []

    def start(self) -> None: ...

    def close(self) -> None: ...

    def join(self, timeout: float | None = None) -> None: ...

    def submit(self, request: Request) -> bool:
        self.requests.append(request)
        rows = np.zeros((CHUNK, c.NUM_JOINTS), np.float32)
        rows[:, 0] = request.frame + np.arange(CHUNK)
        rows[:, c.GRIPPER_INDEX] = 50.0
        self.results.append(Result(request.episode, request.frame, rows, 0.001))
        return True

    def poll(self) -> Result | None:
        return self.results.pop(0) if self.results else None


def run_policy(
    monkeypatch, inputs: list, mode: str = c.REALTIME
) -> tuple[int, CapturingNode, InlineWorker]:
    node = CapturingNode(inputs, outputs=[c.ACTION, c.CONTROL])
    worker = InlineWorker()
    runner = (
        LockstepRunner(1) if mode == c.LOCKSTEP else ChunkRunner(CHUNK, 0.5, 1, ActionSchedule())
    )
    features = FeatureMap(state=c.STATE, cameras={}, image_shapes={}, empty_slots=(), unused=())
    monkeypatch.setattr(policy_node, "prepare", lambda config: (runner, worker, features, "cpu"))
    monkeypatch.setattr(dora, "Node", lambda: node)
    monkeypatch.setenv("POLICY_PATH", "test/no-such-policy")  # a Hub id: never loaded here
    return policy_node.run(), node, worker


def test_the_policy_sends_each_action_for_the_next_frame(monkeypatch):
    inputs = [start(0, 0, 0), *(state(f, 0, f) for f in range(6))]
    status, node, worker = run_policy(monkeypatch, inputs)
    assert status == 0
    assert worker.requests[0].task == TASK  # from the episode start event
    actions = node.of(c.ACTION)
    # Frame 0 asks for the first chunk; from then on each state's action is for the next frame.
    assert [codec.CommandStamp.from_metadata(md).for_frame for _, md in actions] == [2, 3, 4, 5, 6]
    assert all(md[c.MD_CONTRACT] == c.CONTRACT_VERSION for _, md in actions)
    played = [float(codec.decode_joints(v)[0]) for v, _ in actions]
    assert played == sorted(played) and len(set(played)) == len(played)  # the chunk, in order


def test_in_lockstep_each_observation_gets_the_action_for_its_own_frame(monkeypatch):
    """The sim waits for ``for_frame = n`` after sending frame n: the first action of an episode
    comes from a chunk predicted from exactly that observation, the next ones from its rows."""
    inputs = [start(0, 0, 0), *(state(f, 0, f) for f in range(6))]
    status, node, worker = run_policy(monkeypatch, inputs, mode=c.LOCKSTEP)
    assert status == 0
    assert [r.frame for r in worker.requests] == [0]  # one chunk: no overlap, no aggregation
    actions = node.of(c.ACTION)
    frames = [codec.CommandStamp.from_metadata(md).for_frame for _, md in actions]
    assert frames == [0, 1, 2, 3, 4, 5]
    assert [float(codec.decode_joints(v)[0]) for v, _ in actions] == frames  # row n for frame n


def test_the_policy_stops_the_sim_when_a_sender_speaks_another_version(monkeypatch, caplog):
    v1_state = state(0, 0, 0)
    v1_state["metadata"][c.MD_CONTRACT] = "1"
    status, node, _ = run_policy(monkeypatch, [start(0, 0, 0), v1_state, state(1, 0, 1)])
    assert status == 1
    assert [codec.decode_control(v) for v, _ in node.of(c.CONTROL)] == [c.CONTROL_STOP]
    assert "speaks contract 1" in caplog.text


def test_the_policy_sends_nothing_in_the_reset_phase(monkeypatch):
    inputs = [start(0, 0, 0), *(state(f, 0, f, phase=c.PHASE_RESET) for f in range(4))]
    status, node, worker = run_policy(monkeypatch, inputs)
    assert status == 0 and node.of(c.ACTION) == [] and worker.requests == []


def test_in_lockstep_an_observation_that_overtakes_its_episode_start_is_still_answered(
    monkeypatch,
):
    """Episode events and frames travel on separate inputs, so frame 0 can arrive before the
    start event that carries the task; the sim waits for frame 0's action all the same."""
    inputs = [state(0, 0, 0), start(0, 0, 0), *(state(f, 0, f) for f in range(1, 4))]
    status, node, worker = run_policy(monkeypatch, inputs, mode=c.LOCKSTEP)
    assert status == 0
    assert worker.requests[0].task == TASK
    frames = [codec.CommandStamp.from_metadata(md).for_frame for _, md in node.of(c.ACTION)]
    assert frames == [0, 1, 2, 3]
