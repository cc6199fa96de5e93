"""Isaac Lab start-up and a batched, contract-unit view of an Isaac Lab task.

Two Isaac Lab generations are supported (docs/isaac.md has a recipe for each):

- **Isaac Lab 2.3 on Isaac Sim 5.1** (Kit, PhysX, RTX cameras): :func:`launch_app` starts Isaac Sim
  through ``AppLauncher``, before any other Isaac Lab import.
- **Isaac Lab 3.0 kit-less** (Newton physics on MuJoCo-Warp, Newton's Warp ray-traced camera): no
  app to start; the task config is checked with Isaac Lab's own ``validate_launch`` and refused
  when it would need Kit. 3.0 returns ``ProxyArray`` data (read through ``.torch``) and quaternions
  as (x, y, z, w); this module turns them into the contract's torch tensors and (w, x, y, z).

:func:`build` makes the gym task with the contract adaptations of :mod:`dora_sim_isaac.task_cfg`
and wraps it in a :class:`ContractEnv`, the one place that reads and writes Isaac Lab tensors
(batched ``(num_envs, …)``, on the sim device). The dora node (:mod:`dora_sim_isaac.simulator`,
one env) and the LeRobot EnvHub entry (:mod:`dora_sim_isaac.envhub`, ``n_envs``) both sit on it.

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
from dora_sim_isaac.config import IsaacConfig, kitless
from dora_sim_isaac.ee import quat_multiply

log = logging.getLogger("dora-sim-isaac")


def tensor(data: Any) -> Any:
    """A torch tensor from Isaac Lab data: 3.0's ``ProxyArray`` through ``.torch``, 2.3's as is."""
    return getattr(data, "torch", data)


def wxyz(quat: np.ndarray) -> np.ndarray:
    """Quaternions (…, 4) read from Isaac Lab in the contract's (w, x, y, z) order."""
    return quat[..., [3, 0, 1, 2]] if kitless() else quat


class KitlessApp:
    """Isaac Lab 3.0 kit-less needs no running app; ``close`` mirrors ``SimulationApp``'s."""

    def close(self) -> None:
        """Nothing to stop: the env's ``close`` releases Newton and Warp."""


def launch_app(config: IsaacConfig) -> Any:
    """Start Isaac Sim (2.3, headless unless ISAAC_HEADLESS=0) or nothing (3.0 kit-less);
    returns an object with ``close()``."""
    if kitless():
        log.info("Isaac Lab 3 kit-less: Newton physics and renderer, no Isaac Sim app")
        return KitlessApp()
    from isaaclab.app import AppLauncher

    launcher = AppLauncher(
        headless=config.headless, enable_cameras=bool(config.cameras), device=config.device
    )
    return launcher.app


def check_kitless(env_cfg: Any, task: str) -> None:
    """Isaac Lab 3: refuse a task config that would need Omniverse Kit (which is not there)."""
    from isaaclab.app import validate_launch

    _, kit_sources = validate_launch(env_cfg)
    if kit_sources:
        raise ConfigError(
            f"ISAAC_TASK={task} needs Isaac Sim / Kit ({', '.join(kit_sources)}), but this is the"
            " kit-less Isaac Lab 3 recipe: use a Newton physics config and Newton renderer"
            " cameras (docs/isaac.md)"
        )


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
        known = sorted(n for n in gym.registry if n.startswith(("Isaac-SO", "DoraSim-")))
        raise ConfigError(f"ISAAC_TASK={config.task!r} is not registered (SO-ARM tasks: {known})")
    from isaaclab_tasks.utils import parse_env_cfg

    env_cfg = parse_env_cfg(config.task, device=config.device, num_envs=num_envs)
    task_cfg.set_tick(env_cfg, config.fps)
    task_cfg.use_contract_actions(env_cfg, config)
    success_terms, removed = task_cfg.take_terminations(env_cfg, config)
    task_cfg.setup_cameras(env_cfg, config, isaaclab3=kitless())
    if kitless():
        check_kitless(env_cfg, config.task)
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


def rotate(quat: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """Rotate ``vec`` (3,) by each wxyz quaternion of ``quat`` (N, 4): (N, 3)."""
    pure = np.concatenate([np.zeros((len(quat), 1)), np.broadcast_to(vec, (len(quat), 3))], 1)
    conj = quat * np.array([1.0, -1.0, -1.0, -1.0])
    return quat_multiply(quat_multiply(quat, pure), conj)[:, 1:]


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
        self.tcp_offset = np.asarray(config.tcp[:3], dtype=np.float64)
        self.tcp_rotation = np.asarray(config.tcp[3:], dtype=np.float64)
        limits = tensor(self.robot.data.joint_pos_limits)[0, self.joint_ids]
        self.limits = limits.cpu().numpy().astype(np.float64)  # (6, 2) radians
        self.gripper_range = (float(self.limits[-1, 0]), float(self.limits[-1, 1]))
        # Evaluated by the node on the current state: Isaac Lab's own manager, kept out of the env
        # so that a success never resets the scene behind the episode machine's back.
        self.judge = TerminationManager(success_terms, self.base) if success_terms else None
        self.cameras = {name: scene.sensors[name] for name in config.cameras}
        self.origins = tensor(scene.env_origins).cpu().numpy().astype(np.float64)

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
        joint_pos = tensor(self.robot.data.joint_pos)
        return joint_pos[:, self.joint_ids].cpu().numpy().astype(np.float64)

    def joint_state(self) -> np.ndarray:
        """Measured joints (N, 6), so101 units, float32."""
        rad = self.joint_radians()
        return np.stack([sim_to_contract(r, self.gripper_range) for r in rad]).astype(np.float32)

    def ee_poses(self) -> np.ndarray:
        """TCP pose (N, 7): ISAAC_TCP on the EE body, xyz in the env frame + quaternion wxyz."""
        data = self.robot.data
        pos = tensor(data.body_pos_w)[:, self.ee_body].cpu().numpy().astype(np.float64)
        quat = wxyz(tensor(data.body_quat_w)[:, self.ee_body].cpu().numpy().astype(np.float64))
        pos = pos - self.origins + rotate(quat, self.tcp_offset)
        return np.concatenate([pos, quat_multiply(quat, self.tcp_rotation)], axis=1)

    def object_poses(self) -> dict[str, np.ndarray]:
        """Root pose (N, 7) of every rigid object of the scene, env frame, wxyz, by name."""
        poses = {}
        for name, obj in self.base.scene.rigid_objects.items():
            pos = tensor(obj.data.root_pos_w).cpu().numpy() - self.origins
            quat = wxyz(tensor(obj.data.root_quat_w).cpu().numpy())
            poses[name] = np.concatenate([pos, quat], axis=1)
        return poses

    def image(self, camera: str) -> Any:
        """Latest RGB frames of ``camera``: a (N, H, W, 3) uint8 tensor on the sim device."""
        import torch

        rgb = tensor(self.cameras[camera].data.output["rgb"])[..., :3]
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
        """Linear Jacobian (N, 3, 6) of the TCP w.r.t. the contract joints.

        Isaac Lab 3 gives it as ``data.body_link_jacobian_w`` (at each link's origin), Isaac Lab
        2.3 through PhysX's ``get_jacobians()``; both leave out the root body of a fixed-base
        articulation (body i is row i - 1) and put 6 base columns first on a floating base.
        The TCP offset moves the point: ``J_p = J_v - [r]x J_w`` with ``r`` in the world frame.
        """
        if kitless():
            jacobians = tensor(self.robot.data.body_link_jacobian_w)
        else:
            jacobians = self.robot.root_physx_view.get_jacobians()
        row = self.ee_body - 1 if self.robot.is_fixed_base else self.ee_body
        cols = self.joint_ids if self.robot.is_fixed_base else [6 + j for j in self.joint_ids]
        jac = jacobians[:, row][:, :, cols].cpu().numpy().astype(np.float64)  # (N, 6, 6)
        linear, angular = jac[:, :3], jac[:, 3:]
        if not np.any(self.tcp_offset):
            return linear
        quat = wxyz(tensor(self.robot.data.body_quat_w)[:, self.ee_body].cpu().numpy())
        r = rotate(quat.astype(np.float64), self.tcp_offset)
        return linear - np.cross(r[:, :, None], angular, axisa=1, axisb=1, axisc=1)

    def close(self) -> None:
        self.env.close()


def build(config: IsaacConfig, num_envs: int) -> ContractEnv:
    env, success_terms = make_gym_env(config, num_envs)
    return ContractEnv(env, success_terms, config)
