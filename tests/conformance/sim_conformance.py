"""The simulator conformance suite: what every dora-sim simulator node must do on the wire.

A simulator node passes when :class:`SimConformance` passes against a :class:`Harness` for it.
Each test feeds the node a scripted stream of dora inputs (``tick``, ``action``, ``ee_delta``,
``control``, STOP) through ``dora.testing.MockNode`` and checks only what the node sends back:

- **clock**: one tick = one frame = ``1/fps`` of sim time; ``frame`` +1 per tick, never skipped or
  repeated; every per-tick output carries the same counters;
- **units**: ``observation.state`` in so101 units within the contract's bounds; an action moves
  the joints toward it; ``action`` echoes the applied (clipped) target;
- **episodes**: ``start``/``end`` events with their metadata, time limit, held success, the reset
  phase, ``finish``/``rerecord``/``reset``/``stop`` controls;
- **bad input**: malformed actions and unknown controls are rejected and counted, the node goes on;
- **shutdown**: the node returns by itself after NUM_EPISODES, and at once on STOP.

A harness also offers two test hooks the wire cannot: putting the task into a success state, and
reading the physics time one tick advances. ``run`` inputs may contain :func:`hook` events, which
run between two inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pytest
from dora.testing import MockNode

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.episode import EpisodeConfig, EpisodeMachine
from dora_sim.sim_node import SimNode, Simulator, serve


def tick(n: int = 1) -> list:
    return [(c.TICK, pa.array([0], type=pa.uint64()))] * n


def action(values: np.ndarray) -> tuple[str, pa.Array]:
    return (c.ACTION, codec.encode_joints(values))


def control(command: str) -> tuple[str, pa.Array]:
    return (c.CONTROL, codec.encode_control(command))


def hook(fn: Callable[[Any], None]) -> dict:
    """An input-stream entry that runs ``fn(sim)`` instead of delivering an event."""
    return {"type": "HOOK", "fn": fn}


STOP = {"type": "STOP", "id": "dora-stop"}


class ScriptedNode(MockNode):
    """MockNode that keeps every output with its metadata and runs :func:`hook` entries."""

    def __init__(self, inputs: list, sim: Any):
        # every dora-sim node stamps its messages with the contract version
        super().__init__(inputs, {c.MD_CONTRACT: c.CONTRACT_VERSION})
        self.sim = sim
        self.sent: list[tuple[str, Any, dict]] = []
        self.unconsumed = len(inputs)  # script entries not taken yet

    def next(self, timeout: float | None = None) -> dict | None:
        event = self._take()
        while event is not None and event.get("type") == "HOOK":
            event["fn"](self.sim)
            event = self._take()
        return event

    def _take(self) -> dict | None:
        event = super().next()
        self.unconsumed = max(0, self.unconsumed - 1)
        return event

    def send_output(self, output_id: str, data: Any, metadata: dict | None = None) -> None:
        super().send_output(output_id, data, metadata)
        self.sent.append((output_id, data, dict(metadata or {})))


@dataclass
class Recording:
    """What a node sent during one run."""

    sent: list[tuple[str, Any, dict]]
    fps: int
    cameras: tuple[str, ...]
    unconsumed: int = 0  # inputs left when the node returned
    stopped: bool = False  # the node's session ended by itself (episode count, `stop`)

    def of(self, output_id: str) -> list[tuple[Any, dict]]:
        return [(d, m) for i, d, m in self.sent if i == output_id]

    def frames(self, output_id: str = c.STATE) -> list[int]:
        return [m[c.MD_FRAME] for _, m in self.of(output_id)]

    @property
    def per_tick_outputs(self) -> list[str]:
        return [c.STATE, c.APPLIED_ACTION, c.EE_STATE, c.SCENE, *map(c.image_topic, self.cameras)]

    def states(self) -> list[np.ndarray]:
        return [codec.decode_joints(d, c.STATE) for d, _ in self.of(c.STATE)]

    def actions(self) -> list[np.ndarray]:
        return [codec.decode_joints(d, c.APPLIED_ACTION) for d, _ in self.of(c.APPLIED_ACTION)]

    def events(self) -> list[tuple[str, dict]]:
        return [(codec.decode_text(d, c.EPISODE), m) for d, m in self.of(c.EPISODE)]

    def ends(self) -> list[dict]:
        return [m for kind, m in self.events() if kind == c.EPISODE_END]

    def starts(self) -> list[dict]:
        return [m for kind, m in self.events() if kind == c.EPISODE_START]

    def statuses(self) -> list[codec.SimStatus]:
        texts = [codec.decode_text(d, c.STATUS) for d, _ in self.of(c.STATUS)]
        return [codec.SimStatus.from_json(text) for text in texts]


class Harness(Protocol):
    fps: int
    cameras: tuple[str, ...]

    def run(self, inputs: list, config: EpisodeConfig) -> Recording:
        """Feed ``inputs`` to a fresh node session on the harness's simulator."""

    def make_success(self, sim: Any) -> None:
        """Put the task into a state where its success predicate holds (a :func:`hook`)."""

    def physics_seconds_per_tick(self) -> float:
        """Simulated seconds one ``step`` advances, read from the engine itself."""


@dataclass
class GlueHarness:
    """Harness for nodes built on :mod:`dora_sim.sim_node` (the MuJoCo and Isaac nodes)."""

    sim: Simulator
    make_success: Callable[[Any], None]
    physics_seconds_per_tick: Callable[[], float]
    fps: int = field(init=False)
    cameras: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.fps, self.cameras = self.sim.config.fps, tuple(self.sim.config.cameras)

    def run(self, inputs: list, config: EpisodeConfig) -> Recording:
        node = ScriptedNode(inputs, self.sim)
        machine = EpisodeMachine(config, self.fps)
        serve(SimNode(node, self.sim, machine))
        return Recording(
            node.sent, self.fps, self.cameras, unconsumed=node.unconsumed, stopped=machine.stopped
        )


def episodes(**overrides: Any) -> EpisodeConfig:
    """A short session: one 10-second episode, no reset phase, no early end unless asked."""
    defaults = {"num_episodes": 1, "episode_time_s": 10.0, "end_on_success": False, "seed": 0}
    return EpisodeConfig(**{**defaults, **overrides})


def joint_error(state: np.ndarray, target: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(state, np.float64) - np.asarray(target, np.float64))


class SimConformance:
    """Subclass with a ``harness`` fixture (class scope) to check a simulator node."""

    # --- clock and counters ---------------------------------------------------------------------
    def test_every_tick_is_one_frame_on_every_output(self, harness: Harness):
        run = harness.run(tick(12), episodes())
        for output in run.per_tick_outputs:
            assert run.frames(output) == list(range(12)), output
        stamps = {}
        for output in run.per_tick_outputs:
            for _, md in run.of(output):
                stamp = codec.FrameStamp.from_metadata(md)
                assert stamps.setdefault(stamp.frame, stamp) == stamp, output
                assert isinstance(md[c.MD_SENT_AT], int) and c.MD_SUCCESS in md
                assert md[c.MD_REWARD] == (1.0 if md[c.MD_SUCCESS] else 0.0)
        for stamp in stamps.values():
            assert stamp.phase == c.PHASE_EPISODE and stamp.episode_frame == stamp.frame
            assert stamp.sim_time == pytest.approx(stamp.episode_frame / harness.fps)

    def test_one_tick_advances_exactly_one_frame_of_sim_time(self, harness: Harness):
        assert harness.physics_seconds_per_tick() == pytest.approx(1 / harness.fps, rel=1e-9)

    def test_status_reports_the_loop_about_once_a_second(self, harness: Harness):
        run = harness.run(tick(2 * harness.fps + 1), episodes())
        statuses = run.statuses()
        assert [s.frame for s in statuses] == [harness.fps, 2 * harness.fps]
        assert all(s.target_hz == harness.fps and s.rejected_messages == 0 for s in statuses)

    # --- units ----------------------------------------------------------------------------------
    def test_state_is_float32_in_so101_units_within_bounds(self, harness: Harness):
        run = harness.run(tick(5), episodes())
        for state in run.states():  # decode_joints enforces float32[6], ±180°, gripper 0-100
            assert state.dtype == np.float32 and state.shape == (c.NUM_JOINTS,)

    def test_an_action_moves_every_joint_toward_it(self, harness: Harness):
        first = harness.run(tick(1), episodes()).states()[0]
        target = first + np.array([15.0, -10.0, 12.0, -15.0, 25.0, 0.0], np.float32)
        target[c.GRIPPER_INDEX] = 70.0 if first[c.GRIPPER_INDEX] < 50 else 20.0
        run = harness.run([*tick(1), action(target), *tick(2 * harness.fps)], episodes())
        start, end = run.states()[1], run.states()[-1]
        moved = joint_error(end, target) < 0.3 * joint_error(start, target)
        assert moved.all(), f"from {start} toward {target}: reached {end}"
        np.testing.assert_allclose(run.actions()[-1], target, atol=1e-3)

    def test_an_action_beyond_the_joint_limits_is_clipped_and_counted(self, harness: Harness):
        first = harness.run(tick(1), episodes()).states()[0]
        wild = first.copy()
        wild[1] = 179.0  # within the contract's ±180° but beyond any SO-101 shoulder limit
        run = harness.run([*tick(1), action(wild), *tick(harness.fps)], episodes())
        assert run.statuses()[-1].clipped_actions == 1
        applied = run.actions()[-1]
        assert applied[1] < 179.0 and abs(applied[0] - wild[0]) < 1e-3

    def test_scene_carries_the_task_objects_and_ee_state_the_tcp(self, harness: Harness):
        run = harness.run(tick(2), episodes())
        for data, md in run.of(c.SCENE):
            objects = codec.decode_scene(data, md)  # finite, one 7-float pose per name
            assert objects and all(np.linalg.norm(p[3:]) == pytest.approx(1, abs=1e-4)
                                   for p in objects.values())  # fmt: skip
        for data, _ in run.of(c.EE_STATE):
            ee = codec.decode_ee_state(data)
            assert np.linalg.norm(ee.quat) == pytest.approx(1, abs=1e-4)
            assert np.linalg.norm(ee.delta_quat) == pytest.approx(1, abs=1e-4)

    def test_images_are_flat_hwc_uint8_with_their_size(self, harness: Harness):
        run = harness.run(tick(2), episodes())
        for camera in harness.cameras:
            for data, md in run.of(c.image_topic(camera)):
                image = codec.decode_image(data, md)
                assert image.shape == (md[c.MD_HEIGHT], md[c.MD_WIDTH], 3)

    def test_a_jog_moves_the_commanded_target(self, harness: Harness):
        jog = codec.encode_ee_delta(np.array([0.0, 0.0, 0.1, 20.0, 0.0, 60.0], np.float32))
        run = harness.run([*tick(1), (c.EE_DELTA, jog), *tick(3)], episodes())
        before, after = run.actions()[0], run.actions()[-1]
        assert after[c.GRIPPER_INDEX] == pytest.approx(60.0, abs=0.01)
        assert not np.allclose(before[:5], after[:5], atol=0.1)

    # --- bad input ------------------------------------------------------------------------------
    def test_malformed_messages_are_rejected_and_the_node_goes_on(self, harness: Harness):
        good = harness.run(tick(1), episodes()).states()[0] - np.float32(5.0)
        good[c.GRIPPER_INDEX] = 40.0
        bad = [
            (c.ACTION, pa.array(np.full(6, np.nan, np.float32))),
            (c.ACTION, pa.array(np.zeros(5, np.float32))),
            (c.ACTION, pa.array(np.zeros(6, np.float64))),
            (c.ACTION, pa.array(np.full(6, 500.0, np.float32))),  # raw ticks, not degrees
            (c.ACTION, pa.array(["left"])),
            (c.EE_DELTA, pa.array(np.full(6, np.inf, np.float32))),
            (c.CONTROL, pa.array(["explode"])),
            ("unknown_input", pa.array([1])),
        ]
        run = harness.run([*tick(1), action(good), *bad, *tick(harness.fps)], episodes())
        assert run.frames() == list(range(harness.fps + 1))
        assert run.statuses()[-1].rejected_messages == 7  # the unknown input is only ignored
        np.testing.assert_allclose(run.actions()[-1], good, atol=1e-3)

    # --- episodes -------------------------------------------------------------------------------
    def test_episodes_start_and_end_at_the_time_limit(self, harness: Harness):
        frames = harness.fps // 2
        config = episodes(num_episodes=2, episode_time_s=frames / harness.fps, seed=7)
        run = harness.run(tick(6 * frames), config)
        assert [kind for kind, _ in run.events()] == ["start", "end", "start", "end"]
        starts, ends = run.starts(), run.ends()
        assert [s[c.MD_EPISODE] for s in starts] == [0, 1]
        assert [s[c.MD_SEED] for s in starts] == [7, 8]
        assert all(s[c.MD_TASK] and s[c.MD_FPS] == harness.fps for s in starts)
        assert [e[c.MD_END_REASON] for e in ends] == [c.END_TIME_LIMIT] * 2
        assert [e[c.MD_NUM_FRAMES] for e in ends] == [frames, frames]
        assert [e[c.MD_LAST] for e in ends] == [False, True]
        assert ends[0][c.MD_SIM_TIME] == pytest.approx(frames / harness.fps)
        assert run.frames() == list(range(2 * frames))
        episode_frames = [m[c.MD_EPISODE_FRAME] for _, m in run.of(c.STATE)]
        assert episode_frames == [*range(frames), *range(frames)]
        assert run.stopped  # the node ended the session by itself, before its inputs ran out

    def test_reset_phase_frames_belong_to_no_episode(self, harness: Harness):
        config = episodes(num_episodes=2, episode_time_s=0.2, reset_time_s=0.3)
        run = harness.run(tick(harness.fps * 2), config)
        phases = [m[c.MD_PHASE] for _, m in run.of(c.STATE)]
        episode, reset = round(0.2 * harness.fps), round(0.3 * harness.fps)
        assert phases == ["episode"] * episode + ["reset"] * reset + ["episode"] * episode
        resets = [m for _, m in run.of(c.STATE) if m[c.MD_PHASE] == c.PHASE_RESET]
        assert [m[c.MD_EPISODE_FRAME] for m in resets] == list(range(reset))

    def test_held_success_ends_the_episode_as_a_success(self, harness: Harness):
        config = episodes(end_on_success=True, success_hold_s=0.0)
        run = harness.run([*tick(2), hook(harness.make_success), *tick(3)], config)
        (end,) = run.ends()
        assert end[c.MD_END_REASON] == c.END_SUCCESS and end[c.MD_SUCCESS] and end[c.MD_LAST]
        successes = [m[c.MD_SUCCESS] for _, m in run.of(c.STATE)]
        assert successes == [False, False, True] and end[c.MD_NUM_FRAMES] == 3

    @pytest.mark.parametrize(
        ("command", "reason", "fresh_scene"),
        [
            (c.CONTROL_FINISH, c.END_FINISH, True),
            (c.CONTROL_RERECORD, c.END_RERECORD, False),  # the same scene again
            (c.CONTROL_RESET, c.END_RESET, True),  # discarded, but a new scene
        ],
    )
    def test_controls_end_the_episode_between_frames(self, harness, command, reason, fresh_scene):
        config = episodes(num_episodes=2, reset_time_s=1.0, seed=3)
        run = harness.run([*tick(3), control(command), *tick(3 * harness.fps)], config)
        first_end = run.ends()[0]
        assert first_end[c.MD_END_REASON] == reason and first_end[c.MD_NUM_FRAMES] == 3
        assert not first_end[c.MD_LAST]
        second = run.starts()[1]
        assert second[c.MD_EPISODE] == 1 and second[c.MD_SEED] == (4 if fresh_scene else 3)
        reset_ticks = 0 if command == c.CONTROL_RESET else harness.fps
        assert second[c.MD_FRAME] == 3 + reset_ticks  # the frame where episode 1 starts
        assert {m[c.MD_EPISODE] for _, m in run.of(c.STATE) if m[c.MD_FRAME] < 3} == {0}

    def test_stop_control_ends_the_episode_and_the_session(self, harness: Harness):
        config = episodes(num_episodes=5)
        run = harness.run([*tick(4), control(c.CONTROL_STOP), *tick(10)], config)
        (end,) = run.ends()
        assert end[c.MD_END_REASON] == c.END_STOP and end[c.MD_LAST]
        assert end[c.MD_NUM_FRAMES] == 4 and run.frames() == [0, 1, 2, 3]

    def test_dora_stop_event_ends_the_node_at_once(self, harness: Harness):
        run = harness.run([*tick(3), STOP, *tick(5)], episodes())
        assert run.frames() == [0, 1, 2] and run.unconsumed == 5

    def test_the_same_seed_places_the_same_scene(self, harness: Harness):
        def scene(seed: int) -> dict[str, np.ndarray]:
            run = harness.run(tick(1), episodes(seed=seed))
            data, md = run.of(c.SCENE)[0]
            return codec.decode_scene(data, md)

        first, again, other = scene(11), scene(11), scene(12)
        for name, pose in first.items():
            np.testing.assert_allclose(again[name], pose, atol=1e-5)
        assert any(not np.allclose(other[n], first[n], atol=1e-4) for n in first)
