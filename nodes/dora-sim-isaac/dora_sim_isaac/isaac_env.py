"""Isaac Sim start-up and a batched, contract-unit view of an Isaac Lab task.

:func:`launch_app` starts Isaac Sim through Isaac Lab's ``AppLauncher``; it must run before any
other Isaac Lab import. :func:`build` makes the gym task with the contract adaptations of
:mod:`dora_sim_isaac.task_cfg` and wraps it in a :class:`ContractEnv`, the one place that reads
and writes Isaac Lab tensors (batched ``(num_envs, …)``, on the sim device). The dora node
(:mod:`dora_sim_isaac.simulator`, one env) and the LeRobot EnvHub entry
(:mod:`dora_sim_isaac.envhub`, ``n_envs``) both sit on it.

torch, gymnasium and isaaclab are imported inside functions: this module imports without them.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import numpy as np

from dora_sim import contract as c
from dora_sim.config import ConfigError
from dora_sim.units import contract_to_sim, sim_to_contract
from dora_sim_isaac import task_cfg
from dora_sim_isaac.config import IsaacConfig

log = logging.getLogger("dora-sim-isaac")


def launch_app(config: IsaacConfig) -> Any:
    """Start Isaac Sim (headless unless ISAAC_HEADLESS=0); returns the ``SimulationApp``."""
    from isaaclab.app import AppLauncher

    launcher = AppLauncher(
        headless=config.headless, enable_cameras=bool(config.cameras), device=config.device
    )
    return launcher.app


def make_gym_env(config: IsaacConfig, num_envs: int) -> tuple[Any, dict[str, Any]]:
    """Build the task adapted to the contract; returns (gym env, success termination terms)."""
    import gymnasium as gym

    for module in config.task_modules:
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise ConfigError(
                f"ISAAC_TASK_MODULES: cannot import {module!r} ({err}); install the package that"
                " registers the task (docs/isaac.md)"
            ) from err
    if config.task not in gym.registry:
        known = sorted(name for name in gym.registry if name.startswith("Isaac-SO"))
        raise ConfigError(f"ISAAC_TASK={config.task!r} is not registered (SO-ARM tasks: {known})")
    from isaaclab_tasks.utils import parse_env_cfg

    env_cfg = parse_env_cfg(config.task, device=config.device, num_envs=num_envs)
    task_cfg.set_tick(env_cfg, config.fps)
    task_cfg.use_contract_actions(env_cfg, config)
    success_terms, removed = task_cfg.take_terminations(env_cfg, config)
    task_cfg.setup_cameras(env_cfg, config)
    env = gym.make(config.task, cfg=env_cfg)
    task_cfg.check_tick(env.unwrapped, config.fps)
    log.info("task %s: %d physics substeps of %.2f ms per tick; terminations %s removed, success"
             " = %s", config.task, env_cfg.decimation, 1000 * env_cfg.sim.dt, removed or "none",
             ", ".join(success_terms) or "never")  # fmt: skip
    return env, success_terms


def name_indices(names: list[str], wanted: tuple[str, ...] | list[str], what: str) -> list[int]:
    missing = [name for name in wanted if name not in names]
    if missing:
        raise ConfigError(f"{what}: {missing} not found (the articulation has {names})")
    return [names.index(name) for name in wanted]


class ContractEnv:
    """An Isaac Lab env seen in contract terms: so101 units in, numpy out, batched over envs."""

    def __init__(self, env: Any, success_terms: dict[str, Any], config: IsaacConfig):
        from isaaclab.managers import TerminationManager

        self.env = env
        self.base = env.unwrapped
        self.config = config
        scene = self.base.scene
        self.num_envs: int = self.base.num_envs
        self.robot = scene[config.robot]
        self.joint_ids = name_indices(
            self.robot.joint_names, config.joint_names, "ISAAC_JOINT_NAMES"
        )
        self.ee_body = name_indices(self.robot.body_names, [config.ee_body], "ISAAC_EE_BODY")[0]
        limits = self.robot.data.joint_pos_limits[0, self.joint_ids]
        self.limits = limits.cpu().numpy().astype(np.float64)  # (6, 2) radians
        self.gripper_range = (float(self.limits[-1, 0]), float(self.limits[-1, 1]))
        # Evaluated by the node on the current state: Isaac Lab's own manager, kept out of the env
        # so that a success never resets the scene behind the episode machine's back.
        self.judge = TerminationManager(success_terms, self.base) if success_terms else None
        self.cameras = {name: scene.sensors[name] for name in config.cameras}
        self.origins = scene.env_origins.cpu().numpy().astype(np.float64)

    # --- commands ------------------------------------------------------------------------------
    def reset(self, seed: int | None = None, env_ids: np.ndarray | None = None) -> None:
        """Reset all envs (placing objects from ``seed``) or only ``env_ids``."""
        if env_ids is None:
            self.env.reset(seed=seed)
        else:
            import torch

            ids = torch.as_tensor(env_ids, dtype=torch.long, device=self.base.device)
            self.base.reset(env_ids=ids)

    def to_radians(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """so101 targets (N, 6) -> (radians clipped to the joint limits, clipped? per env)."""
        wanted = np.stack([contract_to_sim(a, self.gripper_range) for a in actions])
        clipped = np.clip(wanted, self.limits[:, 0], self.limits[:, 1])
        return clipped, np.any(np.abs(clipped - wanted) > 1e-9, axis=1)

    def step(self, targets: np.ndarray) -> None:
        """One tick: drive the joints toward ``targets`` (N, 6) radians, contract order."""
        import torch

        action = torch.as_tensor(targets, dtype=torch.float32, device=self.base.device)
        self.env.step(action.reshape(self.num_envs, c.NUM_JOINTS))

    # --- observations --------------------------------------------------------------------------
    def joint_radians(self) -> np.ndarray:
        return self.robot.data.joint_pos[:, self.joint_ids].cpu().numpy().astype(np.float64)

    def joint_state(self) -> np.ndarray:
        """Measured joints (N, 6), so101 units, float32."""
        rad = self.joint_radians()
        return np.stack([sim_to_contract(r, self.gripper_range) for r in rad]).astype(np.float32)

    def ee_poses(self) -> np.ndarray:
        """End-effector body pose (N, 7): xyz in the env frame + quaternion wxyz."""
        pos = self.robot.data.body_pos_w[:, self.ee_body].cpu().numpy() - self.origins
        quat = self.robot.data.body_quat_w[:, self.ee_body].cpu().numpy()
        return np.concatenate([pos, quat], axis=1).astype(np.float64)

    def object_poses(self) -> dict[str, np.ndarray]:
        """Root pose (N, 7) of every rigid object of the scene, env frame, by name."""
        poses = {}
        for name, obj in self.base.scene.rigid_objects.items():
            pos = obj.data.root_pos_w.cpu().numpy() - self.origins
            poses[name] = np.concatenate([pos, obj.data.root_quat_w.cpu().numpy()], axis=1)
        return poses

    def image(self, camera: str) -> Any:
        """Latest RGB frames of ``camera``: a (N, H, W, 3) uint8 tensor on the sim device."""
        import torch

        rgb = self.cameras[camera].data.output["rgb"][..., :3]
        expected = (self.num_envs, self.config.height, self.config.width)
        if tuple(rgb.shape[:3]) != expected or rgb.dtype != torch.uint8:
            raise RuntimeError(
                f"camera {camera}: got {rgb.dtype}{list(rgb.shape)},"
                f" expected uint8 {[*expected, 3]}"
            )
        return rgb

    def success(self) -> np.ndarray:
        """The success terms on the current state, (N,) bool."""
        if self.judge is None:
            return np.zeros(self.num_envs, dtype=bool)
        return self.judge.compute().cpu().numpy().astype(bool)

    def arm_jacobian(self) -> np.ndarray:
        """Linear Jacobian (N, 3, 6) of the end-effector body w.r.t. the contract joints."""
        jacobians = self.robot.root_physx_view.get_jacobians()
        # A fixed-base articulation has no Jacobian for its root body: body i is row i - 1.
        row = self.ee_body - 1 if self.robot.is_fixed_base else self.ee_body
        cols = self.joint_ids if self.robot.is_fixed_base else [6 + j for j in self.joint_ids]
        return jacobians[:, row, :3][:, :, cols].cpu().numpy().astype(np.float64)

    def close(self) -> None:
        self.env.close()


def build(config: IsaacConfig, num_envs: int) -> ContractEnv:
    env, success_terms = make_gym_env(config, num_envs)
    return ContractEnv(env, success_terms, config)
