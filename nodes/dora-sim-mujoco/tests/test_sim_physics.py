"""The simulator itself: exact sim time per tick, seeded resets, success tests, IK, limits."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from dora_sim import contract as c
from dora_sim_mujoco.ik import IKSolver
from dora_sim_mujoco.simulator import HOME_POSE, SimConfig, Simulator
from dora_sim_mujoco.tasks import TASKS, TableCleanup


@pytest.fixture(scope="module")
def pick() -> Simulator:
    return Simulator(SimConfig(task="pick-cube", cameras=()))


@pytest.fixture(scope="module")
def cleanup() -> Simulator:
    return Simulator(SimConfig(task="table-cleanup", cameras=()))


@pytest.mark.parametrize("fps", [30, 15, 50])
def test_each_tick_advances_exactly_one_frame_of_sim_time(fps):
    sim = Simulator(SimConfig(fps=fps, cameras=()))
    sim.reset(0)
    for _ in range(fps):
        sim.step()
    assert sim.sim_time == pytest.approx(1.0, abs=1e-9)


def test_seeded_resets_are_deterministic(cleanup):
    def snapshot(seed):
        cleanup.reset(seed)
        return {k: v.copy() for k, v in cleanup.object_poses().items()}

    a, b, other = snapshot(3), snapshot(3), snapshot(4)
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert a.keys() != other.keys() or any(not np.array_equal(a[k], other[k]) for k in a)


def test_reset_places_the_arm_at_home(pick):
    pick.reset(0)
    np.testing.assert_allclose(pick.state(), HOME_POSE, atol=1e-3)


def test_pick_cube_needs_the_cube_lifted_and_held_by_both_pads(pick):
    from dora_sim_expert.planner import Expert
    from dora_sim_expert.rollout import run_episode

    pick.reset(0)
    assert not pick.success()
    joint = pick.model.body("cube").jntadr[0]
    pick.data.qpos[pick.model.jnt_qposadr[joint] + 2] = 0.1  # flung up, not held
    mujoco.mj_forward(pick.model, pick.data)
    assert not pick.success()
    assert run_episode(pick, Expert(pick.config.fps), seed=0, episode_time_s=8).success
    assert pick.success()


def test_table_cleanup_succeeds_when_every_apple_is_in_the_bin(cleanup):
    cleanup.reset(1)
    task: TableCleanup = cleanup.task
    assert not cleanup.success()
    bin_xy = cleanup.data.mocap_pos[cleanup.model.body("bin").mocapid[0]][:2]
    for i in range(task.count):
        joint = cleanup.model.body(f"apple{i}").jntadr[0]
        adr = cleanup.model.jnt_qposadr[joint]
        cleanup.data.qpos[adr : adr + 3] = [bin_xy[0] + 0.02 * i, bin_xy[1], 0.02]
        mujoco.mj_forward(cleanup.model, cleanup.data)
        assert cleanup.success() == (i == task.count - 1)


def test_tasks_have_distinct_names_and_instructions():
    assert set(TASKS) == {
        "pick-cube", "table-cleanup", "stack-cubes", "place-in-bowl", "push-cube",
    }  # fmt: skip
    assert TASKS["pick-cube"].description == "Pick up the cube and lift it"
    assert TASKS["table-cleanup"].description == "Put the apples in the bin"
    assert len({task.description for task in TASKS.values()}) == len(TASKS)


def test_out_of_limit_targets_are_clipped_and_reported(pick):
    assert not pick.set_action(HOME_POSE)
    wild = HOME_POSE.copy()
    wild[0] = 170.0  # beyond the ±110° pan limit, inside the wire's ±180°
    assert pick.set_action(wild)
    assert pick.target[0] == pytest.approx(pick.ctrl_range[0, 1])


def test_ik_converges_on_reachable_targets(pick):
    ik = IKSolver(pick.model, pick.tcp)
    rng = np.random.default_rng(0)
    home = np.deg2rad(HOME_POSE[:5].astype(float))
    for _ in range(20):
        q = np.clip(home + rng.uniform(-0.4, 0.4, 5), *ik.limits.T)
        q[4] = home[4]  # roll is not among the active joints
        target, _ = ik.site_pose(q)
        result = ik.solve(home, target, active=(0, 1, 2, 3))
        assert result.position_error < 2e-3, (target, result)


def test_jog_moves_the_gripper_the_commanded_way(pick):
    pick.reset(0)
    start = pick.ee_pose()[:3].copy()
    for _ in range(30):  # 1 s at 0.05 m/s along +x
        assert pick.jog(np.array([0.05, 0, 0, 0, 0, 30], np.float32))
        pick.step()
    moved = pick.ee_pose()[:3] - start
    assert moved[0] == pytest.approx(0.05, abs=0.012)
    assert abs(moved[1]) < 0.01 and abs(moved[2]) < 0.012


def test_cameras_render_distinct_non_blank_images():
    sim = Simulator(SimConfig(cameras=("front", "wrist"), height=48, width=64))
    try:
        sim.reset(0)
        front, wrist = sim.render("front").copy(), sim.render("wrist").copy()
    finally:
        sim.close()
    assert front.shape == wrist.shape == (48, 64, 3) and front.dtype == np.uint8
    assert front.std() > 5 and wrist.std() > 5
    assert not np.array_equal(front, wrist)


def test_full_quality_profile_renders():
    sim = Simulator(SimConfig(cameras=("front",), height=32, width=32, profile="full"))
    try:
        sim.reset(0)
        assert sim.render("front").std() > 5
    finally:
        sim.close()


def test_unknown_task_camera_or_profile_is_a_clear_error():
    with pytest.raises(ValueError, match="known tasks"):
        Simulator(SimConfig(task="juggle"))
    with pytest.raises(ValueError, match="available"):
        Simulator(SimConfig(cameras=("top",)))
    with pytest.raises(ValueError, match="profile"):
        Simulator(SimConfig(profile="ultra"))


def test_home_pose_is_inside_the_contract():
    assert HOME_POSE.shape == (c.NUM_JOINTS,)
