"""Domain randomization: seeded, reproducible, applied where it says, checked at start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from dora.testing import MockNode

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.config import ConfigError
from dora_sim.episode import EpisodeConfig, EpisodeMachine
from dora_sim.sim_node import serve
from dora_sim_mujoco.main import RandomizedSimNode
from dora_sim_mujoco.randomization_config import PROFILE_DIR, load, parse, resolve
from dora_sim_mujoco.simulator import SimConfig, Simulator
from dora_sim_mujoco.viewer import PassiveViewer

REPO = Path(__file__).resolve().parents[3]
MODERATE = load(REPO / PROFILE_DIR / "moderate.yaml")
PER_STEP = load(REPO / PROFILE_DIR / "per-step.yaml")


def simulator(profile=MODERATE, task: str = "pick-cube", cameras=("front", "wrist")) -> Simulator:
    return Simulator(SimConfig(task=task, cameras=cameras, height=48, width=64,
                               randomization=profile))  # fmt: skip


def first_frames(sim: Simulator, seed: int) -> list[np.ndarray]:
    sim.reset(seed)
    return [sim.render(camera).copy() for camera in sim.config.cameras]


@pytest.fixture(scope="module")
def moderate() -> Simulator:
    sim = simulator()
    yield sim
    sim.close()


def test_every_shipped_profile_loads():
    profiles = sorted((REPO / PROFILE_DIR).iterdir())
    assert {p.stem for p in profiles} >= {"moderate", "per-step"}
    for path in profiles:
        assert load(path).groups, path


def test_same_seed_same_parameters_and_first_frame_different_seed_different(moderate):
    other = simulator()
    try:
        frames_a, values_a = first_frames(moderate, 7), moderate.randomization()
        frames_b, values_b = first_frames(other, 7), other.randomization()
        assert values_a == values_b
        assert all(np.array_equal(a, b) for a, b in zip(frames_a, frames_b, strict=True))
        frames_c, values_c = first_frames(other, 8), other.randomization()
    finally:
        other.close()
    assert values_c["values"].keys() == values_a["values"].keys()
    changed = [k for k, v in values_a["values"].items() if values_c["values"][k] != v]
    assert len(changed) > 0.9 * len(values_a["values"])
    assert all(not np.array_equal(a, c) for a, c in zip(frames_a, frames_c, strict=True))


def test_an_episode_depends_on_its_seed_only_not_on_the_episodes_before(moderate):
    moderate.reset(3)
    fresh = moderate.randomization()
    for seed in (11, 12, 3):
        moderate.reset(seed)
    assert moderate.randomization() == fresh


def test_the_sampled_values_are_the_ones_applied(moderate):
    moderate.reset(5)
    values = moderate.randomization()["values"]
    model, nominal = moderate.model, moderate.randomizer.nominal
    cube = model.body("cube").id
    assert model.body_mass[cube] == pytest.approx(
        nominal["body_mass"][cube] * values["object_physics.cube.mass"]
    )
    half = model.geom("cube").size[0]
    assert half == pytest.approx(0.0125 * values["object_physics.cube.size"])
    assert moderate.data.xpos[cube][2] == pytest.approx(half)  # placed on its sampled size
    assert model.actuator_gainprm[1, 0] == pytest.approx(
        17.8 * values["actuators.shoulder_lift.gain"]
    )
    assert model.cam_fovy[model.camera("front").id] == pytest.approx(
        55.0 + values["cameras.front.fovy"]
    )
    assert moderate.randomizer.latency == values["latency.ticks"]
    table = model.material("table").id
    assert values["table.texture"] in ("checker", "grain", "speckle", "marble", "plain")
    assert (model.mat_texid[table, 1] == -1) == (values["table.texture"] == "plain")


def test_off_is_the_scene_as_it_always_was():
    sim = simulator(profile=None, cameras=())
    assert sim.randomization() is None
    assert sim.randomizer is None
    names = {sim.model.texture(i).name for i in range(sim.model.ntex)}
    assert names == {"table", "sky"}  # no texture bank, and no floor
    assert "floor" not in {sim.model.geom(i).name for i in range(sim.model.ngeom)}


def test_frequencies_episode_step_and_session():
    sim = simulator(PER_STEP, cameras=("front",))
    try:
        sim.reset(1)
        first = sim.randomization()["values"]
        light = sim.model.light_diffuse[0].copy()
        sim.step()
        assert not np.array_equal(sim.model.light_diffuse[0], light)  # step: every tick
        assert sim.randomization()["values"] == first  # the record keeps the first frame's
        sim.reset(2)
        second = sim.randomization()["values"]
    finally:
        sim.close()
    assert first["table.hue"] != second["table.hue"]  # episode: every reset
    session = [k for k in first if k.startswith("object_physics.")]
    assert session and all(first[k] == second[k] for k in session)  # session: kept
    other = simulator(PER_STEP, cameras=())
    try:
        other.reset(2)  # a session that starts at another seed draws other session values
        assert all(other.randomization()["values"][k] != first[k] for k in session)
    finally:
        other.close()


def test_latency_delays_the_commands_by_whole_ticks():
    sim = simulator(parse({"latency": {"ticks": 2}}, "test"), cameras=())
    try:
        sim.reset(0)
        start = sim.target.copy()
        target = start.copy()
        target[0] += 0.2
        sim.target = target
        applied = []
        for _ in range(4):
            sim.step()
            applied.append(sim.data.ctrl[0])
    finally:
        sim.close()
    assert applied[:2] == [start[0], start[0]]
    assert applied[2:] == [target[0], target[0]]


def test_image_noise_is_gaussian_at_the_sampled_level_and_saturates():
    noisy = simulator(parse({"image_noise": {"std": 6}}, "test"), cameras=("front",))
    clean = simulator(None, cameras=("front",))
    try:
        diff = first_frames(noisy, 0)[0].astype(int) - first_frames(clean, 0)[0].astype(int)
        white = np.full((48, 64, 3), 255, np.uint8)
        noisy.randomizer.add_noise(white)
    finally:
        noisy.close()
        clean.close()
    assert diff.std() == pytest.approx(6, abs=0.6)
    assert np.abs(diff).max() < 60  # no wrap-around at 0 or 255
    assert white.min() < 255 and white.max() == 255  # saturated, not wrapped to black


def test_each_episode_start_carries_its_sampled_values(moderate):
    node = MockNode([{"type": "INPUT", "id": c.TICK, "value": None, "metadata": {}}] * 12,
                    {c.MD_CONTRACT: c.CONTRACT_VERSION})  # fmt: skip
    sent = []
    node.send_output = lambda output, data, metadata=None: sent.append((output, data, metadata))
    config = EpisodeConfig(num_episodes=2, episode_time_s=0.1, end_on_success=False, seed=40)
    machine = EpisodeMachine(config, moderate.config.fps)
    serve(RandomizedSimNode(node, moderate, machine, PassiveViewer.none()))
    starts = [codec.decode_episode(d, m) for o, d, m in sent if o == c.EPISODE]
    starts = [e for e in starts if isinstance(e, codec.EpisodeStart)]
    assert [e.seed for e in starts] == [40, 41]
    for event in starts:
        moderate.reset(event.seed)
        assert json.loads(event.randomization) == moderate.randomization()


@pytest.mark.parametrize(
    ("profile", "named"),
    [
        ({"lights": {"intensty": [0.5, 1.0]}}, "lights.intensty: unknown key"),
        ({"lights": {"intensity": [1.3, 0.6]}}, "lights.intensity: min 1.3 is above max 0.6"),
        ({"object_physics": {"mass": [-0.5, 1.0]}}, "object_physics.mass: -0.5 is not allowed"),
        ({"object_physics": {"mass": [0, 1.0]}}, "object_physics.mass: 0 is not allowed"),
        ({"lighting": {"intensity": [0.5, 1.0]}}, "lighting: unknown group"),
        ({"table": {"frequency": "often", "hue": [0, 1]}}, "table.frequency: 'often'"),
        ({"table": {"texture": ["wood"]}}, "table.texture: expected a list of names"),
        ({"cameras": {"top": {"fovy": [-1, 1]}}}, "cameras.top: unknown camera"),
        ({"latency": {"ticks": [0, 1.5]}}, "latency.ticks: expected whole numbers"),
        ({"image_noise": {"std": "high"}}, "image_noise.std: expected [min, max]"),
    ],
)
def test_a_bad_profile_is_refused_naming_the_key(profile, named):
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse(profile, "test.yaml")


def test_an_unknown_profile_name_lists_the_profiles():
    with pytest.raises(ConfigError, match="moderate"):
        resolve("extreme", (REPO,))
    assert resolve("moderate", (REPO / "dataflows",)) == REPO / PROFILE_DIR / "moderate.yaml"


def test_the_node_stops_at_start_on_a_bad_profile_naming_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("object_physics:\n  mass: [-1, 2]\n")
    env = {**os.environ, "RANDOMIZATION": str(bad), "CAMERAS": ""}
    result = subprocess.run([sys.executable, "-m", "dora_sim_mujoco.main"], env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 2
    assert "object_physics.mass: -1 is not allowed" in result.stdout + result.stderr
