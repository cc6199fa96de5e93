"""dora-sim-expert: a scripted demonstrator that drives the sim through the ``action`` contract.

Inputs: ``scene`` (privileged object and gripper poses, one per tick) and ``observation.state``.
Output: ``action`` (joint targets, so101 units) — the same message a leader arm sends, so its
episodes look like teleoperation in a dataset. It plans from privileged state, so it is a tool for
headless demos, CI and benchmarks, not a policy.

Settings (env): ``EXPERT_MISS_RATE`` (default 0), the fraction of episodes whose first grasp is
aimed ``EXPERT_MISS_MM`` (default 20) off and then recovered — demos of recovering from a miss.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import numpy as np
from dora import Node

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.cli import start_node
from dora_sim.config import ConfigError, env_float, env_int
from dora_sim_expert.planner import Expert
from dora_sim_mujoco.ik import IKSolver
from dora_sim_mujoco.scene import build_spec, compile_scene
from dora_sim_mujoco.tasks import make_task

log = logging.getLogger("dora-sim-expert")


class ExpertNode:
    def __init__(self, node: Any, expert: Expert):
        self.node = node
        self.expert = expert
        self.state: np.ndarray | None = None

    def on_input(self, input_id: str, value: Any, metadata: dict) -> None:
        try:
            if input_id == c.STATE:
                self.state = codec.decode_joints(value, c.STATE).copy()
            elif input_id == c.SCENE:
                self.on_scene(codec.decode_scene(value, metadata), metadata)
        except (codec.ContractError, ValueError) as err:
            log.error("rejected %s message: %s", input_id, err)

    def on_scene(self, scene: codec.Scene, metadata: dict) -> None:
        stamp = codec.FrameStamp.from_metadata(metadata)
        if stamp.phase != c.PHASE_EPISODE or self.state is None:
            return
        if stamp.episode_index != self.expert.episode:
            self.expert.start(stamp.episode_index, scene, self.state)
        action = self.expert.act(scene, self.state)
        self.node.send_output(c.ACTION, codec.encode_joints(action), stamp.to_metadata())


def build_expert() -> Expert:
    # Kinematics only: any task's scene has the same arm; no cameras, light meshes.
    model = compile_scene(build_spec(make_task("pick-cube"), (), "fast"), 30)
    miss_rate = env_float("EXPERT_MISS_RATE", 0.0, minimum=0.0, maximum=1.0)
    miss_m = env_float("EXPERT_MISS_MM", 20.0, minimum=0.0) / 1000.0
    return Expert(IKSolver(model), env_int("FPS", c.DEFAULT_FPS, minimum=1), miss_rate, miss_m)


def main(argv: list[str] | None = None) -> int:
    start_node("dora-sim-expert", __doc__, argv)
    codec.warm_up()  # before Node(): no lazy import may stall the loop once events flow
    try:
        expert_node = ExpertNode(Node(), build_expert())
    except ConfigError as err:
        log.error("%s", err)
        return 2
    for event in expert_node.node:
        if event["type"] == "INPUT":
            expert_node.on_input(event["id"], event["value"], event["metadata"])
        elif event["type"] == "STOP":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
