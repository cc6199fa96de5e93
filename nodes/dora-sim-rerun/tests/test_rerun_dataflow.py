"""A headless ``dora run`` of the shipped demo-rerun graph (small images, short episodes, plus a
witness node recording what the sim sent) writes an .rrd; rerun's own reader checks it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from dora_sim import contract as c
from dora_sim.headless import headless_env
from dora_sim_rerun import layout, readback

ROOT = Path(__file__).resolve().parents[3]
DATAFLOW = ROOT / "dataflows" / "dataflow-demo-rerun.yaml"
WITNESS = Path(__file__).with_name("witness_node.py")
H, W = 64, 80
HEADLESS = {"MUJOCO_GL": "egl", "EGL_PLATFORM": "surfaceless"}


def dora_env() -> dict[str, str]:
    """Headless (no display at all), this venv's `dora` and nodes first on PATH, and dora-sim's
    zenoh overlay: the witness must see every frame the sim sends."""
    env = headless_env()
    env.pop("WAYLAND_DISPLAY", None)
    return env


def test_rerun_demo_dataflow_validates():
    subprocess.run(["dora", "validate", str(DATAFLOW)], check=True, timeout=60, env=dora_env())


def test_rerun_demo_dataflow_attaches_to_every_sim_output():
    nodes = {node["id"]: node for node in yaml.safe_load(DATAFLOW.read_text())["nodes"]}
    rerun_inputs = nodes["rerun"]["inputs"]
    for output in nodes["sim"]["outputs"]:
        wiring = rerun_inputs[output]
        source = wiring if isinstance(wiring, str) else wiring["source"]
        assert source == f"sim/{output}"
        if output.startswith(c.IMAGE_PREFIX):
            assert wiring["queue_size"] == 1  # newest image only


def test_rerun_bench_node_snippet_matches_the_demo_node():
    """``rerun-node.yaml`` (for ``scripts/bench.py sim --extra-node``) wires like the demo."""
    snippet = yaml.safe_load((Path(__file__).parents[1] / "rerun-node.yaml").read_text())
    nodes = {node["id"]: node for node in yaml.safe_load(DATAFLOW.read_text())["nodes"]}
    assert snippet["path"] == nodes["rerun"]["path"]
    assert snippet["inputs"] == nodes["rerun"]["inputs"]


def small_graph(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The shipped graph with test settings and a witness node; returns (yaml, rrd, witness)."""
    rrd, witness = tmp_path / "session.rrd", tmp_path / "witness.npz"
    graph = yaml.safe_load(DATAFLOW.read_text())
    nodes = {node["id"]: node for node in graph["nodes"]}
    nodes["sim"].setdefault("env", {}).update(
        {
            "NUM_EPISODES": "2",
            "EPISODE_TIME_S": "1",
            "IMAGE_HEIGHT": str(H),
            "IMAGE_WIDTH": str(W),
            **HEADLESS,
        }
    )
    # Raw images, so that pixels can be compared exactly with what the sim sent.
    nodes["rerun"].setdefault("env", {}).update(
        {"RERUN_MODE": "save", "RERUN_RRD": str(rrd), "RERUN_JPEG_QUALITY": "0"}
    )
    graph["nodes"].append(
        {
            "id": "witness",
            "path": sys.executable,
            "args": f"{WITNESS} {witness}",
            # Big queues: the witness must see every message the sim sent.
            "inputs": {
                topic: {"source": f"sim/{topic}", "queue_size": 1000}
                for topic in (c.STATE, c.EE_STATE, c.EPISODE, c.image_topic("front"))
            },
        }
    )
    path = tmp_path / "flow.yaml"
    path.write_text(yaml.safe_dump(graph, sort_keys=False))
    return path, rrd, witness


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray], str]:
    tmp_path = tmp_path_factory.mktemp("rerun-dataflow")
    flow, rrd, witness = small_graph(tmp_path)
    done = subprocess.run(
        ["dora", "run", str(flow)],
        cwd=tmp_path,
        env=dora_env(),
        timeout=180,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with np.load(witness) as sent:
        return rrd, dict(sent), done.stdout + done.stderr


@pytest.mark.slow
def test_rerun_dataflow_logs_every_stream(session):
    rrd, sent, _ = session
    paths = readback.entity_paths(rrd)
    expected = {
        layout.camera_path("front"),
        layout.camera_path("wrist"),
        layout.SCENE_EE,
        layout.object_path("cube"),
        layout.EPISODE_EVENTS,
        layout.EPISODE_TASK,
        layout.EPISODE_SUCCESS,
        layout.EPISODE_RESULT,
        layout.status_path("achieved_hz"),
        layout.dropped_path(c.image_topic("front")),
        *(layout.joint_path(j, s) for j in c.JOINT_NAMES for s in ("state", "action")),
    }
    assert {f"/{p}" for p in expected} <= paths
    assert len(sent["episode_frames"]) == 2


@pytest.mark.slow
def test_rerun_dataflow_joint_states_equal_what_the_sim_sent(session):
    rrd, sent, _ = session
    by_frame = dict(zip(sent["state_frames"].tolist(), sent["states"], strict=True))
    ticks = int(sent["episode_frames"].sum())
    assert sorted(by_frame) == list(range(ticks))  # the witness saw every tick
    for i, joint in enumerate(c.JOINT_NAMES):
        frames, values = readback.column(rrd, layout.joint_path(joint, "state"), "Scalars:scalars")
        assert len(frames) >= 0.9 * ticks, f"{joint}: only {len(frames)}/{ticks} frames logged"
        assert values == [[pytest.approx(float(by_frame[f][i]), abs=1e-5)] for f in frames]
    _, dropped = readback.column(rrd, layout.dropped_path(c.STATE), "Scalars:scalars")
    state_frames, _ = readback.column(rrd, layout.joint_path("gripper", "state"), "Scalars:scalars")
    span = state_frames[-1] - state_frames[0] + 1
    assert len(state_frames) + dropped[-1][0] == span  # every gap is counted as dropped


@pytest.mark.slow
def test_rerun_dataflow_images_and_ee_equal_what_the_sim_sent(session):
    rrd, sent, _ = session
    images = dict(zip(sent["image_frames"].tolist(), sent["images"], strict=True))
    frames, buffers = readback.column(rrd, layout.camera_path("front"), "Image:buffer")
    assert len(frames) >= 10, f"only {len(frames)}/{len(images)} images logged"
    for frame, buffer in zip(frames, buffers, strict=True):
        pixels = np.asarray(buffer[0], dtype=np.uint8).reshape(H, W, 3)
        assert np.array_equal(pixels, images[frame]), f"frame {frame}"
    _, dropped = readback.column(
        rrd, layout.dropped_path(c.image_topic("front")), "Scalars:scalars"
    )
    assert len(frames) + dropped[-1][0] == frames[-1] - frames[0] + 1
    ee = dict(zip(sent["ee_frames"].tolist(), sent["ee"], strict=True))
    frames, positions = readback.column(rrd, layout.SCENE_EE, "Points3D:positions")
    assert len(frames) >= 0.9 * len(ee)
    for frame, position in zip(frames, positions, strict=True):
        assert position[0] == pytest.approx(ee[frame].tolist(), abs=1e-6)


@pytest.mark.slow
def test_rerun_dataflow_episode_boundaries_and_drop_report(session):
    rrd, sent, console = session
    _, texts = readback.column(rrd, layout.EPISODE_EVENTS, "TextLog:text")
    lines = [text[0] for text in texts]
    assert [line.split(":")[0] for line in lines] == [
        "episode 0 start",
        "episode 0 end",
        "episode 1 start",
        "episode 1 end",
    ]
    for line, num_frames in zip(lines[1::2], sent["episode_frames"].tolist(), strict=True):
        assert f"{num_frames} frames" in line
    _, task = readback.column(rrd, layout.EPISODE_TASK, "TextDocument:text")
    assert task[0][0] and task[0][0] in lines[0]
    _, results = readback.column(rrd, layout.EPISODE_RESULT, "Scalars:scalars")
    outcomes = ["SUCCESS" in line for line in lines[1::2]]
    assert results == [[float(success)] for success in outcomes]
    assert "[dora-sim-rerun] dropped frames final:" in console
