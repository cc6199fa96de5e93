"""dora-sim-expert: a scripted demonstrator that drives any simulator through the contract.

Inputs: ``scene`` (privileged object poses), ``ee_state`` (the measured tool centre point) and
``observation.state``, one of each per tick. Output: ``ee_target`` (Cartesian target: TCP
position, approach pitch, jaw yaw, gripper), which the simulator resolves with its own IK and
records as the joint action it applied, so its episodes look like teleoperation in a dataset.
It imports no simulator. It plans from privileged state, so it is a tool for headless demos, CI
and benchmarks, not a policy.

Settings (env): ``EXPERT_MISS_RATE`` (default 0), the fraction of episodes whose first grasp is
aimed ``EXPERT_MISS_MM`` (default 20) off and then recovered — demos of recovering from a miss.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from dora import Node

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.cli import start_node
from dora_sim.config import ConfigError, env_float, env_int
from dora_sim.link import INPUT, ContractVersionError, NodeLink
from dora_sim_expert.planner import Expert, Objects

log = logging.getLogger("dora-sim-expert")


class ExpertNode:
    """Pairs each frame's scene, TCP and joints by frame number, then plans one target."""

    def __init__(self, link: NodeLink, expert: Expert):
        self.link = link
        self.expert = expert
        self.frame = -1
        self.parts: dict[str, Any] = {}

    def on_input(self, input_id: str, value: Any, metadata: dict) -> None:
        try:
            stamp = codec.FrameStamp.from_metadata(metadata)
            if input_id == c.STATE:
                part: Any = codec.decode_joints(value, c.STATE).copy()
            elif input_id == c.SCENE:
                part = codec.decode_scene(value, metadata)
            elif input_id == c.EE_STATE:
                part = codec.decode_ee_state(value)
            else:
                return
        except codec.ContractError as err:
            log.error("rejected %s message: %s", input_id, err)
            return
        if stamp.frame != self.frame:  # a newer frame: parts of an older one are stale
            self.frame, self.parts = stamp.frame, {}
        self.parts[input_id] = part
        if len(self.parts) == 3 and stamp.phase == c.PHASE_EPISODE:
            self.plan(stamp, self.parts[c.SCENE], self.parts[c.EE_STATE], self.parts[c.STATE])

    def plan(self, stamp: codec.FrameStamp, objects: Objects, ee: codec.EEState, state) -> None:
        if stamp.episode_index != self.expert.episode:
            self.expert.start(stamp.episode_index, objects, ee, float(state[c.GRIPPER_INDEX]))
        target = self.expert.act(objects, ee)
        command = codec.CommandStamp(planned_from=stamp.frame)
        self.link.send(c.EE_TARGET, codec.encode_ee_target(target), command.to_metadata())


def build_expert() -> Expert:
    miss_rate = env_float("EXPERT_MISS_RATE", 0.0, minimum=0.0, maximum=1.0)
    miss_m = env_float("EXPERT_MISS_MM", 20.0, minimum=0.0) / 1000.0
    return Expert(env_int("FPS", c.DEFAULT_FPS, minimum=1), miss_rate, miss_m)


def main(argv: list[str] | None = None) -> int:
    start_node("dora-sim-expert", __doc__, argv)
    codec.warm_up()  # before Node(): no lazy import may stall the loop once events flow
    try:
        expert_node = ExpertNode(NodeLink(Node()), build_expert())
    except ConfigError as err:
        log.error("%s", err)
        return 2
    try:
        for event in expert_node.link.events():
            if event.kind == INPUT:
                expert_node.on_input(event.id, event.value, event.metadata)
    except ContractVersionError as err:
        log.error("%s", err)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
