"""Fake ``isaaclab.assets``: an articulation and rigid objects with a small, honest physics.

Joints follow their position targets through a PD drive (semi-implicit Euler per physics substep)
and stop at their limits; body poses come from forward kinematics; the Jacobian is analytic in
PhysX's fixed-base layout. Tensors are batched ``(num_envs, …)``, float32, on the sim device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from isaaclab.managers import resolve_matching_names
from isaaclab.sim import UrdfFileCfg
from isaaclab.utils import configclass

# PD drive of every joint (rad/s², per rad and per rad/s): critically damped at 20 rad/s.
KP, KD = 400.0, 40.0


@configclass
class AssetBaseCfg:
    @configclass
    class InitialStateCfg:
        pos: tuple = (0.0, 0.0, 0.0)
        rot: tuple = (1.0, 0.0, 0.0, 0.0)

    prim_path: str = ""
    spawn: Any = None
    init_state: Any = InitialStateCfg()


@configclass
class ArticulationCfg(AssetBaseCfg):
    @configclass
    class InitialStateCfg(AssetBaseCfg.InitialStateCfg):
        joint_pos: dict = {".*": 0.0}
        joint_vel: dict = {".*": 0.0}

    init_state: Any = InitialStateCfg()
    actuators: dict = {}
    soft_joint_pos_limit_factor: float = 1.0


@configclass
class RigidObjectCfg(AssetBaseCfg):
    half_size: float = 0.015  # fake-only: the cube's half edge (m)


def _rotation(axis: str, angle: torch.Tensor) -> torch.Tensor:
    """(N, 3, 3) rotations about the local y or z axis."""
    c, s = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(angle), torch.zeros_like(angle)
    if axis == "z":
        rows = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
    else:
        rows = [[c, zero, s], [zero, one, zero], [-s, zero, c]]
    return torch.stack([torch.stack(r, dim=-1) for r in rows], dim=-2)


def quat_from_matrix(m: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) -> unit quaternions wxyz (...)."""
    w = torch.sqrt(torch.clamp(1 + m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2], min=1e-12)) / 2
    x = (m[..., 2, 1] - m[..., 1, 2]) / (4 * w)
    y = (m[..., 0, 2] - m[..., 2, 0]) / (4 * w)
    z = (m[..., 1, 0] - m[..., 0, 1]) / (4 * w)
    q = torch.stack([w, x, y, z], dim=-1)
    return q / q.norm(dim=-1, keepdim=True)


class ArticulationData:
    pass


class _PhysxView:
    def __init__(self, articulation: Articulation):
        self._articulation = articulation

    def get_jacobians(self) -> torch.Tensor:
        return self._articulation._jacobians()


class Articulation:
    is_fixed_base = True

    def __init__(self, cfg: ArticulationCfg, num_envs: int, origins: torch.Tensor, device: str):
        if not isinstance(cfg.spawn, UrdfFileCfg) or not cfg.spawn.joints:
            raise ValueError(f"{cfg.prim_path}: no articulation in the spawned asset")
        self.cfg, self.device, self.num_instances = cfg, device, num_envs
        joints = cfg.spawn.joints
        self.joint_names = [j[0] for j in joints]
        self.body_names = [joints[0][1], *[j[2] for j in joints]]
        self._parent = [self.body_names.index(j[1]) for j in joints]  # parent body per joint
        self._origin = torch.tensor([j[3] for j in joints], dtype=torch.float32, device=device)
        self._axis = [j[4] for j in joints]
        # joint j moves body b when j's child (body j + 1) is b or one of b's ancestors
        moves = torch.zeros(len(self.body_names), len(joints), dtype=torch.bool)
        for j in range(len(joints)):
            for b in range(1, len(self.body_names)):
                body = b
                while body > 0 and body != j + 1:
                    body = self._parent[body - 1]
                moves[b, j] = body == j + 1
        self._moves = moves.to(device)
        n, dof = num_envs, len(joints)
        data = self.data = ArticulationData()
        limits = torch.tensor([[j[5], j[6]] for j in joints], dtype=torch.float32, device=device)
        data.joint_pos_limits = limits.repeat(n, 1, 1)
        data.soft_joint_pos_limits = data.joint_pos_limits * cfg.soft_joint_pos_limit_factor
        default = torch.zeros(dof, device=device)
        for key, value in cfg.init_state.joint_pos.items():
            ids, _ = resolve_matching_names(key, self.joint_names)
            default[ids] = value
        data.default_joint_pos = default.repeat(n, 1)
        data.default_joint_vel = torch.zeros(n, dof, device=device)
        data.joint_pos = data.default_joint_pos.clone()
        data.joint_vel = torch.zeros(n, dof, device=device)
        data.joint_pos_target = data.default_joint_pos.clone()
        root = torch.tensor(cfg.init_state.pos, dtype=torch.float32, device=device)
        data.root_pos_w = origins + root
        data.root_quat_w = torch.tensor([[1.0, 0, 0, 0]], device=device).repeat(n, 1)
        self.root_physx_view = _PhysxView(self)
        self.update(0.0)

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def num_bodies(self) -> int:
        return len(self.body_names)

    def find_joints(
        self, name_keys: str | Sequence[str], preserve_order: bool = False
    ) -> tuple[list[int], list[str]]:
        return resolve_matching_names(name_keys, self.joint_names, preserve_order)

    def find_bodies(
        self, name_keys: str | Sequence[str], preserve_order: bool = False
    ) -> tuple[list[int], list[str]]:
        return resolve_matching_names(name_keys, self.body_names, preserve_order)

    def set_joint_position_target(
        self, target: torch.Tensor, joint_ids: Any = None, env_ids: Any = None
    ) -> None:
        env_ids = slice(None) if env_ids is None else env_ids
        joint_ids = slice(None) if joint_ids is None else joint_ids
        rows = self.data.joint_pos_target[env_ids]
        rows[:, joint_ids] = target
        self.data.joint_pos_target[env_ids] = rows

    def write_joint_state_to_sim(
        self,
        position: torch.Tensor,
        velocity: torch.Tensor,
        joint_ids: Any = None,
        env_ids: Any = None,
    ) -> None:
        env_ids = slice(None) if env_ids is None else env_ids
        joint_ids = slice(None) if joint_ids is None else joint_ids
        for buffer, value in ((self.data.joint_pos, position), (self.data.joint_vel, velocity)):
            rows = buffer[env_ids]
            rows[:, joint_ids] = value
            buffer[env_ids] = rows
        self.update(0.0)

    def write_data_to_sim(self) -> None:
        """Targets are read by ``simulate``; nothing is buffered."""

    def reset(self, env_ids: Any = None) -> None:
        env_ids = slice(None) if env_ids is None else env_ids
        self.data.joint_pos_target[env_ids] = self.data.default_joint_pos[env_ids]

    def simulate(self, dt: float) -> None:
        data = self.data
        acc = KP * (data.joint_pos_target - data.joint_pos) - KD * data.joint_vel
        data.joint_vel += acc * dt
        pos = data.joint_pos + data.joint_vel * dt
        lo, hi = data.joint_pos_limits[..., 0], data.joint_pos_limits[..., 1]
        at_limit = (pos < lo) | (pos > hi)
        data.joint_pos = torch.clamp(pos, lo, hi)
        data.joint_vel = torch.where(at_limit, torch.zeros_like(pos), data.joint_vel)

    def update(self, dt: float) -> None:
        """Forward kinematics: body poses in the world from the joint positions."""
        n = self.num_instances
        frames = torch.eye(4, device=self.device).repeat(n, len(self.body_names), 1, 1)
        frames[:, 0, :3, 3] = self.data.root_pos_w
        for j, parent in enumerate(self._parent):
            local = torch.eye(4, device=self.device).repeat(n, 1, 1)
            local[:, :3, :3] = _rotation(self._axis[j], self.data.joint_pos[:, j])
            local[:, :3, 3] = self._origin[j]
            frames[:, j + 1] = frames[:, parent] @ local
        self._frames = frames
        self.data.body_pos_w = frames[..., :3, 3].clone()
        self.data.body_quat_w = quat_from_matrix(frames[..., :3, :3])

    def _jacobians(self) -> torch.Tensor:
        """(N, bodies - 1, 6, joints): linear rows axis x (p_body - p_joint), angular the axis."""
        axes = torch.tensor([[0.0, 0, 1] if a == "z" else [0.0, 1, 0] for a in self._axis])
        axes = axes.to(self.device)
        child = self._frames[:, 1:]  # joint j turns about its child frame's axis, at its origin
        axis_w = (child[..., :3, :3] @ axes[None, :, :, None]).squeeze(-1)  # (N, J, 3)
        joint_pos_w = child[..., :3, 3]  # (N, J, 3)
        body_pos_w = self._frames[:, 1:, :3, 3]  # (N, B-1, 3)
        lever = body_pos_w[:, :, None, :] - joint_pos_w[:, None, :, :]  # (N, B-1, J, 3)
        linear = torch.cross(axis_w[:, None].expand_as(lever), lever, dim=-1)
        angular = axis_w[:, None].expand_as(lever)
        mask = self._moves[1:, :, None].to(linear.dtype)  # (B-1, J, 1)
        jac = torch.cat([linear * mask, angular * mask], dim=-1)  # (N, B-1, J, 6)
        return jac.transpose(-1, -2).contiguous()


class RigidObjectData:
    pass


class RigidObject:
    def __init__(self, cfg: RigidObjectCfg, num_envs: int, origins: torch.Tensor, device: str):
        self.cfg, self.device, self.num_instances = cfg, device, num_envs
        self.half_size = cfg.half_size
        data = self.data = RigidObjectData()
        pose = torch.tensor([*cfg.init_state.pos, *cfg.init_state.rot], device=device)
        data.default_root_state = torch.cat([pose, torch.zeros(6, device=device)]).repeat(
            num_envs, 1
        )
        data.root_pos_w = origins + data.default_root_state[:, :3]
        data.root_quat_w = data.default_root_state[:, 3:7].clone()
        data.root_lin_vel_w = torch.zeros(num_envs, 3, device=device)

    def write_root_pose_to_sim(self, root_pose: torch.Tensor, env_ids: Any = None) -> None:
        env_ids = slice(None) if env_ids is None else env_ids
        self.data.root_pos_w[env_ids] = root_pose[:, :3]
        self.data.root_quat_w[env_ids] = root_pose[:, 3:7]
        self.data.root_lin_vel_w[env_ids] = 0.0

    def write_root_velocity_to_sim(self, root_velocity: torch.Tensor, env_ids: Any = None) -> None:
        env_ids = slice(None) if env_ids is None else env_ids
        self.data.root_lin_vel_w[env_ids] = root_velocity[:, :3]

    def write_data_to_sim(self) -> None:
        """Nothing is buffered."""

    def reset(self, env_ids: Any = None) -> None:
        """Velocities are reset by the reset events."""

    def update(self, dt: float) -> None:
        """State tensors are current after every substep."""

    def simulate(self, dt: float, grip_point: torch.Tensor, jaws_closed: torch.Tensor) -> None:
        """Held by closed jaws near ``grip_point`` (N, 3): follow it; else fall onto the table."""
        data = self.data
        near = (data.root_pos_w - grip_point).norm(dim=-1) < 0.03
        held = jaws_closed & near
        data.root_pos_w[held] = grip_point[held]
        data.root_lin_vel_w[held] = 0.0
        free = ~held
        data.root_lin_vel_w[free, 2] -= 9.81 * dt
        data.root_pos_w[free] += data.root_lin_vel_w[free] * dt
        on_table = free & (data.root_pos_w[:, 2] <= self.half_size)
        data.root_pos_w[on_table, 2] = self.half_size
        data.root_lin_vel_w[on_table] = 0.0
