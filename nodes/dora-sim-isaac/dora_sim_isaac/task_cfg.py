"""Turn an Isaac Lab task configuration into one that speaks the dora-sim contract.

Applied to the task's ``ManagerBasedRLEnvCfg`` before the env is built:

- **Clock**: one env step must be exactly one tick. Isaac Lab steps physics ``decimation`` times per
  env step, so ``step_dt = sim.dt * decimation``. The task's own physics step is kept as close as
  possible: ``decimation = round(1 / (FPS * task sim.dt))`` (at least 1) and
  ``sim.dt = 1 / (FPS * decimation)`` — e.g. the SO-101 lift task's 100 Hz physics with 2
  substeps (50 Hz) becomes 3 substeps of 11.1 ms at 30 FPS. The built env's ``step_dt`` is
  checked against ``1/FPS``.
- **Actions**: the task's action terms (the lift task scales arm actions by 0.5 around the default
  pose and drives the gripper open/closed only) are replaced by one absolute joint-position term
  over the contract's six joints, in contract order, so a contract target maps 1:1 onto radians.
- **Episode ends**: the node's episode machine owns them, as for MuJoCo, so every termination term
  is taken out of the env (Isaac Lab would otherwise reset the scene inside ``step``, mid-episode):
  ``time_out`` gives way to EPISODE_TIME_S, and the success term is evaluated by the node on every
  frame. Tasks without a success term get "the object is lifted" (``ISAAC_LIFT_HEIGHT_M``).
- **Cameras**: every camera in CAMERAS renders RGB at IMAGE_HEIGHT x IMAGE_WIDTH; ``front`` and
  ``wrist`` are added when the task has none of that name.

isaaclab is imported inside the functions: it only imports once the Isaac Sim app is running.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dora_sim.config import ConfigError
from dora_sim_isaac.config import IsaacConfig

# Action term that carries contract joint targets (radians) to the articulation.
ACTION_TERM = "contract_joints"
# Success term added to tasks that define none.
LIFT_TERM = "object_lifted"


def substeps_per_tick(task_dt: float, fps: int) -> int:
    return max(1, round(1.0 / (fps * task_dt)))


def set_tick(env_cfg: Any, fps: int) -> None:
    substeps = substeps_per_tick(env_cfg.sim.dt, fps)
    env_cfg.decimation = substeps
    env_cfg.sim.dt = 1.0 / (fps * substeps)
    env_cfg.sim.render_interval = substeps  # cameras render once per tick, after the last substep


def check_tick(env: Any, fps: int) -> None:
    """The built env must step exactly one tick: ``sim.dt * decimation == 1/FPS``."""
    step_dt = env.cfg.sim.dt * env.cfg.decimation
    if not math.isclose(step_dt, 1.0 / fps, rel_tol=1e-9):
        raise ConfigError(
            f"the Isaac Lab env steps {step_dt:.6f} s (sim.dt {env.cfg.sim.dt:.6f} s *"
            f" decimation {env.cfg.decimation}) but one tick at FPS={fps} is {1 / fps:.6f} s;"
            " sim time would drift from the frame clock"
        )


def use_contract_actions(env_cfg: Any, config: IsaacConfig) -> None:
    from isaaclab.envs.mdp import JointPositionActionCfg

    for name in list(vars(env_cfg.actions)):
        setattr(env_cfg.actions, name, None)  # managers skip terms set to None
    term = JointPositionActionCfg(
        asset_name=config.robot,
        joint_names=list(config.joint_names),
        scale=1.0,
        use_default_offset=False,
        preserve_order=True,
    )
    setattr(env_cfg.actions, ACTION_TERM, term)


def object_lifted(env: Any, minimal_height: float, object_name: str = "object") -> Any:
    """Termination term: the object's origin is ``minimal_height`` m above its env's origin."""
    root_pos = env.scene[object_name].data.root_pos_w
    height = getattr(root_pos, "torch", root_pos)[:, 2] - env.scene.env_origins[:, 2]
    return height > minimal_height


def take_terminations(env_cfg: Any, config: IsaacConfig) -> tuple[dict[str, Any], list[str]]:
    """Remove every termination term from the env.

    Returns (the success terms the node evaluates itself, the names of the removed terms).
    """
    from isaaclab.managers import TerminationTermCfg

    terms = {name: term for name, term in vars(env_cfg.terminations).items() if term is not None}
    for name in terms:
        setattr(env_cfg.terminations, name, None)
    if config.success_term in terms:
        return {config.success_term: terms[config.success_term]}, list(terms)
    if getattr(env_cfg.scene, config.object_name, None) is None:
        return {}, list(terms)
    lifted = TerminationTermCfg(
        func=object_lifted,
        params={"minimal_height": config.lift_height_m, "object_name": config.object_name},
    )
    return {LIFT_TERM: lifted}, list(terms)


def look_at_quat(eye: tuple[float, float, float], target: tuple[float, float, float]) -> tuple:
    """Quaternion (wxyz) of a camera at ``eye`` looking at ``target``, Isaac Lab's "world"
    convention (forward +X, up +Z): a yaw about Z, then a pitch about the new Y."""
    dx, dy, dz = np.subtract(target, eye)
    yaw, pitch = math.atan2(dy, dx), math.atan2(-dz, math.hypot(dx, dy))
    cy, sy, cp, sp = math.cos(yaw / 2), math.sin(yaw / 2), math.cos(pitch / 2), math.sin(pitch / 2)
    return (cy * cp, -sy * sp, cy * sp, sy * cp)


# Camera presets for tasks that have no camera of that name. Poses are in the env frame (front)
# and the gripper link's frame (wrist: the jaws point along the link's -Z, as in the SO-101 lift
# task's end-effector offset). They are a starting point, not tuned on Isaac Sim: define the
# camera in the task's scene to control it.
CAMERA_PRESETS: dict[str, dict[str, Any]] = {
    "front": {
        "prim": "{ENV_REGEX_NS}/FrontCamera",
        "pos": (0.65, 0.0, 0.40),
        "rot": look_at_quat((0.65, 0.0, 0.40), (0.2, 0.0, 0.02)),
        "focal_length": 18.0,
    },
    "wrist": {
        "prim": "{ENV_REGEX_NS}/Robot/gripper_link/WristCamera",
        "pos": (0.0, -0.04, -0.03),
        "rot": (math.cos(math.pi / 4), 0.0, math.sin(math.pi / 4), 0.0),  # +X turned onto -Z
        "focal_length": 12.0,
    },
}


def setup_cameras(env_cfg: Any, config: IsaacConfig, isaaclab3: bool = False) -> None:
    """Size (or add) the CAMERAS. Isaac Lab 3 presets get Newton's Warp renderer (its default
    renderer is Kit's RTX) and their rotation as (x, y, z, w); every Isaac Lab 3 camera updates
    its pose each frame (Newton renders from it)."""
    import isaaclab.sim as sim_utils
    from isaaclab.sensors import CameraCfg, TiledCameraCfg

    for name in config.cameras:
        existing = getattr(env_cfg.scene, name, None)
        if isinstance(existing, CameraCfg):
            existing.height, existing.width = config.height, config.width
            if "rgb" not in existing.data_types:
                existing.data_types = [*existing.data_types, "rgb"]
            if isaaclab3:  # Newton renders from the pose in the camera's data: keep it current
                existing.update_latest_camera_pose = True
        elif existing is None and name in CAMERA_PRESETS:
            preset = CAMERA_PRESETS[name]
            rot, cls, extra = preset["rot"], TiledCameraCfg, {}
            if isaaclab3:
                from isaaclab_newton.renderers import NewtonWarpRendererCfg

                rot, cls = (*rot[1:], rot[0]), CameraCfg  # TiledCameraCfg is deprecated in 3.0
                extra["renderer_cfg"] = NewtonWarpRendererCfg()
                # Newton renders from the pose in the camera's data, which stays at the spawn pose
                # (a wrist camera would not follow its link) unless this is set.
                extra["update_latest_camera_pose"] = True
            camera = cls(
                prim_path=preset["prim"],
                offset=cls.OffsetCfg(pos=preset["pos"], rot=rot, convention="world"),
                data_types=["rgb"],
                spawn=sim_utils.PinholeCameraCfg(
                    focal_length=preset["focal_length"], clipping_range=(0.01, 10.0)
                ),
                height=config.height,
                width=config.width,
                **extra,
            )
            setattr(env_cfg.scene, name, camera)
        else:
            raise ConfigError(
                f"CAMERAS: the task {config.task} has no camera {name!r} and there is no preset"
                f" for it (presets: {', '.join(CAMERA_PRESETS)})"
            )
    if config.cameras:  # render again after a reset so the first frame shows the new scene
        env_cfg.num_rerenders_on_reset = max(env_cfg.num_rerenders_on_reset, 1)
