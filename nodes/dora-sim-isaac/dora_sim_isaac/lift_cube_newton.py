"""``DoraSim-SO101-Lift-Cube-v0``: the MuJoCo node's pick-cube scene on Isaac Lab 3.0, kit-less.

Newton physics (MuJoCo-Warp) and Newton's Warp ray-traced camera: no Omniverse Kit, no RTX, and no
asset server. Everything is local: the SO-101 is our USD conversion of the MuJoCo node's model
(``assets/so101_new_calib.usdc``, made by ``scripts/isaac_convert_so101.py``; ``ISAAC_SO101_USD``
points at another), the table and the cube are primitives. The geometry is the MuJoCo node's
(``dora_sim_mujoco.scene``/``tasks.PickCube``) so that data, policies and the scripted expert
carry over: the arm's base at the env origin on a table top at z = 0, a 2.5 cm cube placed in
x 0.17-0.27 m, y ±0.10 m, yaw ±45°, the ``front`` and ``wrist`` cameras at the MuJoCo poses
and fields of view, the STS3215 servo gains (kp 17.8, damping 0.6) on every joint.

Isaac Lab 3.0 conventions used here: quaternions are (x, y, z, w); cameras need an explicit
renderer (the default one is Kit's RTX). Importing this module imports Isaac Lab 3.0.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import isaaclab.envs.mdp as mdp
import isaaclab.sim as sim_utils
import numpy as np
import torch
from isaaclab.actuators import ImplicitActuatorCfg
from isaaclab.assets import ArticulationCfg, AssetBaseCfg, RigidObjectCfg
from isaaclab.envs import ManagerBasedRLEnvCfg
from isaaclab.managers import (
    EventTermCfg,
    ObservationGroupCfg,
    ObservationTermCfg,
    SceneEntityCfg,
    TerminationTermCfg,
)
from isaaclab.scene import InteractiveSceneCfg
from isaaclab.sensors import CameraCfg
from isaaclab.utils import configclass
from isaaclab_newton.physics import MJWarpSolverCfg, NewtonCfg
from isaaclab_newton.renderers import NewtonWarpRendererCfg

from dora_sim.tasks import PICK_CUBE, TABLE_Z
from dora_sim_isaac.config import KITLESS_TASK

USD_ENV = "ISAAC_SO101_USD"
DEFAULT_USD = Path(__file__).parent / "assets" / "so101_new_calib.usdc"
# Body path of the gripper inside the converted USD (mujoco-usd-converter nests bodies).
GRIPPER_PRIM = "Geometry/base/shoulder/upper_arm/lower_arm/wrist/gripper"
CUBE_HALF = PICK_CUBE.cube_half
REGION = PICK_CUBE.region  # where the cube is placed, as the MuJoCo task places it
CUBE_CENTRE = (sum(REGION.x) / 2, sum(REGION.y) / 2, TABLE_Z + CUBE_HALF)
# The MuJoCo node's home pose (dora_sim_mujoco.simulator.HOME_POSE) in radians.
HOME = {
    "shoulder_pan": 0.0,
    "shoulder_lift": math.radians(-12.0),
    "elbow_flex": math.radians(7.0),
    "wrist_flex": math.radians(90.0),
    "wrist_roll": 0.0,
    "gripper": -0.17453 + 0.30 * (1.74533 + 0.17453),
}
TCP_OFFSET = KITLESS_TASK["tcp"][:3]  # the tool centre point in the gripper body's frame


def so101_usd() -> str:
    path = Path(os.environ.get(USD_ENV) or DEFAULT_USD)
    if not path.is_file():
        raise FileNotFoundError(
            f"{USD_ENV}: no SO-101 USD at {path}; make one with"
            " `uv run python scripts/isaac_convert_so101.py` (docs/isaac.md)"
        )
    return str(path)


def opengl_quat(xyaxes: tuple[float, ...]) -> tuple[float, float, float, float]:
    """(x, y, z, w) rotation of an OpenGL-convention camera (looks along -Z, +Y up) whose X and Y
    axes are MuJoCo's ``xyaxes`` — the same camera frame as MuJoCo's."""
    x = np.asarray(xyaxes[:3], dtype=np.float64)
    y = np.asarray(xyaxes[3:], dtype=np.float64)
    x /= np.linalg.norm(x)
    y -= x * (x @ y)
    y /= np.linalg.norm(y)
    m = np.stack([x, y, np.cross(x, y)], axis=1)
    w = math.sqrt(max(0.0, 1.0 + m[0, 0] + m[1, 1] + m[2, 2])) / 2
    if w > 1e-6:
        q = ((m[2, 1] - m[1, 2]) / (4 * w), (m[0, 2] - m[2, 0]) / (4 * w),
             (m[1, 0] - m[0, 1]) / (4 * w), w)  # fmt: skip
    else:  # a half turn: take the largest diagonal
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = math.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k]) * 2
        q = [0.0, 0.0, 0.0, (m[k, j] - m[j, k]) / s]
        q[i], q[j], q[k] = s / 4, (m[j, i] + m[i, j]) / s, (m[k, i] + m[i, k]) / s
    return tuple(float(v) for v in q)


def look_at_xyaxes(eye: tuple[float, ...], target: tuple[float, ...]) -> tuple[float, ...]:
    """MuJoCo ``xyaxes`` of a camera at ``eye`` looking at ``target``, world z up."""
    forward = np.subtract(target, eye) / np.linalg.norm(np.subtract(target, eye))
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    return (*right, *np.cross(right, forward))


def focal_length(fovy_deg: float, aperture: float = 20.955, aspect: float = 4 / 3) -> float:
    """Focal length (mm) giving a vertical field of view ``fovy_deg`` on a 4:3 image."""
    return (aperture / aspect) / (2 * math.tan(math.radians(fovy_deg) / 2))


def camera(prim: str, pos: tuple, xyaxes: tuple, fovy: float) -> CameraCfg:
    return CameraCfg(
        prim_path=prim,
        offset=CameraCfg.OffsetCfg(pos=pos, rot=opengl_quat(xyaxes), convention="opengl"),
        data_types=["rgb"],
        spawn=sim_utils.PinholeCameraCfg(
            focal_length=focal_length(fovy), clipping_range=(0.01, 10.0)
        ),
        renderer_cfg=NewtonWarpRendererCfg(),
        update_latest_camera_pose=True,  # Newton renders from it: else the wrist camera stays put
        height=240,
        width=320,
    )


@configclass
class SceneCfg(InteractiveSceneCfg):
    robot = ArticulationCfg(
        prim_path="{ENV_REGEX_NS}/Robot",
        spawn=sim_utils.UsdFileCfg(usd_path=so101_usd()),
        init_state=ArticulationCfg.InitialStateCfg(pos=(0.0, 0.0, 0.0), joint_pos=HOME),
        actuators={
            "sts3215": ImplicitActuatorCfg(
                joint_names_expr=[".*"],
                stiffness=17.8,
                damping=0.6,
                effort_limit_sim=3.35,
                armature=0.028,
                friction=0.052,
            )
        },
        soft_joint_pos_limit_factor=1.0,
    )
    table = AssetBaseCfg(
        prim_path="{ENV_REGEX_NS}/Table",
        init_state=AssetBaseCfg.InitialStateCfg(pos=(0.2, 0.0, -0.02)),
        spawn=sim_utils.CuboidCfg(
            size=(1.2, 1.2, 0.04),
            collision_props=sim_utils.UsdPhysicsCollisionCfg(),
            physics_material=sim_utils.RigidBodyMaterialCfg(
                static_friction=1.0, dynamic_friction=1.0
            ),
            visual_material=sim_utils.PreviewSurfaceCfg(diffuse_color=(0.6, 0.48, 0.36)),
        ),
    )
    cube = RigidObjectCfg(
        prim_path="{ENV_REGEX_NS}/Cube",
        init_state=RigidObjectCfg.InitialStateCfg(pos=CUBE_CENTRE),
        spawn=sim_utils.CuboidCfg(
            size=(2 * CUBE_HALF,) * 3,
            rigid_props=sim_utils.UsdPhysicsRigidBodyCfg(),
            mass_props=sim_utils.MassCfg(mass=0.03),
            collision_props=sim_utils.UsdPhysicsCollisionCfg(),
            physics_material=sim_utils.RigidBodyMaterialCfg(
                static_friction=1.2, dynamic_friction=1.2
            ),
            visual_material=sim_utils.PreviewSurfaceCfg(diffuse_color=(0.85, 0.15, 0.15)),
        ),
    )
    light = AssetBaseCfg(
        prim_path="/World/Light",
        spawn=sim_utils.DistantLightCfg(intensity=3000.0, color=(1.0, 1.0, 1.0)),
    )
    front = camera(
        "{ENV_REGEX_NS}/FrontCamera", (0.62, 0.0, 0.42),
        look_at_xyaxes((0.62, 0.0, 0.42), (0.2, 0.0, 0.02)), 55.0,
    )  # fmt: skip
    wrist = camera(
        f"{{ENV_REGEX_NS}}/Robot/{GRIPPER_PRIM}/WristCamera", (0.0, -0.05, -0.02),
        (1.0, 0.0, 0.0, 0.0, 0.95, 0.3), 75.0,
    )  # fmt: skip


@configclass
class ActionsCfg:
    joints = mdp.JointPositionActionCfg(
        asset_name="robot", joint_names=list(HOME), scale=1.0, use_default_offset=False,
        preserve_order=True,
    )  # fmt: skip


@configclass
class ObservationsCfg:
    @configclass
    class PolicyCfg(ObservationGroupCfg):
        joint_pos = ObservationTermCfg(func=mdp.joint_pos)

    policy: PolicyCfg = PolicyCfg()


def cube_lifted(env, minimal_height: float = PICK_CUBE.lift_height) -> torch.Tensor:
    """The cube's bottom ``minimal_height`` m above the table, within 4 cm of the tool centre
    point between the jaw pads (held, not flung up: the MuJoCo task asks for both pads' contact)."""
    cube = env.scene["cube"].data.root_pos_w.torch - env.scene.env_origins
    robot = env.scene["robot"]
    body = robot.body_names.index("gripper")
    pos = robot.data.body_link_pos_w.torch[:, body] - env.scene.env_origins
    quat = robot.data.body_link_quat_w.torch[:, body]  # (x, y, z, w)
    tcp = torch.tensor(TCP_OFFSET, device=pos.device, dtype=pos.dtype).expand_as(pos)
    xyz, w = quat[:, :3], quat[:, 3:]
    t = 2 * torch.cross(xyz, tcp, dim=-1)
    tcp_w = pos + tcp + w * t + torch.cross(xyz, t, dim=-1)
    lifted = cube[:, 2] - CUBE_HALF - TABLE_Z > minimal_height
    return lifted & (torch.linalg.norm(cube - tcp_w, dim=-1) < 0.04)


@configclass
class TerminationsCfg:
    time_out = TerminationTermCfg(func=mdp.time_out, time_out=True)
    success = TerminationTermCfg(func=cube_lifted)


@configclass
class EventsCfg:
    reset_arm = EventTermCfg(
        func=mdp.reset_joints_by_offset, mode="reset",
        params={"position_range": (0.0, 0.0), "velocity_range": (0.0, 0.0)},
    )  # fmt: skip
    # PICK_CUBE's region around CUBE_CENTRE, yaw within ±45° (as the MuJoCo task)
    place_cube = EventTermCfg(
        func=mdp.reset_root_state_uniform,
        mode="reset",
        params={
            "pose_range": {
                "x": (REGION.x[0] - CUBE_CENTRE[0], REGION.x[1] - CUBE_CENTRE[0]),
                "y": (REGION.y[0] - CUBE_CENTRE[1], REGION.y[1] - CUBE_CENTRE[1]),
                "yaw": (-math.pi / 4, math.pi / 4),
            },
            "velocity_range": {},
            "asset_cfg": SceneEntityCfg("cube"),
        },
    )


@configclass
class RewardsCfg:
    pass


@configclass
class SO101LiftCubeEnvCfg(ManagerBasedRLEnvCfg):
    scene: SceneCfg = SceneCfg(num_envs=1, env_spacing=2.0)
    actions: ActionsCfg = ActionsCfg()
    observations: ObservationsCfg = ObservationsCfg()
    terminations: TerminationsCfg = TerminationsCfg()
    events: EventsCfg = EventsCfg()
    rewards: RewardsCfg = RewardsCfg()

    def __post_init__(self):
        self.decimation = 8
        self.episode_length_s = 20.0
        self.sim.dt = 1 / 240
        self.sim.render_interval = self.decimation
        self.sim.physics = NewtonCfg(
            solver_cfg=MJWarpSolverCfg(
                njmax=200, nconmax=100, cone="elliptic", integrator="implicitfast", impratio=10
            ),
            num_substeps=1,
            use_cuda_graph=True,
        )
