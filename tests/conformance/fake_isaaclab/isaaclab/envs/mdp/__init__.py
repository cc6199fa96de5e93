"""Fake ``isaaclab.envs.mdp``: the action terms and MDP functions the SO-101 lift task uses."""

from __future__ import annotations

from typing import Any

import torch

from isaaclab.managers import ActionTerm, ActionTermCfg, SceneEntityCfg, resolve_matching_names
from isaaclab.utils import configclass


class JointPositionAction(ActionTerm):
    """``processed = raw * scale + offset`` -> the joints' position targets."""

    def __init__(self, cfg: JointPositionActionCfg, env: Any):
        super().__init__(cfg, env)
        self._joint_ids, self._joint_names = self._asset.find_joints(
            cfg.joint_names, preserve_order=cfg.preserve_order
        )
        self._scale = cfg.scale
        if cfg.use_default_offset:
            self._offset = self._asset.data.default_joint_pos[:, self._joint_ids].clone()
        else:
            self._offset = cfg.offset
        self.processed_actions = torch.zeros(self.num_envs, self.action_dim, device=self.device)

    @property
    def action_dim(self) -> int:
        return len(self._joint_ids)

    def process_actions(self, actions: torch.Tensor) -> None:
        self.processed_actions = actions * self._scale + self._offset

    def apply_actions(self) -> None:
        self._asset.set_joint_position_target(self.processed_actions, joint_ids=self._joint_ids)


class BinaryJointPositionAction(ActionTerm):
    """One value per env: negative closes, otherwise opens."""

    def __init__(self, cfg: BinaryJointPositionActionCfg, env: Any):
        super().__init__(cfg, env)
        self._joint_ids, names = self._asset.find_joints(cfg.joint_names)
        self._open = torch.zeros(len(names), device=self.device)
        self._close = torch.zeros(len(names), device=self.device)
        for key, value in cfg.open_command_expr.items():
            self._open[resolve_matching_names(key, names)[0]] = value
        for key, value in cfg.close_command_expr.items():
            self._close[resolve_matching_names(key, names)[0]] = value
        self.processed_actions = self._open.repeat(self.num_envs, 1)

    @property
    def action_dim(self) -> int:
        return 1

    def process_actions(self, actions: torch.Tensor) -> None:
        self.processed_actions = torch.where(actions < 0, self._close, self._open)

    def apply_actions(self) -> None:
        self._asset.set_joint_position_target(self.processed_actions, joint_ids=self._joint_ids)


@configclass
class JointPositionActionCfg(ActionTermCfg):
    class_type: Any = JointPositionAction
    joint_names: list = []
    scale: Any = 1.0
    offset: Any = 0.0
    preserve_order: bool = False
    use_default_offset: bool = True


@configclass
class BinaryJointPositionActionCfg(ActionTermCfg):
    class_type: Any = BinaryJointPositionAction
    joint_names: list = []
    open_command_expr: dict = {}
    close_command_expr: dict = {}


def time_out(env: Any) -> torch.Tensor:
    return env.episode_length_buf >= env.max_episode_length


def root_height_below_minimum(
    env: Any, minimum_height: float, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")
) -> torch.Tensor:
    return env.scene[asset_cfg.name].data.root_pos_w[:, 2] < minimum_height


def joint_pos_rel(env: Any, asset_cfg: SceneEntityCfg = SceneEntityCfg("robot")) -> torch.Tensor:
    asset = env.scene[asset_cfg.name]
    return asset.data.joint_pos - asset.data.default_joint_pos


def last_action(env: Any) -> torch.Tensor:
    return env.action_manager.action


def reset_scene_to_default(env: Any, env_ids: torch.Tensor) -> None:
    for robot in env.scene.articulations.values():
        robot.write_joint_state_to_sim(
            robot.data.default_joint_pos[env_ids],
            robot.data.default_joint_vel[env_ids],
            env_ids=env_ids,
        )
    for obj in env.scene.rigid_objects.values():
        state = obj.data.default_root_state[env_ids].clone()
        state[:, :3] += env.scene.env_origins[env_ids]
        obj.write_root_pose_to_sim(state[:, :7], env_ids)


def reset_root_state_uniform(
    env: Any,
    env_ids: torch.Tensor,
    pose_range: dict[str, tuple[float, float]],
    velocity_range: dict[str, tuple[float, float]],
    asset_cfg: SceneEntityCfg = SceneEntityCfg("robot"),
) -> None:
    """Default pose + a uniform offset in x, y, z drawn from torch's global RNG (seeded by
    ``env.reset(seed=…)``), as Isaac Lab's ``math_utils.sample_uniform``."""
    asset = env.scene[asset_cfg.name]
    state = asset.data.default_root_state[env_ids].clone()
    ranges = torch.tensor([pose_range.get(k, (0.0, 0.0)) for k in "xyz"], device=env.device)
    offset = ranges[:, 0] + torch.rand(len(env_ids), 3, device=env.device) * (
        ranges[:, 1] - ranges[:, 0]
    )
    state[:, :3] += env.scene.env_origins[env_ids] + offset
    asset.write_root_pose_to_sim(state[:, :7], env_ids)
