"""dora-sim-isaac specifics, on the fake Isaac Lab (``fake_isaaclab/``), not on Isaac Sim.

How the node adapts an Isaac Lab task to the contract: the tick (``sim.dt * decimation``), joint
mapping by name, contract actions, episode ends owned by the node, cameras, the end-effector
state of the seed demo; and that the package imports without torch or Isaac Lab.
"""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import gymnasium as gym
import isaac_fake
import numpy as np
import pytest
import torch
from isaac_so_arm101.robots import SO101_JOINTS, SO_ARM101_CFG
from isaac_so_arm101.tasks.lift.joint_pos_env_cfg import SoArm101LiftCubeEnvCfg
from isaaclab.managers import TerminationTermCfg
from isaaclab.utils import configclass

from dora_sim import contract as c
from dora_sim.config import ConfigError
from dora_sim_isaac import task_cfg
from dora_sim_isaac.ee import quat_multiply
from dora_sim_isaac.isaac_env import build

# --- task variants (registered like the extension's own tasks) ----------------------------------
# SO-100-style joint names, plus an extra finger joint the contract does not know.
RENAMED = {"shoulder_pan": "Rotation", "shoulder_lift": "Pitch", "elbow_flex": "Elbow",
           "wrist_flex": "Wrist_Pitch", "wrist_roll": "Wrist_Roll", "gripper": "Jaw"}  # fmt: skip
RENAMED_JOINTS = (
    *[(RENAMED[name], *rest) for name, *rest in SO101_JOINTS],
    ("finger", "gripper_link", "finger_link", (0.0, -0.02, -0.03), "z", -0.5, 0.5),
)


def gripper_open(env, threshold: float = 1.0):
    robot = env.scene["robot"]
    return robot.data.joint_pos[:, robot.joint_names.index("gripper")] > threshold


@configclass
class SuccessTermTaskCfg(SoArm101LiftCubeEnvCfg):
    """A task that defines its own ``success`` termination (here: the gripper opened wide)."""

    def __post_init__(self):
        super().__post_init__()
        self.terminations.success = TerminationTermCfg(func=gripper_open)


@configclass
class RenamedJointsTaskCfg(SoArm101LiftCubeEnvCfg):
    def __post_init__(self):
        super().__post_init__()
        spawn = self.scene.robot.spawn.replace(joints=RENAMED_JOINTS, grip_joint="Jaw")
        self.scene.robot = SO_ARM101_CFG.replace(
            prim_path="{ENV_REGEX_NS}/Robot",
            spawn=spawn,
            init_state=SO_ARM101_CFG.init_state.replace(joint_pos={"Wrist_Pitch": 1.57}),
        )
        self.actions.arm_action = None  # its joint names do not exist on this robot
        self.actions.gripper_action = None


for task_id, cfg_class in [("Success", "SuccessTermTaskCfg"), ("Renamed", "RenamedJointsTaskCfg")]:
    gym.register(
        id=f"Isaac-Test-{task_id}-v0",
        entry_point="isaaclab.envs:ManagerBasedRLEnv",
        kwargs={"env_cfg_entry_point": f"{__name__}:{cfg_class}"},
        disable_env_checker=True,
    )


@pytest.fixture(scope="module")
def sim():
    simulator = isaac_fake.simulator(cameras=("front", "wrist"))
    yield simulator
    simulator.close()


# --- imports ------------------------------------------------------------------------------------
def test_the_package_imports_without_torch_or_isaac_lab():
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'torch', 'isaaclab', 'isaaclab_tasks', 'lerobot',"
        " 'mujoco'}:\n"
        "            raise ImportError(f'{name} must not be imported at module import')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import dora_sim_isaac.main, dora_sim_isaac.envhub, dora_sim_isaac.simulator\n"
        "import dora_sim.sim_node, dora_sim.episode, dora_sim.loop_stats\n"
        "assert 'dora' not in {m.split('.')[0] for m in sys.modules if m.startswith('dora_sim.')}\n"
    )
    env = {"PYTHONPATH": str(isaac_fake.NODE)}
    result = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True,
                            env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr


# --- the clock ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("fps", "substeps"), [(30, 3), (50, 2), (10, 10), (60, 2)])
def test_physics_substeps_make_exactly_one_tick(fps, substeps):
    env_cfg = SimpleNamespace(decimation=2, sim=SimpleNamespace(dt=0.01, render_interval=2))
    task_cfg.set_tick(env_cfg, fps)
    assert env_cfg.decimation == env_cfg.sim.render_interval == substeps
    assert env_cfg.sim.dt * env_cfg.decimation == pytest.approx(1 / fps, rel=1e-12)


def test_the_built_env_steps_one_tick_at_30_fps():
    sim = isaac_fake.simulator(fps=30, cameras=())
    cfg = sim.env.base.cfg
    assert (cfg.decimation, cfg.sim.render_interval) == (3, 3)
    assert sim.env.base.step_dt == pytest.approx(1 / 30, rel=1e-12)
    sim.close()


def test_an_env_whose_step_is_not_one_tick_is_refused():
    env = SimpleNamespace(cfg=SimpleNamespace(decimation=2, sim=SimpleNamespace(dt=0.01)))
    with pytest.raises(ConfigError, match=r"decimation 2.*FPS=30"):
        task_cfg.check_tick(env, 30)


# --- actions, joints, terminations --------------------------------------------------------------
def test_the_action_is_one_absolute_joint_target_in_contract_order(sim):
    manager = sim.env.base.action_manager
    assert manager.active_terms == [task_cfg.ACTION_TERM] and manager.total_action_dim == 6
    target = np.array([20.0, -30.0, 25.0, 60.0, -45.0, 80.0], np.float32)
    sim.reset(0)
    assert not sim.set_action(target)
    for _ in range(20):
        sim.step()
    np.testing.assert_allclose(sim.state(), target, atol=0.05)
    robot = sim.env.robot
    elbow = robot.data.joint_pos[0, robot.joint_names.index("elbow_flex")].item()
    assert elbow == pytest.approx(np.deg2rad(25.0), abs=1e-3)
    lo, hi = robot.data.joint_pos_limits[0, robot.joint_names.index("gripper")].tolist()
    gripper = robot.data.joint_pos[0, robot.joint_names.index("gripper")].item()
    assert gripper == pytest.approx(lo + 0.8 * (hi - lo), abs=1e-3)  # 0-100 onto its own range


def test_joints_are_mapped_by_name_whatever_the_articulation_calls_them():
    names = tuple(RENAMED[name] for name in c.JOINT_NAMES)
    sim = isaac_fake.simulator(task="Isaac-Test-Renamed-v0", joint_names=names, cameras=())
    robot = sim.env.robot
    assert len(robot.joint_names) == 7 and sim.env.joint_ids == [0, 1, 2, 3, 4, 5]
    target = np.array([-20.0, 15.0, -10.0, 30.0, 90.0, 10.0], np.float32)
    sim.reset(0)
    sim.set_action(target)
    for _ in range(20):
        sim.step()
    np.testing.assert_allclose(sim.state(), target, atol=0.05)
    roll = robot.data.joint_pos[0, robot.joint_names.index("Wrist_Roll")].item()
    assert roll == pytest.approx(np.pi / 2, abs=1e-3)
    assert robot.data.joint_pos[0, robot.joint_names.index("finger")].item() == 0.0
    sim.close()


def test_joint_names_the_articulation_lacks_fail_clearly():
    names = (*c.JOINT_NAMES[:5], "claw")
    with pytest.raises(ValueError, match="claw"):
        isaac_fake.simulator(joint_names=names, cameras=())


def test_the_env_can_no_longer_end_or_reset_an_episode_by_itself(sim):
    """time_out and object_dropping are gone; the lift task's 5 s episode length means nothing."""
    assert sim.env.base.termination_manager.active_terms == []
    sim.reset(3)
    cube = sim.object_poses()["object"]
    for _ in range(int(6.0 * sim.config.fps)):  # 6 s of sim time, past the task's 5 s limit
        sim.step()
    np.testing.assert_allclose(sim.object_poses()["object"], cube, atol=1e-6)


def test_tasks_without_a_success_term_succeed_when_the_object_is_lifted(sim):
    assert [*sim.env.judge.active_terms] == [task_cfg.LIFT_TERM]
    sim.reset(0)
    assert not sim.success()
    isaac_fake.lift_object(sim)
    assert sim.success()


def test_a_task_success_term_is_judged_by_the_node_not_the_env():
    sim = isaac_fake.simulator(task="Isaac-Test-Success-v0", cameras=())
    assert sim.env.judge.active_terms == ["success"]
    assert sim.env.base.termination_manager.active_terms == []
    sim.reset(0)
    sim.set_action(np.r_[sim.state()[:5], 100.0].astype(np.float32))
    for _ in range(10):
        sim.step()
    assert sim.success()  # holds on, with no reset behind the episode machine's back
    sim.step()
    assert sim.success()
    sim.close()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"task_modules": ("no_such_extension",)}, "ISAAC_TASK_MODULES"),
        ({"task": "Isaac-Nope-v0"}, "not registered"),
        ({"cameras": ("top",)}, "no camera 'top'"),
    ],
)
def test_configuration_mistakes_fail_clearly(overrides, message):
    isaac_fake.ensure_app()
    with pytest.raises(ConfigError, match=message):
        build(isaac_fake.config(**overrides), num_envs=1)


# --- cameras ------------------------------------------------------------------------------------
def test_preset_cameras_render_the_configured_size_right_after_a_reset(sim):
    sim.reset(0)
    front, wrist = sim.render("front"), sim.render("wrist")
    assert front.shape == wrist.shape == (24, 32, 3) and front.dtype == np.uint8
    assert front.any() and wrist.any()  # re-rendered on reset: not the black startup buffer
    out = np.zeros_like(front)
    assert sim.render("front", out=out) is out and np.array_equal(out, front)


def test_images_follow_the_scene(sim):
    sim.reset(0)
    before = sim.render("wrist")
    sim.set_action(np.r_[40.0, sim.state()[1:]].astype(np.float32))
    for _ in range(10):
        sim.step()
    assert not np.array_equal(before, sim.render("wrist"))


# --- end effector -------------------------------------------------------------------------------
def test_scene_pose_is_the_end_effector_body_in_the_env_frame(sim):
    sim.reset(0)
    robot = sim.env.robot
    body = robot.body_names.index("gripper_link")
    expected = torch.cat([robot.data.body_pos_w[0, body], robot.data.body_quat_w[0, body]])
    np.testing.assert_allclose(sim.ee_pose(), expected.numpy(), atol=1e-6)


def test_ee_state_has_the_seed_demo_pose_and_per_step_deltas(sim):
    sim.reset(0)
    start = sim.get_ee_state()
    assert set(start) == {"ee_pos", "ee_quat", "ee_pos_delta", "ee_quat_delta"}
    assert not start["ee_pos_delta"].any()
    sim.set_action(np.r_[30.0, -20.0, sim.state()[2:]].astype(np.float32))
    previous = start
    for _ in range(3):
        sim.step()
        now = sim.get_ee_state()
        np.testing.assert_allclose(
            now["ee_pos_delta"], now["ee_pos"] - previous["ee_pos"], atol=1e-6
        )
        turned = quat_multiply(now["ee_quat_delta"], previous["ee_quat"])
        assert np.allclose(turned, now["ee_quat"], atol=1e-5) or np.allclose(
            turned, -now["ee_quat"], atol=1e-5
        )
        previous = now
    assert np.linalg.norm(now["ee_pos"] - start["ee_pos"]) > 0.01


def test_a_jog_moves_the_end_effector_along_the_requested_velocity(sim):
    sim.reset(0)
    start = sim.ee_pose()[:3]
    for _ in range(10):  # 1 s at 0.05 m/s upward
        assert sim.jog(np.array([0.0, 0.0, 0.05, 0.0, 0.0, 30.0], np.float32))
        sim.step()
    moved = sim.ee_pose()[:3] - start
    assert moved[2] == pytest.approx(0.05, abs=0.01) and np.abs(moved[:2]).max() < 0.01
