"""Fake ``isaaclab.scene``: ``InteractiveSceneCfg`` and the ``InteractiveScene`` built from it."""

from __future__ import annotations

import math
from typing import Any

import torch

from isaaclab.app import running_app
from isaaclab.assets import Articulation, ArticulationCfg, AssetBaseCfg, RigidObject, RigidObjectCfg
from isaaclab.sensors import CameraCfg, TiledCamera
from isaaclab.utils import configclass

_SETTINGS = {"num_envs", "env_spacing", "lazy_sensor_update", "replicate_physics"}
# Where the closed jaws hold an object, in the gripper link's frame (the SO-101 lift task's
# end-effector offset), and the gripper angle below which the jaws count as closed (rad).
GRIP_OFFSET = (0.01, 0.0, -0.09)
JAWS_CLOSED_BELOW = 0.25


@configclass
class InteractiveSceneCfg:
    num_envs: int = 1
    env_spacing: float = 2.5
    lazy_sensor_update: bool = True
    replicate_physics: bool = True


class InteractiveScene:
    def __init__(self, cfg: InteractiveSceneCfg, sim: Any):
        self.cfg, self.sim = cfg, sim
        self.num_envs, self.device = cfg.num_envs, sim.device
        cols = math.ceil(math.sqrt(self.num_envs))
        grid = [(i // cols, i % cols) for i in range(self.num_envs)]
        origins = torch.tensor([[r, c, 0.0] for r, c in grid], device=self.device)
        origins[:, :2] -= origins[:, :2].mean(dim=0)
        self.env_origins = origins * cfg.env_spacing
        self.articulations: dict[str, Articulation] = {}
        self.rigid_objects: dict[str, RigidObject] = {}
        self.sensors: dict[str, TiledCamera] = {}
        self.extras: dict[str, AssetBaseCfg] = {}
        for name, entity in vars(cfg).items():
            if name in _SETTINGS or entity is None:
                continue
            if isinstance(entity, ArticulationCfg):
                self.articulations[name] = Articulation(
                    entity, self.num_envs, self.env_origins, self.device
                )
            elif isinstance(entity, RigidObjectCfg):
                self.rigid_objects[name] = RigidObject(
                    entity, self.num_envs, self.env_origins, self.device
                )
            elif isinstance(entity, CameraCfg):
                if not running_app().enable_cameras:
                    raise RuntimeError(
                        "A camera was spawned without the --enable_cameras flag. Please use"
                        " --enable_cameras to enable rendering."
                    )
                self.sensors[name] = TiledCamera(entity, self)
                sim.cameras.append(self.sensors[name])
            elif isinstance(entity, AssetBaseCfg):
                self.extras[name] = entity
        sim.physics.append(self)

    def __getitem__(self, key: str) -> Any:
        for group in (self.articulations, self.rigid_objects, self.sensors, self.extras):
            if key in group:
                return group[key]
        known = [*self.articulations, *self.rigid_objects, *self.sensors, *self.extras]
        raise KeyError(f"Scene entity with key '{key}' not found. Available Entities: '{known}'")

    def write_data_to_sim(self) -> None:
        for asset in [*self.articulations.values(), *self.rigid_objects.values()]:
            asset.write_data_to_sim()

    def _entities(self) -> list[Any]:
        return [*self.articulations.values(), *self.rigid_objects.values(), *self.sensors.values()]

    def update(self, dt: float) -> None:
        for entity in self._entities():
            entity.update(dt)

    def reset(self, env_ids: Any = None) -> None:
        for entity in self._entities():
            entity.reset(env_ids)

    def simulate(self, dt: float) -> None:
        """One physics substep: joints, then objects (held by closed jaws or falling)."""
        for robot in self.articulations.values():
            robot.simulate(dt)
            robot.update(dt)
        if not self.articulations:
            return
        robot = next(iter(self.articulations.values()))
        link = robot.body_names.index(robot.cfg.spawn.grip_link)
        offset = torch.tensor(GRIP_OFFSET, device=self.device)
        grip_point = robot.data.body_pos_w[:, link] + (
            robot._frames[:, link, :3, :3] @ offset[:, None]
        ).squeeze(-1)
        jaw = robot.joint_names.index(robot.cfg.spawn.grip_joint)
        jaws_closed = robot.data.joint_pos[:, jaw] < JAWS_CLOSED_BELOW
        for obj in self.rigid_objects.values():
            obj.simulate(dt, grip_point, jaws_closed)
