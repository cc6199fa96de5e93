"""dora-sim-policy: runs a LeRobot policy closed loop in the simulator, at the sim's frame rate.

Inputs: ``observation.state`` and ``observation.images.<camera>`` from the simulator (use
``queue_size: 1``: latest wins), ``episode`` (start events carry the task instruction).
Outputs: ``action`` (float32[6], so101 units; metadata ``for_frame`` = the frame it is meant for),
optionally ``status`` (JSON, once a second of sim time) and ``control`` (``stop`` to the sim when
the policy fails, so an eval never reports a broken policy as a bad one).

The policy is loaded, checked against the wired inputs and warmed up *before* the node connects
to dora: dora starts a dataflow only when every node has connected, so the simulator's first
episode starts with the policy ready, and a policy that does not fit the graph stops the whole
dataflow at start with the list of expected and available inputs.

Configuration (environment): POLICY_PATH (checkpoint directory or Hub id), POLICY_DEVICE
(auto|cuda|mps|cpu), RENAME_MAP, POLICY_TASK, ACTIONS_PER_CHUNK, CHUNK_THRESHOLD, AGGREGATE_FN,
POLICY_DELAY_S, MISSING_INPUT_FRAMES, EVAL_MODE (realtime | lockstep; the graph's default in
EVAL_MODE_DEFAULT). See docs/policy.md.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import time
from typing import Any

import numpy as np
import yaml

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.config import ConfigError
from dora_sim.link import INPUT, ContractVersionError, NodeLink
from dora_sim_policy.assembler import Observation, ObservationAssembler
from dora_sim_policy.config import PolicyConfig, load_config
from dora_sim_policy.features import FeatureMap
from dora_sim_policy.lockstep import LockstepRunner
from dora_sim_policy.runner import ChunkRunner
from dora_sim_policy.schedule import AGGREGATES, ActionSchedule
from dora_sim_policy.worker import InferenceWorker, Request

log = logging.getLogger("dora-sim-policy")
RESULT_POLL_S = 0.005


class _RunConfigLoader(yaml.SafeLoader):
    """Reads dora's run config; its Rust enum tags (``!Tcp`` …) are not needed and become None."""


_RunConfigLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def wired_inputs() -> list[str]:
    """This node's input ids, in YAML order, read before connecting to dora.

    ``Node()`` would release dora's start barrier (the sim would start ticking), so the check
    against the policy uses the run config dora 1.1 hands every node in ``DORA_NODE_CONFIG``.
    """
    raw = os.environ.get("DORA_NODE_CONFIG")
    if not raw:
        raise ConfigError("DORA_NODE_CONFIG is not set: start this node from a dora dataflow")
    try:
        return list(yaml.load(raw, Loader=_RunConfigLoader)["run_config"]["inputs"])
    except (yaml.YAMLError, KeyError, TypeError) as err:
        raise ConfigError(f"cannot read this node's inputs from DORA_NODE_CONFIG: {err}") from err


class PolicyNode:
    """Glue between dora events, the chunk runner and the inference worker."""

    def __init__(
        self,
        link: NodeLink,
        runner: ChunkRunner | LockstepRunner,
        worker: InferenceWorker,
        features: FeatureMap,
        config: PolicyConfig,
        outputs: list[str],
    ):
        self.link = link
        self.runner = runner
        self.lockstep = runner if isinstance(runner, LockstepRunner) else None
        # lockstep: an observation that arrived before its episode's start event (the task);
        # answered when that event comes, for the sim waits for its frame's action meanwhile
        self.untasked: Observation | None = None
        self.worker = worker
        self.config = config
        self.outputs = set(outputs)
        self.assembler = ObservationAssembler(tuple(features.cameras))
        self.tasks: dict[int, str] = {}
        self.seeds: dict[int, int] = {}  # episode -> its seed (the policy's generators start there)
        self.fps = c.DEFAULT_FPS
        self.frame = -1
        self.fatal: str | None = None
        self.warned: set[str] = set()

    def on_input(self, input_id: str, value: Any, metadata: dict) -> None:
        self.collect_results()
        try:
            if input_id == c.EPISODE:
                self.on_episode(codec.decode_episode(value, metadata))
            elif input_id == c.STATE:
                self.on_state(value, metadata)
            elif input_id.startswith(c.IMAGE_PREFIX):
                if input_id in self.assembler.cameras:
                    stamp = codec.FrameStamp.from_metadata(metadata)
                    self.on_observation_part(input_id, stamp, codec.decode_image(value, metadata))
            elif input_id not in self.warned:
                self.warned.add(input_id)
                log.warning("ignoring unknown input %r", input_id)
        except codec.ContractError as err:
            log.error("rejected %s message: %s", input_id, err)

    def on_episode(self, event: codec.EpisodeStart | codec.EpisodeEnd) -> None:
        episode = event.episode_index
        if isinstance(event, codec.EpisodeStart):
            self.tasks[episode] = event.task
            self.seeds[episode] = event.seed
            self.fps = event.fps
            early, self.untasked = self.untasked, None
            if early is not None and early.stamp.episode_index == episode:
                self.step_lockstep(early, self.config.task or event.task)
        else:
            s = self.runner.stats.summary(self.fps)
            print(
                f"[dora-sim-policy] episode {episode} ended ({event.reason}); "
                f"session so far: {s['chunks']} chunks, latency p50 {s['chunk_latency_ms_p50']}"
                f" ms (max {s['chunk_latency_frames_max']} frames), starved {s['starved_frames']}"
                f" frames, non-finite held {s['nonfinite_held']}, {s['control_hz_held']} Hz",
                flush=True,
            )
            self.send_status()

    def on_state(self, value: Any, md: dict) -> None:
        stamp = codec.FrameStamp.from_metadata(md)
        state = codec.decode_joints(value, c.STATE)
        self.frame = stamp.frame
        if self.lockstep is None:  # realtime: the action for the next frame, at once
            action = self.runner.on_state(stamp)
            if action is not None:
                self.send_action(stamp.frame + 1, action)
        self.on_observation_part(c.STATE, stamp, state)
        frames = self.runner.stats.frames
        if frames >= self.config.missing_input_frames and self.assembler.missing():
            self.fail(
                f"no message on {', '.join(self.assembler.missing())} after {frames} frames of "
                "observation.state: is the camera in the simulator's CAMERAS?"
            )
        if frames % self.fps == 0:
            self.send_status()

    def send_status(self) -> None:
        """The runner's figures (chunk latency …), once a second of sim time and at episode ends."""
        if "status" in self.outputs:
            summary = self.runner.stats.summary(self.fps)
            summary.update(frame=self.frame, device=self.config.device)
            self.link.send(
                c.STATUS, codec.encode_text(json.dumps(summary)), {c.MD_FRAME: self.frame}
            )

    def send_action(self, frame: int, action: np.ndarray) -> None:
        md = codec.CommandStamp(for_frame=frame).to_metadata()
        md[c.MD_SENT_AT] = time.time_ns()
        self.link.send(c.ACTION, codec.encode_joints(action), md)

    def on_observation_part(self, key: str, stamp: codec.FrameStamp, value: np.ndarray) -> None:
        obs = self.assembler.add(key, stamp, value)
        if obs is None:
            return
        task = self.config.task or self.tasks.get(stamp.episode_index)
        if self.lockstep is not None:
            if task is None and stamp.phase == c.PHASE_EPISODE:
                self.untasked = obs  # its episode's start event is still on its way
            else:
                self.step_lockstep(obs, task)
            return
        request = self.runner.on_observation(obs, task)
        if request is not None:
            self.runner.in_flight = self.submit(request)

    def step_lockstep(self, obs: Observation, task: str | None) -> None:
        """This frame's action, or a chunk predicted from it (the sim waits for either)."""
        assert self.lockstep is not None
        action, request = self.lockstep.on_observation(obs, task)
        if action is not None:
            self.send_action(obs.stamp.frame, action)
        elif request is not None:
            self.submit(request)

    def submit(self, request: Request) -> bool:
        seed = self.seeds.get(request.episode)
        return self.worker.submit(dataclasses.replace(request, seed=seed))

    def collect_results(self) -> None:
        while (result := self.worker.poll()) is not None:
            if self.lockstep is not None:
                answer = self.lockstep.on_result(result)
                if answer is not None:
                    self.send_action(*answer)
            else:
                self.runner.on_result(result, self.frame)
            if result.error:
                self.fail(f"inference failed:\n{result.error}")

    def fail(self, reason: str) -> None:
        """Stop the simulator (when wired) and end this node with an error."""
        if self.fatal is None:
            self.fatal = reason
            log.error("%s", reason)
            if c.CONTROL in self.outputs:
                self.link.send(c.CONTROL, codec.encode_control(c.CONTROL_STOP))


def prepare(config: PolicyConfig) -> tuple[ChunkRunner, InferenceWorker, FeatureMap, str]:
    """Load, check and warm up the policy (seconds to minutes); nothing touches dora yet."""
    inputs = wired_inputs()
    started = time.perf_counter()
    from dora_sim_policy.engine import ChunkPredictor, load_policy, policy_features

    loaded = load_policy(config.policy, config.device)
    rename = {**loaded.saved_rename_map, **config.rename_map}
    cameras = [k for k in inputs if k.startswith(c.IMAGE_PREFIX)]
    features = policy_features(loaded, cameras, rename)
    predictor = ChunkPredictor(loaded, features, config.actions_per_chunk)
    if getattr(loaded.config, "temporal_ensemble_coeff", None) is not None:
        log.warning(
            "temporal_ensemble_coeff is ignored: overlapping chunks are merged with "
            "AGGREGATE_FN=%s instead",
            config.aggregate,
        )
    warm = time.perf_counter()
    predictor.warm_up(config.task or "warm up")
    migrated = "; ".join(str(change) for change in loaded.migration)
    log.info(
        "policy %s (%s) on %s: loaded in %.1f s, warm-up inference %.0f ms; inputs %s; "
        "%d actions per chunk; %s",
        config.policy,
        loaded.config.type,
        loaded.device,
        warm - started,
        1000 * (time.perf_counter() - warm),
        features.describe(),
        predictor.chunk_len,
        f"migrated for LeRobot {loaded.lerobot_version}: {migrated}"
        if migrated
        else f"loads as saved in LeRobot {loaded.lerobot_version}",
    )
    runner: ChunkRunner | LockstepRunner
    if config.mode == c.LOCKSTEP:
        runner = LockstepRunner(predictor.history)
    else:
        schedule = ActionSchedule(AGGREGATES[config.aggregate])
        runner = ChunkRunner(
            predictor.chunk_len, config.chunk_threshold, predictor.history, schedule
        )
    worker = InferenceWorker(predictor.predict, predictor.reset, config.delay_s)
    return runner, worker, features, loaded.device


def run() -> int:
    try:
        config = load_config()
        runner, worker, features, device = prepare(config)
    except (ValueError, RuntimeError, OSError) as err:  # ConfigError, FeatureError, missing files
        log.error("%s", err)
        return 2
    from dora import Node

    worker.start()
    link = NodeLink(Node())
    outputs = list(link.node_config().get("outputs", []))
    config = dataclasses.replace(config, device=device)
    policy_node = PolicyNode(link, runner, worker, features, config, outputs)
    try:
        # A short timeout: in lockstep the sim waits for a chunk in flight, so no input comes to
        # prompt the loop to collect it.
        for event in link.events(timeout=RESULT_POLL_S):
            if event.kind == INPUT:
                policy_node.on_input(event.id, event.value, event.metadata)
            else:
                policy_node.collect_results()
            if policy_node.fatal:
                break
    except ContractVersionError as err:
        policy_node.fail(str(err))
    finally:
        worker.close()
        # A thread killed inside a torch kernel at interpreter exit aborts the process.
        worker.join(timeout=30)
    summary = runner.stats.summary(policy_node.fps)
    print(f"[dora-sim-policy] summary {json.dumps({'device': device, **summary})}", flush=True)
    return 1 if policy_node.fatal else 0


def main() -> None:
    # force: importing lerobot already logged through the root logger, which configured it.
    logging.basicConfig(
        level=logging.INFO,
        format="%(name)s: %(levelname)s: %(message)s",
        stream=sys.stdout,
        force=True,
    )
    sys.exit(run())
