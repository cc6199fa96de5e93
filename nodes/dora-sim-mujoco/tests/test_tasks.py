"""The tasks added for language-conditioned data, and the suite that cycles through them."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from dora_sim import tasks as specs
from dora_sim_mujoco.simulator import SimConfig, Simulator
from dora_sim_mujoco.tasks import TASKS, Suite, make_task


@pytest.fixture(scope="module")
def suite() -> Simulator:
    return Simulator(SimConfig(task="suite:all", cameras=()))


def move(sim: Simulator, body: str, xyz) -> None:
    """Put a free body at ``xyz`` (at rest) and recompute the state."""
    joint = sim.model.body(body).jntadr[0]
    adr = sim.model.jnt_qposadr[joint]
    sim.data.qpos[adr : adr + 3] = xyz
    sim.data.qvel[sim.model.jnt_dofadr[joint] : sim.model.jnt_dofadr[joint] + 6] = 0
    mujoco.mj_forward(sim.model, sim.data)


def mocap_xy(sim: Simulator, body: str) -> np.ndarray:
    return sim.data.mocap_pos[sim.model.body(body).mocapid[0]][:2].copy()


def settle(sim: Simulator, ticks: int = 10) -> None:
    for _ in range(ticks):
        sim.step()


def inside(region: specs.Region, xy) -> bool:
    return region.x[0] <= xy[0] <= region.x[1] and region.y[0] <= xy[1] <= region.y[1]


@pytest.mark.parametrize("task", ["stack-cubes", "place-in-bowl", "push-cube"])
def test_resets_are_seeded_and_inside_the_task_regions(task):
    sim = Simulator(SimConfig(task=task, cameras=()))

    def poses(seed):
        sim.reset(seed)
        return {k: v.copy() for k, v in sim.object_poses().items()}

    first, again, other = poses(4), poses(4), poses(5)
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert any(not np.array_equal(first[k], other[k]) for k in first)
    spec = specs.TASK_SPECS[task]
    assert set(first) == spec.signature
    for seed in range(20):
        objects = poses(seed)
        cube = objects[specs.CUBE][:2]
        if task == "stack-cubes":
            blue = objects["blue_cube"][:2]
            assert inside(spec.region, cube) and inside(spec.region, blue)
            assert np.linalg.norm(cube - blue) >= spec.min_spacing
        elif task == "place-in-bowl":
            bowl = objects["bowl"][:2]
            assert inside(spec.cube_region, cube) and inside(spec.bowl_region, bowl)
            assert np.linalg.norm(cube - bowl) >= spec.min_spacing
        else:
            target = objects["target"][:2]
            assert inside(spec.cube_region, cube) and inside(spec.target_region, target)
            assert spec.distance[0] <= np.linalg.norm(cube - target) <= spec.distance[1]
        assert not sim.success()


def test_stack_succeeds_with_the_red_cube_resting_on_the_blue_one(suite):
    suite.reset(2)  # suite:all runs task seed mod 5: stack-cubes
    assert suite.task.description == "Stack the red cube on the blue cube"
    blue = suite.object_poses()["blue_cube"][:3].copy()
    move(suite, "cube", blue + [0.03, 0, 0])  # beside it: no
    settle(suite)
    assert not suite.success()
    move(suite, "cube", blue + [0.004, 0, 0.026])  # on top of it
    settle(suite)
    assert suite.success()
    move(suite, "blue_cube", blue + [0, 0, 0.05])  # both in the air, falling: no
    move(suite, "cube", blue + [0, 0, 0.076])
    assert not suite.success()


def test_place_in_bowl_succeeds_with_the_cube_inside_the_bowl(suite):
    suite.reset(3)  # place-in-bowl
    bowl = mocap_xy(suite, "bowl")
    move(suite, "cube", [bowl[0] + 0.1, bowl[1], 0.0125])
    settle(suite)
    assert not suite.success()
    move(suite, "cube", [bowl[0] + 0.01, bowl[1], 0.03])  # dropped in: it settles on the floor
    settle(suite, 20)
    assert suite.success()
    move(suite, "cube", [bowl[0], bowl[1], 0.1])  # above the bowl: no
    assert not suite.success()


def test_push_succeeds_with_the_cube_on_the_target_on_the_table(suite):
    suite.reset(4)  # push-cube
    target = mocap_xy(suite, "target")
    move(suite, "cube", [target[0] + 0.01, target[1], 0.0125])
    settle(suite)
    assert suite.success()
    move(suite, "cube", [target[0] + 0.025, target[1], 0.0125])  # off the target: no
    settle(suite)
    assert not suite.success()
    move(suite, "cube", [target[0], target[1], 0.08])  # carried over it: no
    assert not suite.success()


def test_suite_runs_one_task_per_seed_in_turn_with_the_others_parked(suite):
    assert isinstance(suite.task, Suite)
    names = []
    for seed in range(10, 15):
        suite.reset(seed)
        names.append(suite.task.active.name)
        objects = suite.object_poses()
        assert set(objects) <= set(suite.task.active.bodies)
        assert specs.spec_for_scene(objects).name == suite.task.active.name
        idle = set(suite.task.bodies) - set(suite.task.active.bodies)
        for body in idle:  # behind the front camera, out of the arm's reach
            assert suite.data.xpos[suite.model.body(body).id][0] >= 1.0
    assert sorted(names) == sorted(TASKS)
    assert names == [list(TASKS)[seed % 5] for seed in range(10, 15)]
    suite.reset(12)
    again = suite.task.description
    suite.reset(12)
    assert suite.task.description == again  # a re-recorded episode replays its task


def test_suite_of_some_tasks_and_bad_names():
    task = make_task("suite:push-cube,pick-cube")
    assert [t.name for t in task.tasks] == ["push-cube", "pick-cube"]
    assert task.bodies == ("cube", "target")  # the red cube is one body, shared
    with pytest.raises(ValueError, match="known tasks"):
        make_task("suite:pick-cube,juggle")
    with pytest.raises(ValueError, match="suite:all"):
        make_task("suite:")
