"""Unit tests of the rerun node: config, flow control, and the node fed by dora's MockNode,
with the recording read back through rerun's own reader (``dora_sim_rerun.readback``)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import rerun as rr
from dora.testing import MockNode

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.config import ConfigError
from dora_sim_rerun import config as cfg
from dora_sim_rerun import layout, readback
from dora_sim_rerun.flow import GapCounter, LatestSlots
from dora_sim_rerun.logger import ImageFrame, SimLogger
from dora_sim_rerun.main import run
from dora_sim_rerun.recording import open_recording

H, W = 64, 80
SCALARS = "Scalars:scalars"


# --- config ----------------------------------------------------------------------------------
def test_rerun_mode_auto_follows_display():
    assert cfg.resolve_mode("auto", display=True) == cfg.MODE_SPAWN
    assert cfg.resolve_mode("auto", display=False) == cfg.MODE_SAVE
    assert cfg.resolve_mode(" Serve ", display=False) == cfg.MODE_SERVE
    with pytest.raises(ConfigError, match="RERUN_MODE"):
        cfg.resolve_mode("viewer", display=True)


def test_rerun_has_display_reads_x11_and_wayland(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    assert not cfg.has_display({})
    assert cfg.has_display({"DISPLAY": ":0"})
    assert cfg.has_display({"WAYLAND_DISPLAY": "wayland-0"})


def test_rerun_rrd_path_template():
    now = time.mktime((2026, 1, 2, 3, 4, 5, 0, 0, -1))
    assert cfg.rrd_path("out/s-{time}.rrd", now) == Path("out/s-20260102-030405.rrd")
    assert cfg.rrd_path("plain.rrd") == Path("plain.rrd")
    with pytest.raises(ConfigError, match="RERUN_RRD"):
        cfg.rrd_path("out/{date}.rrd")


def test_rerun_load_config_from_env(monkeypatch):
    monkeypatch.setenv("RERUN_MODE", "connect")
    monkeypatch.setenv("RERUN_URL", "rerun+http://10.0.0.2:9876/proxy")
    monkeypatch.setenv("RERUN_JPEG_QUALITY", "0")
    config = cfg.load_config()
    assert config.mode == cfg.MODE_CONNECT
    assert config.url == "rerun+http://10.0.0.2:9876/proxy"
    assert config.jpeg_quality == 0
    monkeypatch.setenv("RERUN_JPEG_QUALITY", "101")
    with pytest.raises(ConfigError, match="RERUN_JPEG_QUALITY"):
        cfg.load_config()


def test_rerun_spawn_without_viewer_falls_back_to_save(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `rerun` executable to spawn
    config = cfg.RerunConfig(mode=cfg.MODE_SPAWN, rrd_path=tmp_path / "sub" / "s.rrd")
    rec, used, where = open_recording(config)
    rec.log("x", rr.Scalars(1.0))
    rec.flush()
    rec.disconnect()
    assert used.mode == cfg.MODE_SAVE
    assert str(tmp_path / "sub" / "s.rrd") in where
    assert (tmp_path / "sub" / "s.rrd").stat().st_size > 0


@pytest.mark.display
def test_rerun_viewer_that_exits_at_once_falls_back_to_save(tmp_path, monkeypatch):
    """Under Xvfb with software GL the Rerun viewer starts its server and exits ("Adapter does
    not support drawing to texture format R32Float"): the node must notice and save instead."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    display = f":{50 + os.getpid() % 40}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"])
    try:
        time.sleep(1.0)
        monkeypatch.setenv("DISPLAY", display)  # inherited by the spawned viewer
        config = cfg.RerunConfig(
            mode=cfg.resolve_mode("auto", cfg.has_display()),
            grpc_port=free_port(),
            rrd_path=tmp_path / "fallback.rrd",
        )
        assert config.mode == cfg.MODE_SPAWN
        rec, used, _ = open_recording(config)
        if used.mode == cfg.MODE_SPAWN:
            rec.disconnect()
            pytest.skip("this machine's Rerun viewer can render under Xvfb")
        rec.log("x", rr.Scalars(1.0))
        rec.flush()
        rec.disconnect()
        assert used.mode == cfg.MODE_SAVE
        assert (tmp_path / "fallback.rrd").stat().st_size > 0
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)


# --- flow control ----------------------------------------------------------------------------
def test_rerun_gap_counter_counts_skipped_frames():
    gaps = GapCounter()
    assert all(gaps.accept(f) for f in (5, 6, 9, 10))
    assert not gaps.accept(10)  # repeated
    assert (gaps.logged, gaps.dropped, gaps.seen) == (4, 2, 6)
    assert gaps.accept(0) and gaps.accept(2)  # the sim restarted: counting carries on
    assert (gaps.logged, gaps.dropped, gaps.seen, gaps.last) == (6, 3, 9, 2)


def test_rerun_latest_slots_keep_only_newest():
    slots: LatestSlots[int] = LatestSlots()
    for i in range(5):
        slots.put("front", i)
    slots.put("wrist", 42)
    assert slots.take(timeout=0) == {"front": 4, "wrist": 42}
    assert slots.take(timeout=0.01) == {}
    slots.put("front", 7)
    slots.close()
    assert slots.take() == {"front": 7}  # what was in the slots is still handed out
    assert slots.take() is None


def test_rerun_latest_slots_wake_a_waiting_consumer():
    slots: LatestSlots[int] = LatestSlots()
    got: list[dict[str, int] | None] = []
    consumer = threading.Thread(target=lambda: got.append(slots.take(timeout=5)))
    consumer.start()
    slots.put("front", 1)
    consumer.join(timeout=5)
    assert got == [{"front": 1}]


# --- the node on a MockNode ------------------------------------------------------------------
CONTRACT = {c.MD_CONTRACT: c.CONTRACT_VERSION}  # what every dora-sim node stamps on its messages
TASK = "Pick up the cube"


def frame_md(frame: int, episode: int = 0, success: bool = False) -> dict:
    md = codec.FrameStamp(frame, episode, frame, frame / 30, c.PHASE_EPISODE).to_metadata()
    md[c.MD_SENT_AT] = 1_700_000_000_000_000_000 + frame * 33_333_333
    md[c.MD_SUCCESS] = success
    return md


def joints_at(frame: int) -> np.ndarray:
    angle = frame % 90
    return np.array([angle, -angle, 0.5 * angle, 90.0, -10.0, frame % 90], dtype=np.float32)


def image_at(frame: int) -> np.ndarray:
    image = np.zeros((H, W, 3), dtype=np.uint8)
    image[..., 0] = frame
    image[: H // 2, :, 1] = 200
    return image


def input_event(input_id: str, value: pa.Array, metadata: dict) -> dict:
    """An input as dora delivers it from the simulator (stamped with the contract version)."""
    return {"type": "INPUT", "id": input_id, "value": value, "metadata": {**metadata, **CONTRACT}}


def ee_at(frame: int) -> np.ndarray:
    """The gripper's TCP position at ``frame``: it rises 1 cm per frame."""
    return np.array([0.1, 0.2, frame / 100])


def tick_events(frame: int) -> list[dict]:
    md = frame_md(frame, success=frame >= 8)
    action = joints_at(frame) + np.float32(1.0)
    ee_state = np.r_[ee_at(frame), 1, 0, 0, 0, 0, 0, 0.01, 1, 0, 0, 0]
    scene, scene_md = codec.encode_scene({"cube": np.array([0.3, 0, 0.02, 1, 0, 0, 0])})
    pixels, image_md = codec.encode_image(image_at(frame))
    return [
        input_event(c.STATE, codec.encode_joints(joints_at(frame)), md),
        input_event(c.APPLIED_ACTION, codec.encode_joints(action), md),
        input_event(c.EE_STATE, codec.encode_ee_state(ee_state), md),
        input_event(c.SCENE, scene, {**md, **scene_md}),
        input_event(c.image_topic("front"), pixels, {**md, **image_md}),
    ]


def episode_event(event: codec.EpisodeStart | codec.EpisodeEnd) -> dict:
    return input_event(c.EPISODE, *codec.encode_episode(event))


FRAMES = [0, 1, 2, 5, 6, 7, 8, 9, 10, 11]  # frames 3 and 4 are lost upstream
PER_TICK = (c.STATE, c.APPLIED_ACTION, c.EE_STATE, c.SCENE, c.image_topic("front"))


class InLockstep:
    """A MockNode whose ``next`` first waits until the image thread logged the image handed out
    before, so that no image is replaced in its slot (deterministic recordings)."""

    def __init__(self, node: MockNode, logger: SimLogger):
        self.node = node
        self.logger = logger
        self.image: tuple[str, int] | None = None  # (stream, frame) of the last image given

    def next(self, timeout: float | None = None) -> dict | None:
        if self.image is not None:
            stream, frame = self.image
            deadline = time.monotonic() + 5
            while self.logger.gaps.get(stream, GapCounter()).last != frame:
                assert time.monotonic() < deadline, "image thread did not log the image"
                time.sleep(0.001)
            self.image = None
        event = self.node.next(timeout)
        if event and event["type"] == "INPUT" and event["id"].startswith(c.IMAGE_PREFIX):
            self.image = (event["id"], event["metadata"][c.MD_FRAME])
        return event


@pytest.fixture
def recorded(tmp_path) -> tuple[Path, SimLogger]:
    """Feeds 10 ticks, episode events, a status message and a malformed message through the
    node; returns the saved .rrd and the logger."""
    rrd = tmp_path / "unit.rrd"
    rec = rr.RecordingStream("dora-sim-test")
    rec.save(rrd)
    logger = SimLogger(rec, jpeg_quality=0)
    logger.log_styles()
    status = codec.SimStatus(
        frame=10,
        episode_index=0,
        phase=c.PHASE_EPISODE,
        target_hz=30.0,
        achieved_hz=29.5,
        busy_ms=12.5,
        late_ticks=1,
        wall_lag_s=0.01,
        rejected_messages=0,
        clipped_actions=0,
        ik_failures=0,
    )
    events = [episode_event(codec.EpisodeStart(0, 0, TASK, seed=0, fps=30))]
    for frame in FRAMES:
        events += tick_events(frame)
    end = codec.EpisodeEnd(
        frame=12,
        episode_index=0,
        task=TASK,
        seed=0,
        fps=30,
        success=True,
        reason=c.END_SUCCESS,
        num_frames=12,
        sim_time=0.4,
        wall_time=0.5,
        last=True,
    )
    events += [
        input_event(c.STATUS, codec.encode_text(status.to_json()), {c.MD_FRAME: 10}),
        input_event(c.STATE, pa.array([1.0, 2.0]), frame_md(12)),  # malformed: rejected
        episode_event(end),
    ]
    rerun_node = run(InLockstep(MockNode(events), logger), logger)
    rec.flush()
    rec.disconnect()
    assert rerun_node.rejected == 1
    return rrd, logger


def test_rerun_entities_and_values(recorded):
    rrd, _ = recorded
    paths = readback.entity_paths(rrd)
    expected = {
        layout.camera_path("front"),
        layout.SCENE_EE,
        layout.object_path("cube"),
        layout.EPISODE_EVENTS,
        layout.EPISODE_TASK,
        layout.EPISODE_SUCCESS,
        layout.EPISODE_RESULT,
        layout.EPISODE_SUCCESS_RATE,
        *(layout.status_path(f) for f in layout.STATUS_FIELDS),
        layout.dropped_path(c.STATE),
        layout.dropped_path(c.image_topic("front")),
    }
    for joint in c.JOINT_NAMES:
        expected |= {
            layout.joint_path(joint, layout.STATE_SERIES),
            layout.joint_path(joint, layout.ACTION_SERIES),
        }
    assert {f"/{p}" for p in expected} <= paths

    for i, joint in enumerate(c.JOINT_NAMES):
        frames, values = readback.column(rrd, layout.joint_path(joint, "state"), SCALARS)
        assert frames == FRAMES
        assert values == [[float(joints_at(f)[i])] for f in FRAMES]
        _, actions = readback.column(rrd, layout.joint_path(joint, "action"), SCALARS)
        assert actions == [[float(joints_at(f)[i] + 1)] for f in FRAMES]

    _, success = readback.column(rrd, layout.EPISODE_SUCCESS, SCALARS)
    assert success == [[float(f >= 8)] for f in FRAMES]
    frames, ee = readback.column(rrd, layout.SCENE_EE, "Points3D:positions")
    assert frames == FRAMES
    assert ee == [[pytest.approx(ee_at(f).tolist())] for f in FRAMES]  # from ee_state
    frames, cube = readback.column(rrd, layout.object_path("cube"), "Points3D:positions")
    assert frames == FRAMES
    assert cube[-1] == [pytest.approx([0.3, 0.0, 0.02])]


def test_rerun_timelines_use_sim_frame_and_send_time(recorded):
    rrd, _ = recorded
    walls, _ = readback.column(
        rrd, layout.joint_path("gripper", "state"), SCALARS, index=layout.TIMELINE_WALL
    )
    assert walls == [frame_md(f)[c.MD_SENT_AT] for f in FRAMES]


def test_rerun_images_arrive_intact(recorded):
    rrd, _ = recorded
    frames, buffers = readback.column(rrd, layout.camera_path("front"), "Image:buffer")
    assert frames == FRAMES
    assert np.array_equal(np.asarray(buffers[-1][0], dtype=np.uint8).reshape(H, W, 3), image_at(11))


def test_rerun_episode_events_and_drops(recorded):
    rrd, logger = recorded
    _, texts = readback.column(rrd, layout.EPISODE_EVENTS, "TextLog:text")
    assert texts[0] == ["episode 0 start: Pick up the cube (seed 0)"]
    assert texts[-1][0].startswith("episode 0 end: SUCCESS (success), 12 frames")
    _, task = readback.column(rrd, layout.EPISODE_TASK, "TextDocument:text")
    assert task == [["Pick up the cube"]]
    _, rate = readback.column(rrd, layout.EPISODE_SUCCESS_RATE, SCALARS)
    assert rate == [[1.0]]
    _, hz = readback.column(rrd, layout.status_path("achieved_hz"), SCALARS)
    _, busy = readback.column(rrd, layout.status_path("busy_ms"), SCALARS)
    assert (hz, busy) == ([[29.5]], [[12.5]])
    # Frames 3 and 4 never reached the node: two dropped on every per-tick stream.
    for stream in PER_TICK:
        assert (logger.gaps[stream].dropped, logger.gaps[stream].seen) == (2, 12)
        _, dropped = readback.column(rrd, layout.dropped_path(stream), SCALARS)
        assert dropped[-1] == [2.0]


def test_rerun_a_sender_of_another_contract_version_ends_the_node_with_an_error(tmp_path, caplog):
    """A graph mixing node versions fails at once: nothing of the foreign stream is logged."""
    rec = rr.RecordingStream("dora-sim-test")
    rec.save(tmp_path / "mixed.rrd")
    logger = SimLogger(rec, jpeg_quality=0)
    v1_state = {**tick_events(0)[0], "metadata": frame_md(0)}  # no contract version on it
    rerun_node = run(MockNode([*tick_events(0)[1:], v1_state, *tick_events(1)]), logger)
    rec.flush()
    rec.disconnect()
    assert rerun_node.exit_status == 2
    assert "'observation.state' comes from a node that speaks no dora-sim contract" in caplog.text
    assert c.STATE not in logger.gaps
    assert logger.gaps[c.APPLIED_ACTION].last == 0  # the loop ended there: frame 1 never came


def test_rerun_slow_logging_drops_images_not_events(tmp_path):
    """A logging thread 20x slower than the input rate costs display frames; the event loop
    still handles every message at once and every scalar is logged."""
    rec = rr.RecordingStream("dora-sim-test")
    rec.save(tmp_path / "slow.rrd")
    logger = SimLogger(rec, jpeg_quality=0)
    slow_image = logger.image

    def image(camera: str, frame: ImageFrame) -> bool:
        time.sleep(0.02)
        return slow_image(camera, frame)

    logger.image = image  # type: ignore[method-assign]
    events = [event for frame in range(200) for event in tick_events(frame)]
    start = time.perf_counter()
    rerun_node = run(MockNode(events), logger)
    elapsed = time.perf_counter() - start
    rec.flush()
    rec.disconnect()
    images = logger.gaps[c.image_topic("front")]
    assert logger.gaps[c.STATE].logged == 200
    assert logger.gaps[c.STATE].dropped == 0
    assert images.logged + images.dropped == images.seen
    assert images.last == 199  # the newest image is always logged
    assert images.dropped > 100
    assert elapsed < 200 * 0.02 / 2  # far faster than logging every image
    assert rerun_node.reported[c.image_topic("front")] == (images.dropped, images.seen)


def test_rerun_node_imports_no_torch_or_lerobot():
    code = (
        "import sys, dora_sim_rerun.main; "
        "bad = [m for m in ('torch', 'lerobot') if m in sys.modules]; "
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The viewer's file is read while it is still being written: it has no footer yet.
@pytest.mark.filterwarnings("ignore:RRD file has no footer")
def test_rerun_connect_mode_streams_to_a_listening_viewer(tmp_path):
    """``connect`` mode against a headless ``rerun`` that streams what it receives to a file.

    The ``rerun`` script runs the native viewer as its child: both go in a session of their own,
    stopped together at the end."""
    port, received = free_port(), tmp_path / "received.rrd"
    command = [Path(sys.executable).with_name("rerun"), "--port", str(port), "--save", received]
    viewer = subprocess.Popen(command, start_new_session=True)
    try:
        url = f"rerun+http://127.0.0.1:{port}/proxy"
        rec, used, where = open_recording(cfg.RerunConfig(mode=cfg.MODE_CONNECT, url=url))
        assert used.mode == cfg.MODE_CONNECT and url in where
        logger = SimLogger(rec, jpeg_quality=80)
        run(MockNode([event for frame in range(5) for event in tick_events(frame)]), logger)
        rec.flush(timeout_sec=10)
        rec.disconnect()
        deadline = time.monotonic() + 20
        while True:
            try:
                frames, _ = readback.column(
                    received, layout.joint_path("gripper", "state"), SCALARS
                )
            except (OSError, ValueError):
                frames = []
            if frames == list(range(5)) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert frames == list(range(5))
    finally:
        os.killpg(viewer.pid, signal.SIGTERM)
        viewer.wait(timeout=10)
