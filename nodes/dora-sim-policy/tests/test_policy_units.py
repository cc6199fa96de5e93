"""Fast tests of the policy node's pure parts: schedule, chunk runner, feature map, eval metrics."""

from __future__ import annotations

import ast
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
from lerobot.configs.types import FeatureType, PolicyFeature

from dora_sim import contract as c
from dora_sim.codec import EpisodeEnd, EpisodeStart, FrameStamp
from dora_sim.config import ConfigError
from dora_sim_policy.assembler import Observation, ObservationAssembler
from dora_sim_policy.config import parse_rename_map, resolve_policy
from dora_sim_policy.evaluator import EvalBook, eval_info
from dora_sim_policy.features import FeatureError, map_features
from dora_sim_policy.runner import ChunkRunner
from dora_sim_policy.schedule import AGGREGATES, ActionSchedule
from dora_sim_policy.worker import Result

FRONT, WRIST = c.image_topic("front"), c.image_topic("wrist")


def stamp(frame: int, episode: int = 0, phase: str = c.PHASE_EPISODE) -> FrameStamp:
    return FrameStamp(frame, episode, frame, frame / 30, phase)


def chunk(start: float, n: int) -> np.ndarray:
    """Rows whose first joint tells which frame they were predicted for."""
    rows = np.zeros((n, 6), np.float32)
    rows[:, 0] = start + np.arange(n)
    rows[:, 5] = 50.0
    return rows


# --- schedule -----------------------------------------------------------------------------------
def lerobot_aggregate_functions() -> dict:
    """``AGGREGATE_FUNCTIONS`` as LeRobot's async inference defines them, read from its source:
    importing ``lerobot.async_inference`` needs grpcio (``lerobot[async]``), not installed here."""
    package = importlib.util.find_spec("lerobot").submodule_search_locations[0]
    path = Path(package) / "async_inference" / "configs.py"
    assignment = next(
        node
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["AGGREGATE_FUNCTIONS"]
    )
    return eval(compile(ast.Expression(assignment.value), str(path), "eval"), {})


def test_aggregates_match_lerobot_async_inference():
    functions = lerobot_aggregate_functions()
    old, new = np.array([1.0, 2.0]), np.array([3.0, 7.0])
    assert set(AGGREGATES) == set(functions)
    for name, fn in AGGREGATES.items():
        np.testing.assert_allclose(fn(old, new), functions[name](old, new))


def test_schedule_drops_played_frames_and_aggregates_overlaps():
    schedule = ActionSchedule(AGGREGATES["average"])
    assert schedule.merge(10, chunk(10, 5)).added == 5  # frames 10..14
    assert schedule.take(12)[0] == 12  # frames 10, 11 are forgotten
    merged = schedule.merge(11, chunk(111, 6))  # frames 11..16: 11, 12 played; 13, 14 overlap
    assert (merged.stale, merged.aggregated, merged.added) == (2, 2, 2)
    assert schedule.take(13)[0] == pytest.approx((13 + 113) / 2)
    assert schedule.remaining() == 3
    assert schedule.take(20) is None and schedule.remaining() == 0


# --- chunk runner ---------------------------------------------------------------------------------
def run_closed_loop(latency_frames: int, chunk_len: int, frames: int, nan_frames=()) -> ChunkRunner:
    """Drive a runner as the dora loop does; ``latency_frames`` states arrive during inference.

    A result is polled before the state that follows it, when the last state seen is the one
    before (exactly as :class:`dora_sim_policy.node.PolicyNode` measures latency in frames).
    """
    runner = ChunkRunner(chunk_len, 0.5, 1, ActionSchedule())
    pending: list[tuple[int, Result]] = []
    for frame in range(frames):
        for due, result in [p for p in pending if p[0] <= frame]:
            pending.remove((due, result))
            runner.on_result(result, frame - 1)
        runner.on_state(stamp(frame))
        obs = Observation(stamp(frame), np.zeros(6, np.float32), {})
        request = runner.on_observation(obs, "task")
        if request is not None:
            rows = chunk(request.frame, chunk_len)
            rows[[f - request.frame for f in nan_frames if 0 <= f - request.frame < chunk_len]] = (
                np.nan
            )
            pending.append((frame + latency_frames + 1, Result(0, request.frame, rows, 0.01)))
            runner.in_flight = True
    return runner


@pytest.mark.parametrize("latency", [0, 1, 4, 8])
def test_every_frame_gets_an_action_once_the_first_chunk_arrived(latency):
    # A chunk of n rows spends latency + 2 of them before it plays (see the runner's docstring),
    # and back-to-back inference needs latency + 1 rows per cycle: n >= 2 * latency + 3.
    runner = run_closed_loop(latency, chunk_len=20, frames=300)
    stats = runner.stats
    assert stats.starved_frames == stats.first_chunk_frames == latency + 1
    assert stats.actions_sent == 300 - latency - 1
    assert stats.chunks >= 300 // 20
    assert stats.aggregated_actions > 0  # chunks overlap: the next one is asked for early
    assert max(stats.latencies_frames) == latency


def test_a_policy_slower_than_its_chunk_starves_between_chunks_but_still_moves():
    runner = run_closed_loop(latency_frames=30, chunk_len=20, frames=300)
    stats = runner.stats
    assert stats.starved_frames > stats.first_chunk_frames
    # Every chunk arrives entirely in the past, during a hold: rebased, it still plays.
    assert stats.rebased_chunks == stats.chunks and stats.actions_sent >= 4 * 19


def test_a_chunk_arriving_during_a_hold_plays_from_the_frame_the_hold_began():
    runner = ChunkRunner(10, 0.5, 1, ActionSchedule())
    runner.on_state(stamp(0))
    runner.on_result(Result(0, 0, chunk(0, 4), 0.0), 0)  # holding since frame 1: rows 0..3 → 1..4
    sent = [runner.on_state(stamp(f)) for f in range(1, 8)]  # actions for frames 2..8
    assert [a[0] if a is not None else None for a in sent] == [1, 2, 3, None, None, None, None]
    assert runner.holding_since == 5
    runner.on_result(Result(0, 2, chunk(2, 10), 0.0), 7)  # predicted at frame 2, before the hold
    assert runner.on_state(stamp(8))[0] == 5  # its row for frame 5, where the hold began, is next
    assert runner.on_state(stamp(9))[0] == 6
    assert runner.stats.rebased_chunks == 2


def test_non_finite_actions_hold_the_last_action_and_are_counted():
    runner = ChunkRunner(10, 0.5, 1, ActionSchedule())
    runner.on_state(stamp(0))
    runner.in_flight = True
    rows = chunk(0, 10)
    rows[3, 2] = np.inf
    rows[5, 5] = 150.0  # gripper beyond 100: clipped, not rejected by the sim
    runner.on_result(Result(0, 0, rows, 0.0), 0)
    # The arm held since frame 1 (no chunk yet): row 0 plays at frame 1, row k at frame k + 1.
    sent = {f + 1: runner.on_state(stamp(f)) for f in range(1, 6)}  # action for frame f + 1
    assert sent[4][0] == sent[3][0] == 2  # row 3 was non-finite: row 2's action again
    assert sent[6][5] == 100.0
    assert (runner.stats.nonfinite_held, runner.stats.clipped) == (1, 1)


def test_a_new_episode_forgets_the_previous_schedule():
    runner = ChunkRunner(10, 0.5, 1, ActionSchedule())
    runner.on_state(stamp(0))
    runner.on_result(Result(0, 0, chunk(0, 10), 0.0), 0)
    assert runner.on_state(stamp(1)) is not None
    assert runner.on_state(stamp(2, phase=c.PHASE_RESET)) is None
    assert runner.on_state(stamp(3, episode=1)) is None
    runner.on_result(Result(0, 3, chunk(3, 10), 0.0), 3)  # late chunk of episode 0: ignored
    assert runner.on_state(stamp(4, episode=1)) is None


def test_history_is_padded_with_the_first_observation():
    runner = ChunkRunner(10, 0.5, 3, ActionSchedule())
    runner.on_state(stamp(0))
    request = runner.on_observation(Observation(stamp(0), np.zeros(6, np.float32), {}), "t")
    assert [o.stamp.frame for o in request.observations] == [0, 0, 0]


def test_assembler_completes_a_frame_only_when_every_stream_has_it():
    assembler = ObservationAssembler((FRONT, WRIST))
    image = np.zeros((4, 4, 3), np.uint8)
    assert assembler.add(c.STATE, stamp(0), np.zeros(6, np.float32)) is None
    assert assembler.add(FRONT, stamp(0), image) is None
    assert assembler.add(c.STATE, stamp(1), np.ones(6, np.float32)) is None  # wrist 0 was lost
    assert assembler.missing() == [WRIST]
    assert assembler.add(FRONT, stamp(1), image) is None
    obs = assembler.add(WRIST, stamp(1), image)
    assert obs.stamp.frame == 1 and obs.state[0] == 1 and set(obs.images) == {FRONT, WRIST}
    assert assembler.missing() == []


# --- features -------------------------------------------------------------------------------------
def visual(h: int = 96, w: int = 128) -> PolicyFeature:
    return PolicyFeature(FeatureType.VISUAL, (3, h, w))


STATE6 = PolicyFeature(FeatureType.STATE, (6,))
ACTION6 = PolicyFeature(FeatureType.ACTION, (6,))


def test_act_needs_every_camera_and_says_what_is_missing():
    inputs = {c.STATE: STATE6, FRONT: visual(), WRIST: visual()}
    assert map_features("act", inputs, [FRONT, WRIST], {}).cameras == {FRONT: FRONT, WRIST: WRIST}
    with pytest.raises(FeatureError) as err:
        map_features("act", inputs, [FRONT], {})
    text = str(err.value)
    assert "observation.images.wrist have no source" in text
    assert "policy expects: observation.state [6], observation.images.front [3, 96, 128]" in text
    assert "graph provides: observation.state [6], observation.images.front (image)" in text


def test_state_size_mismatch_is_an_error():
    inputs = {c.STATE: PolicyFeature(FeatureType.STATE, (14,)), FRONT: visual()}
    with pytest.raises(FeatureError, match=r"observation.state has shape \[14\]"):
        map_features("act", inputs, [FRONT], {})


def test_environment_state_has_no_source():
    inputs = {
        c.STATE: STATE6,
        "observation.environment_state": PolicyFeature(FeatureType.ENV, (7,)),
    }
    with pytest.raises(FeatureError, match="environment_state \\(ENV\\) has no source"):
        map_features("diffusion", inputs, [], {})


def test_smolvla_slots_take_the_graph_cameras_in_order():
    slots = [f"observation.images.camera{i}" for i in (1, 2, 3)]
    inputs = {c.STATE: STATE6, **{k: visual(256, 256) for k in slots}}
    fmap = map_features("smolvla", inputs, [FRONT, WRIST], {})
    assert fmap.cameras == {FRONT: slots[0], WRIST: slots[1]}
    assert fmap.empty_slots == (slots[2],)
    renamed = map_features("smolvla", inputs, [FRONT, WRIST], {WRIST: slots[0]})
    assert renamed.cameras == {WRIST: slots[0], FRONT: slots[1]}
    with pytest.raises(FeatureError, match="at least one camera"):
        map_features("smolvla", inputs, [], {})


def test_an_action_of_another_size_or_a_non_rgb_camera_is_an_error_naming_both_sides():
    inputs = {c.STATE: STATE6, FRONT: PolicyFeature(FeatureType.VISUAL, (1, 96, 128))}
    with pytest.raises(FeatureError) as err:
        map_features("act", inputs, [FRONT], {}, action=PolicyFeature(FeatureType.ACTION, (14,)))
    text = str(err.value)
    assert "observation.images.front has shape [1, 96, 128] but the graph's cameras are RGB" in text
    assert "its action has shape [14], not [6]" in text
    assert "returns action [14]" in text
    assert "takes action [6] (shoulder_pan.pos, shoulder_lift.pos," in text


def test_named_action_columns_are_put_in_the_contract_joint_order():
    names = list(reversed(c.MOTOR_FEATURE_NAMES))  # gripper.pos first
    fmap = map_features("pi0", {c.STATE: STATE6}, [], {}, action=ACTION6, action_names=names)
    assert fmap.action_columns == (5, 4, 3, 2, 1, 0)
    assert "action columns [5, 4, 3, 2, 1, 0] in contract order" in fmap.describe()
    plain = map_features("act", {c.STATE: STATE6}, [], {}, action=ACTION6)
    assert plain.action_columns == (0, 1, 2, 3, 4, 5)
    with pytest.raises(
        FeatureError, match=r"action_feature_names .*'x\.pos'.* are not the contract"
    ):
        map_features(
            "pi0", {c.STATE: STATE6}, [], {}, action=ACTION6, action_names=[*names[:5], "x.pos"]
        )


def test_two_cameras_renamed_onto_one_input_is_an_error():
    inputs = {c.STATE: STATE6, FRONT: visual()}
    with pytest.raises(FeatureError, match=r"fed by observation\.images\.front and .*wrist"):
        map_features("act", inputs, [FRONT, WRIST], {WRIST: FRONT})


def test_rename_map_parsing_and_policy_resolution(tmp_path):
    assert parse_rename_map(f"{FRONT}=observation.images.top, {WRIST}:x") == {
        FRONT: "observation.images.top",
        WRIST: "x",
    }
    with pytest.raises(ConfigError):
        parse_rename_map("front")
    (tmp_path / "ckpt").mkdir()
    assert resolve_policy("ckpt", tmp_path) == str(tmp_path / "ckpt")
    assert resolve_policy("lerobot/smolvla_base", tmp_path) == "lerobot/smolvla_base"
    with pytest.raises(ConfigError):
        resolve_policy("outputs/train/missing/pretrained_model", tmp_path)


# --- eval metrics ---------------------------------------------------------------------------------
def test_eval_info_has_lerobot_evals_shape_and_skips_discarded_episodes():
    book = EvalBook()
    episodes = [  # (rewards per frame, end reason, success)
        ([0, 0, 1, 1], c.END_SUCCESS, True),
        ([0, 0, 0], c.END_RERECORD, False),  # discarded: not scored
        ([0, 1, 0, 0, 0], c.END_TIME_LIMIT, False),
    ]
    frame = 0
    for index, (rewards, reason, success) in enumerate(episodes):
        book.on_start(EpisodeStart(frame, index, "Pick", seed=100 + index, fps=30))
        for reward in rewards:
            book.on_frame(index, float(reward), np.full(c.NUM_JOINTS, reward, np.float32))
        frame += len(rewards)
        n = len(rewards)
        book.on_end(
            EpisodeEnd(
                frame=frame,
                episode_index=index,
                task="Pick",
                seed=100 + index,
                fps=30,
                success=success,
                reason=reason,
                num_frames=n,
                sim_time=n / 30,
                wall_time=n / 30,
                last=index == len(episodes) - 1,
            )
        )
    info = eval_info(book, 10.0, {})
    assert set(info) >= {"per_task", "per_group", "overall", "per_episode", "aggregated"}
    assert [e["seed"] for e in info["per_episode"]] == [100, 102]
    assert [e["episode_ix"] for e in info["per_episode"]] == [0, 1]
    for agg in (info["aggregated"], info["overall"], info["per_group"]["Pick"]):
        assert agg["n_episodes"] == 2
        assert agg["pc_success"] == 50.0
        assert agg["avg_sum_reward"] == 1.5
        assert agg["avg_max_reward"] == 1.0
    assert info["per_task"][0]["metrics"]["successes"] == [True, False]
    assert info["overall"]["predicted_video_paths"] == []  # LeRobot 0.6's key, for world models
    assert info["aggregated"]["eval_ep_s"] == 5.0 and info["aggregated"]["avg_length"] == 4.5


def test_eval_info_of_no_episode_is_nan_not_an_error():
    info = eval_info(EvalBook(), 0.0, {})
    assert info["overall"]["n_episodes"] == 0 and math.isnan(info["overall"]["pc_success"])
