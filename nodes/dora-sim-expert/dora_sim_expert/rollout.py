"""In-process rollouts of the expert in the simulator (no dora): success-rate tests and tuning.

Actions still pass through the contract's codec, exactly as they would over dora.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dora_sim import codec
from dora_sim.codec import Scene
from dora_sim_expert.planner import Expert
from dora_sim_mujoco.simulator import Simulator


@dataclass(frozen=True)
class Rollout:
    seed: int
    success: bool
    frames: int


def run_episode(
    sim: Simulator,
    expert: Expert,
    seed: int,
    episode_time_s: float,
    perceive: Callable[[Scene], Scene] | None = None,
) -> Rollout:
    """One seeded episode; ends when success has held 0.5 s or at the time limit.

    ``perceive`` changes the scene the expert sees (a biased estimate of where objects are, as
    a learned policy has): how much error the expert's motions tolerate.
    """
    sim.reset(seed)
    fps = sim.config.fps
    hold = 0
    for frame in range(int(episode_time_s * fps)):
        scene_array, scene_md = codec.encode_scene(sim.ee_pose(), sim.object_poses())
        scene = codec.decode_scene(scene_array, scene_md)
        if perceive is not None:
            scene = perceive(scene)
        state = sim.state()
        if frame == 0:
            expert.start(seed, scene, state)
        action = codec.decode_joints(codec.encode_joints(expert.act(scene, state)))
        sim.set_action(action)
        sim.step()
        hold = hold + 1 if sim.success() else 0
        if hold >= fps // 2:
            return Rollout(seed, True, frame + 1)
    return Rollout(seed, False, int(episode_time_s * fps))
