"""In-process rollouts of the expert in a simulator (no dora): success-rate tests and tuning.

Works with any :class:`dora_sim.sim_node.Simulator` (MuJoCo, the Isaac node's). Scene, end-effector
state and targets still pass through the contract's codecs, exactly as they would over dora.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dora_sim import codec
from dora_sim.sim_node import Simulator
from dora_sim_expert.planner import Expert, Objects


@dataclass(frozen=True)
class Rollout:
    seed: int
    success: bool
    frames: int


class ExpertDriver:
    """The expert node's work for one tick, in process: observe, plan, command the sim.

    ``perceive`` changes the object poses the expert sees (a biased estimate of where objects
    are, as a learned policy has): how much error the expert's motions tolerate.
    """

    def __init__(
        self,
        sim: Simulator,
        expert: Expert,
        episode: int,
        perceive: Callable[[Objects], Objects] | None = None,
    ):
        self.sim = sim
        self.expert = expert
        self.episode = episode
        self.perceive = perceive
        self.previous: np.ndarray | None = None

    def command(self) -> None:
        """Set this tick's target on the sim (call before ``sim.step()``)."""
        sim = self.sim
        objects = codec.decode_scene(*codec.encode_scene(sim.object_poses()))
        if self.perceive is not None:
            objects = self.perceive(objects)
        pose = np.asarray(sim.ee_pose(), dtype=np.float32)
        base = pose if self.previous is None else self.previous
        ee = codec.decode_ee_state(
            codec.encode_ee_state(np.r_[pose, pose[:3] - base[:3], 1.0, 0.0, 0.0, 0.0])
        )
        if self.previous is None:
            self.expert.start(self.episode, objects, ee, float(sim.state()[5]))
        self.previous = pose
        target = self.expert.act(objects, ee)
        sim.set_ee_target(codec.decode_ee_target(codec.encode_ee_target(target)))


def run_episode(
    sim: Simulator,
    expert: Expert,
    seed: int,
    episode_time_s: float,
    perceive: Callable[[Objects], Objects] | None = None,
) -> Rollout:
    """One seeded episode; ends when success has held 0.5 s or at the time limit."""
    sim.reset(seed)
    driver = ExpertDriver(sim, expert, seed, perceive)
    fps = sim.config.fps
    hold = 0
    for frame in range(int(episode_time_s * fps)):
        driver.command()
        sim.step()
        hold = hold + 1 if sim.success() else 0
        if hold >= fps // 2:
            return Rollout(seed, True, frame + 1)
    return Rollout(seed, False, int(episode_time_s * fps))
